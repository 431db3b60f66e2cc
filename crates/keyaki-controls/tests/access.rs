//! `keyaki access` reasoning: who can perform a KMS action on a key, table tests on small
//! accounts written as snapshots (one behaviour of AWS's evaluation logic each).

use keyaki_controls::access::{self, Access, AccessReport, Reason, Selection};
use keyaki_controls::snapshot::OrganizationPolicies;
use serde_json::{json, Value};

const ACCOUNT: &str = "111122223333";
const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const OTHER_KEY: &str =
    "arn:aws:kms:us-east-1:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321";
const ALICE: &str = "arn:aws:iam::111122223333:user/alice";
const APP: &str = "arn:aws:iam::111122223333:role/app";
const ROOT: &str = "arn:aws:iam::111122223333:root";

fn doc(statements: Value) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

fn allow_decrypt(resource: &str) -> Value {
    doc(json!([{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": resource}]))
}

fn key_policy(statements: Value) -> String {
    doc(statements).to_string()
}

fn delegating() -> String {
    key_policy(
        json!([{"Sid": "Enable IAM", "Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"}]),
    )
}

/// A user or role: `inline` policy documents, managed policy ARNs, an optional boundary.
fn principal(arn: &str, inline: &[Value], managed: &[&str], boundary: Option<&str>) -> Value {
    let name = arn.rsplit('/').next().unwrap_or_default();
    let role = arn.contains(":role/");
    let mut p = json!({
        "Arn": arn,
        if role { "RoleName" } else { "UserName" }: name,
        if role { "RolePolicyList" } else { "UserPolicyList" }: inline.iter().enumerate()
            .map(|(i, d)| json!({"PolicyName": format!("p{i}"), "PolicyDocument": d})).collect::<Vec<_>>(),
        "AttachedManagedPolicies": managed.iter().map(|a| json!({"PolicyArn": a})).collect::<Vec<_>>(),
    });
    if let Some(b) = boundary {
        p["PermissionsBoundary"] =
            json!({"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": b});
    }
    p
}

fn managed(arn: &str, document: Value) -> Value {
    json!({"Arn": arn, "DefaultVersionId": "v1", "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": true, "Document": document}]})
}

fn key(arn: &str, policy: &str, grants: Option<Value>) -> Value {
    let id = arn.rsplit('/').next().unwrap_or_default();
    let mut k = json!({
        "KeyMetadata": {"KeyId": id, "Arn": arn, "AWSAccountId": ACCOUNT, "KeyState": "Enabled", "KeyManager": "CUSTOMER", "KeySpec": "SYMMETRIC_DEFAULT", "KeyUsage": "ENCRYPT_DECRYPT", "Origin": "AWS_KMS"},
        "KeyPolicy": policy,
    });
    if let Some(g) = grants {
        k["Grants"] = g;
    }
    k
}

struct Account {
    users: Vec<Value>,
    roles: Vec<Value>,
    groups: Vec<Value>,
    policies: Vec<Value>,
    keys: Vec<Value>,
    org: Option<OrganizationPolicies>,
}

impl Account {
    fn new(keys: Vec<Value>) -> Account {
        Account {
            users: vec![],
            roles: vec![],
            groups: vec![],
            policies: vec![],
            keys,
            org: None,
        }
    }

    fn snapshot(&self) -> String {
        json!({
            "format": "keyaki-snapshot/1", "account_id": ACCOUNT, "partition": "aws",
            "collected_at": "2026-01-01T00:00:00Z",
            "iam": {"UserDetailList": self.users, "GroupDetailList": self.groups, "RoleDetailList": self.roles, "Policies": self.policies},
            "kms": {"us-east-1": self.keys},
            "regions": {"us-east-1": {"Status": "ok"}},
        })
        .to_string()
    }

    fn ask(&self, selection: Selection) -> AccessReport {
        let input = keyaki_controls::input::read("test.json", &self.snapshot())
            .unwrap_or_else(|e| panic!("{e}"));
        access::evaluate(&input, self.org.as_ref(), "kms:Decrypt", &selection)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn who(&self) -> AccessReport {
        self.ask(Selection::Key(KEY.into()))
    }
}

fn find<'a>(r: &'a AccessReport, principal: &str) -> Option<&'a Access> {
    r.access
        .iter()
        .find(|a| a.principal == principal && a.key == KEY)
}

fn kinds(a: &Access) -> Vec<&str> {
    a.path.iter().map(|s| s.kind).collect()
}

fn no_grants() -> Option<Value> {
    Some(json!([]))
}

#[test]
fn a_key_policy_naming_the_principal_lets_it_in_without_an_identity_policy() {
    let kp = key_policy(
        json!([{"Effect": "Allow", "Principal": {"AWS": ALICE}, "Action": "kms:Decrypt", "Resource": "*"}]),
    );
    let mut a = Account::new(vec![key(KEY, &kp, no_grants())]);
    a.users.push(principal(ALICE, &[], &[], None));
    a.roles.push(principal(APP, &[], &[], None));
    let r = a.who();
    let alice = find(&r, ALICE).unwrap_or_else(|| panic!("{r:#?}"));
    assert!(!alice.conditional);
    assert_eq!(kinds(alice), ["key_policy"]);
    assert_eq!(alice.path[0].policy, KEY);
    assert!(find(&r, APP).is_none());
    assert!(r.not_available.is_empty(), "{:#?}", r.not_available);
}

#[test]
fn delegation_to_the_account_needs_an_identity_policy_that_allows() {
    let mut a = Account::new(vec![key(KEY, &delegating(), no_grants())]);
    a.users
        .push(principal(ALICE, &[allow_decrypt(KEY)], &[], None));
    a.roles
        .push(principal(APP, &[allow_decrypt(OTHER_KEY)], &[], None));
    let r = a.who();
    let alice = find(&r, ALICE).unwrap_or_else(|| panic!("{r:#?}"));
    assert_eq!(kinds(alice), ["key_policy", "identity_policy"]);
    assert_eq!(alice.path[0].sid.as_deref(), Some("Enable IAM"));
    assert_eq!(alice.path[1].policy, format!("{ALICE}:inline/p0"));
    assert!(
        find(&r, APP).is_none(),
        "a policy about another key lets no one in"
    );

    // without delegation, the identity policy alone does nothing
    let kp = key_policy(
        json!([{"Effect": "Allow", "Principal": {"AWS": APP}, "Action": "kms:*", "Resource": "*"}]),
    );
    let mut b = Account::new(vec![key(KEY, &kp, no_grants())]);
    b.users
        .push(principal(ALICE, &[allow_decrypt("*")], &[], None));
    assert!(find(&b.who(), ALICE).is_none());
}

#[test]
fn the_account_id_delegates_like_the_root_arn() {
    let kp = key_policy(
        json!([{"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "kms:Decrypt", "Resource": "*"}]),
    );
    let mut a = Account::new(vec![key(KEY, &kp, no_grants())]);
    a.users.push(principal(
        ALICE,
        &[allow_decrypt("arn:aws:kms:*:111122223333:key/*")],
        &[],
        None,
    ));
    assert!(find(&a.who(), ALICE).is_some());
}

#[test]
fn a_permissions_boundary_must_allow_too() {
    let boundary = "arn:aws:iam::111122223333:policy/Boundary";
    let mut a = Account::new(vec![key(KEY, &delegating(), no_grants())]);
    a.policies.push(managed(
        boundary,
        doc(json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}])),
    ));
    a.roles
        .push(principal(APP, &[allow_decrypt("*")], &[], Some(boundary)));
    a.users
        .push(principal(ALICE, &[allow_decrypt("*")], &[], None));
    let r = a.who();
    assert!(find(&r, APP).is_none(), "{r:#?}");
    assert!(find(&r, ALICE).is_some());

    // a boundary that allows is part of the path
    let mut b = Account::new(vec![key(KEY, &delegating(), no_grants())]);
    b.policies.push(managed(boundary, allow_decrypt("*")));
    b.roles
        .push(principal(APP, &[allow_decrypt("*")], &[], Some(boundary)));
    let app = b.who();
    let app = find(&app, APP).unwrap_or_else(|| panic!("no access"));
    assert_eq!(
        kinds(app),
        ["key_policy", "identity_policy", "permissions_boundary"]
    );
}

#[test]
fn a_key_policy_naming_a_user_is_not_limited_by_its_boundary_one_naming_a_role_is() {
    let boundary = "arn:aws:iam::111122223333:policy/Boundary";
    let kp = key_policy(
        json!([{"Effect": "Allow", "Principal": {"AWS": [ALICE, APP]}, "Action": "kms:Decrypt", "Resource": "*"}]),
    );
    let mut a = Account::new(vec![key(KEY, &kp, no_grants())]);
    a.policies.push(managed(
        boundary,
        doc(json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}])),
    ));
    a.users.push(principal(ALICE, &[], &[], Some(boundary)));
    a.roles.push(principal(APP, &[], &[], Some(boundary)));
    let r = a.who();
    assert!(find(&r, ALICE).is_some(), "{r:#?}");
    assert!(find(&r, APP).is_none(), "{r:#?}");
}

#[test]
fn every_level_of_service_control_policies_must_allow() {
    let mut a = Account::new(vec![key(KEY, &delegating(), no_grants())]);
    a.users
        .push(principal(ALICE, &[allow_decrypt("*")], &[], None));
    let level = |target: &str, content: Value| json!({"Target": target, "Policies": [{"Name": target, "Content": content}]});
    let full = doc(json!([{"Effect": "Allow", "Action": "*", "Resource": "*"}]));
    let no_kms = doc(json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]));
    let set = |levels: Vec<Value>| -> Option<OrganizationPolicies> {
        serde_json::from_value(json!({"ServiceControlPolicies": levels})).ok()
    };
    a.org = set(vec![
        level("r-root", full.clone()),
        level("ou-a", full.clone()),
    ]);
    let r = a.who();
    let alice = find(&r, ALICE).unwrap_or_else(|| panic!("{r:#?}"));
    assert_eq!(
        kinds(alice),
        [
            "key_policy",
            "identity_policy",
            "service_control_policy",
            "service_control_policy"
        ]
    );
    a.org = set(vec![level("r-root", full.clone()), level("ou-a", no_kms)]);
    assert!(find(&a.who(), ALICE).is_none());
    let deny = doc(
        json!([{"Effect": "Allow", "Action": "*", "Resource": "*"}, {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*"}]),
    );
    a.org = set(vec![level("r-root", deny)]);
    assert!(find(&a.who(), ALICE).is_none());
}

#[test]
fn a_resource_control_policy_that_denies_blocks_even_a_direct_grant() {
    let kp = key_policy(
        json!([{"Effect": "Allow", "Principal": {"AWS": ALICE}, "Action": "kms:Decrypt", "Resource": "*"}]),
    );
    let mut a = Account::new(vec![key(KEY, &kp, no_grants())]);
    a.users.push(principal(ALICE, &[], &[], None));
    let rcp = |statements: Value| -> Option<OrganizationPolicies> {
        serde_json::from_value(json!({"ResourceControlPolicies": [{"Target": "r-root", "Policies": [{"Content": doc(statements)}]}]})).ok()
    };
    // RCPs only take away (AWS attaches `RCPFullAWSAccess` to every level)
    a.org = rcp(json!([{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}]));
    assert!(find(&a.who(), ALICE).is_some());
    a.org = rcp(json!([{"Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*"}]));
    assert!(find(&a.who(), ALICE).is_none());
}

#[test]
fn an_explicit_deny_anywhere_wins() {
    let deny = doc(json!([{"Effect": "Deny", "Action": "kms:Decrypt", "Resource": KEY}]));
    let mut a = Account::new(vec![key(KEY, &delegating(), no_grants())]);
    a.users
        .push(principal(ALICE, &[allow_decrypt("*"), deny], &[], None));
    assert!(find(&a.who(), ALICE).is_none());

    let kp = key_policy(json!([
        {"Effect": "Allow", "Principal": {"AWS": ALICE}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}
    ]));
    let mut b = Account::new(vec![key(
        KEY,
        &kp,
        Some(json!([{"GrantId": "g1", "GranteePrincipal": ALICE, "Operations": ["Decrypt"]}])),
    )]);
    b.users
        .push(principal(ALICE, &[allow_decrypt("*")], &[], None));
    assert!(
        find(&b.who(), ALICE).is_none(),
        "a deny in the key policy wins over grants too"
    );
}

#[test]
fn a_grant_lets_its_grantee_in_for_its_operations() {
    let kp = key_policy(
        json!([{"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:Describe*", "Resource": "*"}]),
    );
    let grants = json!([
        {"GrantId": "g-decrypt", "Name": "app", "GranteePrincipal": APP, "Operations": ["Decrypt", "Encrypt"]},
        {"GrantId": "g-ctx", "GranteePrincipal": ALICE, "Operations": ["Decrypt"], "Constraints": {"EncryptionContextEquals": {"team": "blue"}}},
        {"GrantId": "g-encrypt", "GranteePrincipal": "arn:aws:iam::111122223333:user/bob", "Operations": ["Encrypt"]}
    ]);
    let mut a = Account::new(vec![key(KEY, &kp, Some(grants))]);
    a.roles.push(principal(APP, &[], &[], None));
    a.users.push(principal(ALICE, &[], &[], None));
    a.users.push(principal(
        "arn:aws:iam::111122223333:user/bob",
        &[],
        &[],
        None,
    ));
    let r = a.who();
    let app = find(&r, APP).unwrap_or_else(|| panic!("{r:#?}"));
    assert!(!app.conditional);
    assert_eq!(kinds(app), ["grant"]);
    assert_eq!(app.path[0].policy, "g-decrypt");
    let alice = find(&r, ALICE).unwrap_or_else(|| panic!("{r:#?}"));
    assert!(alice.conditional);
    assert_eq!(alice.conditions[0].key, "kms:EncryptionContext:team");
    assert_eq!(alice.conditions[0].operator, "EncryptionContextEquals");
    assert!(find(&r, "arn:aws:iam::111122223333:user/bob").is_none());
}

#[test]
fn group_policies_reach_the_groups_users() {
    let mut a = Account::new(vec![key(KEY, &delegating(), no_grants())]);
    let mut alice = principal(ALICE, &[], &[], None);
    alice["GroupList"] = json!(["readers"]);
    a.users.push(alice);
    let reader = "arn:aws:iam::111122223333:policy/Read";
    a.policies.push(managed(reader, allow_decrypt("*")));
    a.groups.push(json!({"GroupName": "readers", "Arn": "arn:aws:iam::111122223333:group/readers", "GroupPolicyList": [], "AttachedManagedPolicies": [{"PolicyArn": reader}]}));
    let r = a.who();
    let alice = find(&r, ALICE).unwrap_or_else(|| panic!("{r:#?}"));
    assert_eq!(alice.path[1].policy, reader);
    assert_eq!(alice.path[1].through.as_deref(), Some("group readers"));
}

#[test]
fn conditions_keyaki_cannot_decide_make_access_conditional_and_are_listed() {
    let kp = key_policy(json!([{
        "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*",
        "Condition": {"StringEquals": {"kms:CallerAccount": ACCOUNT, "kms:ViaService": "s3.us-east-1.amazonaws.com"}}
    }]));
    let mut a = Account::new(vec![key(KEY, &kp, no_grants())]);
    a.users.push(principal(ALICE, &[], &[], None));
    let r = a.who();
    let alice = find(&r, ALICE).unwrap_or_else(|| panic!("{r:#?}"));
    assert!(alice.conditional);
    // kms:CallerAccount is decided for the account's own principal: only ViaService is left
    assert_eq!(alice.conditions.len(), 1, "{:#?}", alice.conditions);
    assert_eq!(alice.conditions[0].key, "kms:ViaService");
    assert_eq!(alice.conditions[0].effect, "Allow");

    // a condition pinning another account never holds for the account's principals
    let kp = key_policy(json!([{
        "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*",
        "Condition": {"StringEquals": {"kms:CallerAccount": "444455556666"}}
    }]));
    let mut b = Account::new(vec![key(KEY, &kp, no_grants())]);
    b.users.push(principal(ALICE, &[], &[], None));
    assert!(find(&b.who(), ALICE).is_none());
}

#[test]
fn a_conditional_deny_is_listed_with_the_access_it_may_take_away() {
    let deny = doc(
        json!([{"Effect": "Deny", "Action": "kms:*", "Resource": "*", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}}]),
    );
    let mut a = Account::new(vec![key(KEY, &delegating(), no_grants())]);
    a.users
        .push(principal(ALICE, &[allow_decrypt("*"), deny], &[], None));
    let r = a.who();
    let alice = find(&r, ALICE).unwrap_or_else(|| panic!("{r:#?}"));
    assert!(alice.conditional);
    assert_eq!(alice.conditions[0].effect, "Deny");
    assert_eq!(alice.conditions[0].key, "aws:MultiFactorAuthPresent");
    // a deny whose condition is decided and holds takes the access away
    let deny = doc(
        json!([{"Effect": "Deny", "Action": "kms:*", "Resource": "*", "Condition": {"StringEquals": {"aws:username": "alice"}}}]),
    );
    let mut b = Account::new(vec![key(KEY, &delegating(), no_grants())]);
    b.users
        .push(principal(ALICE, &[allow_decrypt("*"), deny], &[], None));
    assert!(find(&b.who(), ALICE).is_none());
}

#[test]
fn what_keyaki_cannot_read_is_not_available_never_without_access() {
    // a key policy that does not parse: the key is NOT_AVAILABLE, nobody is listed
    let mut a = Account::new(vec![key(KEY, "{\"Statement\": [", no_grants())]);
    a.users
        .push(principal(ALICE, &[allow_decrypt("*")], &[], None));
    let r = a.who();
    assert!(r.access.is_empty());
    assert_eq!(r.not_available.len(), 1, "{:#?}", r.not_available);
    assert_eq!(r.not_available[0].key.as_deref(), Some(KEY));
    assert_eq!(r.not_available[0].reason, Reason::KeyPolicyParseError);

    // a principal whose managed policy is missing: NOT_AVAILABLE, not listed either way
    let mut b = Account::new(vec![key(KEY, &delegating(), no_grants())]);
    b.users.push(principal(
        ALICE,
        &[allow_decrypt("*")],
        &["arn:aws:iam::aws:policy/AdministratorAccess"],
        None,
    ));
    let r = b.who();
    assert!(find(&r, ALICE).is_none());
    assert!(
        r.not_available.iter().any(
            |n| n.principal.as_deref() == Some(ALICE) && n.reason == Reason::PolicyNotCollected
        ),
        "{r:#?}"
    );

    // grants not collected (an older snapshot): the accesses found are listed, and the key
    // is NOT_AVAILABLE (a grant may let more principals in)
    let mut c = Account::new(vec![key(KEY, &delegating(), None)]);
    c.users
        .push(principal(ALICE, &[allow_decrypt("*")], &[], None));
    let r = c.who();
    assert!(find(&r, ALICE).is_some());
    assert!(r
        .not_available
        .iter()
        .any(|n| n.key.as_deref() == Some(KEY) && n.reason == Reason::GrantsNotCollected));

    // grants of the wrong shape: unreadable, said so, and the rest still answered
    let mut d = Account::new(vec![key(
        KEY,
        &delegating(),
        Some(json!({"GrantId": "not a list"})),
    )]);
    d.users
        .push(principal(ALICE, &[allow_decrypt("*")], &[], None));
    let r = d.who();
    assert!(find(&r, ALICE).is_some());
    assert!(
        r.not_available
            .iter()
            .any(|n| n.key.as_deref() == Some(KEY) && n.reason == Reason::GrantsUnreadable),
        "{r:#?}"
    );
}

#[test]
fn a_principal_is_answered_with_every_key_it_can_use() {
    let mut a = Account::new(vec![
        key(KEY, &delegating(), no_grants()),
        key(OTHER_KEY, &delegating(), no_grants()),
    ]);
    a.users
        .push(principal(ALICE, &[allow_decrypt(OTHER_KEY)], &[], None));
    let r = a.ask(Selection::Principal(ALICE.into()));
    let keys: Vec<&str> = r.access.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(keys, [OTHER_KEY]);
    let input = keyaki_controls::input::read("t", &a.snapshot()).unwrap_or_else(|e| panic!("{e}"));
    assert!(access::evaluate(
        &input,
        None,
        "kms:Decrypt",
        &Selection::Principal("arn:aws:iam::111122223333:user/nobody".into())
    )
    .is_err());
    assert!(access::evaluate(&input, None, "kms:Fly", &Selection::All).is_err());
}

#[test]
fn the_json_answer_has_the_documented_shape() {
    let mut a = Account::new(vec![key(KEY, &delegating(), None)]);
    a.users
        .push(principal(ALICE, &[allow_decrypt("*")], &[], None));
    let v = access::to_json(&a.who());
    let first = &v["access"][0];
    for field in [
        "principal",
        "key",
        "action",
        "conditional",
        "conditions",
        "path",
    ] {
        assert!(first.get(field).is_some(), "{field} missing: {first}");
    }
    assert_eq!(first["action"], "kms:Decrypt");
    assert_eq!(v["not_available"][0]["key"], KEY);
    assert_eq!(v["not_available"][0]["reason"], "GRANTS_NOT_COLLECTED");
}
