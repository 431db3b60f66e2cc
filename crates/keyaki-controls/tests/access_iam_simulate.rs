//! Differential test of `keyaki access` against an IAM simulator that shares nothing with
//! keyaki, `@cloud-copilot/iam-simulate` (npm; pinned by `tests/iam-simulate/package-lock.json`,
//! driven by `tests/iam-simulate/access.mjs`), which models identity policies, key policies,
//! permissions boundaries, SCPs and RCPs and KMS's own rule that the key policy must trust the
//! account.
//!
//! For generated small accounts (users in groups, roles, with and without boundaries, managed
//! and inline policies with `Allow`, `Deny` and conditions on keys keyaki decides or not, key policies
//! naming principals, the account or `*`, SCP and RCP levels), every (principal, key,
//! kms:Decrypt) triple that `keyaki access` lists without conditions (and not through a
//! grant, which the simulator does not model) must be allowed by the simulator, every triple
//! it lists with conditions must be allowed in a request context built from them (where its
//! conditions are `StringEquals` tests one context can meet), and every triple it does not
//! list at all must be refused. The simulator gets the request context a principal of the
//! account always has (`aws:PrincipalArn`, `aws:PrincipalAccount`, `kms:CallerAccount`,
//! `aws:PrincipalType`, `aws:username` for users), plus the conditions' values.
//!
//! `scripts/test.sh` installs the package and sets `KEYAKI_REQUIRE_IAM_SIMULATE=1`; with it
//! (or `CI`) a missing `node` or package fails the test; otherwise the test says what is
//! missing and returns.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use keyaki_controls::access::{self, Access, Selection};
use keyaki_controls::snapshot::OrganizationPolicies;
use serde_json::{json, Value};

const ACCOUNT: &str = "111122223333";
const ACCOUNTS: u64 = 200;

fn simulator_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/iam-simulate")
}

fn required() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
        || std::env::var("KEYAKI_REQUIRE_IAM_SIMULATE").is_ok_and(|v| v == "1")
}

fn missing(dir: &Path) -> Option<String> {
    if Command::new("node").arg("--version").output().is_err() {
        return Some("node not found".into());
    }
    let package = dir.join("node_modules/@cloud-copilot/iam-simulate/package.json");
    (!package.is_file()).then(|| {
        format!(
            "`{}` missing (run `npm ci` in tests/iam-simulate)",
            package.display()
        )
    })
}

/// xorshift64*: reproducible accounts from a seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

struct Principal {
    arn: String,
    name: String,
    role: bool,
    identity: Vec<Value>,
    boundary: Option<Value>,
}

impl Principal {
    /// The ARN the request comes from: the user, or a session of the role.
    fn caller(&self) -> String {
        if self.role {
            format!("arn:aws:sts::{ACCOUNT}:assumed-role/{}/keyaki", self.name)
        } else {
            self.arn.clone()
        }
    }
    fn context(&self) -> Value {
        let mut c = json!({
            "aws:PrincipalArn": self.arn, "aws:PrincipalAccount": ACCOUNT, "kms:CallerAccount": ACCOUNT,
            "aws:PrincipalType": if self.role { "AssumedRole" } else { "User" },
        });
        if !self.role {
            c["aws:username"] = json!(self.name);
        }
        c
    }
}

struct Generated {
    snapshot: String,
    principals: Vec<Principal>,
    keys: Vec<(String, Value)>,
    scps: Vec<Vec<Value>>,
    rcps: Vec<Vec<Value>>,
}

fn doc(statements: Vec<Value>) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

fn generate(seed: u64) -> Generated {
    let mut r = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let keys: Vec<String> = (0..4)
        .map(|i| {
            format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/{i}1234abc-12ab-34cd-56ef-1234567890ab")
        })
        .collect();
    let names: Vec<(String, bool)> = (0..3)
        .map(|i| (format!("user{i}"), false))
        .chain((0..3).map(|i| (format!("role{i}"), true)))
        .collect();
    let arns: Vec<String> = names
        .iter()
        .map(|(n, role)| {
            format!(
                "arn:aws:iam::{ACCOUNT}:{}/{n}",
                if *role { "role" } else { "user" }
            )
        })
        .collect();
    let actions = ["kms:Decrypt", "kms:*", "kms:Encrypt", "kms:De*", "*"];
    let mut resources: Vec<String> = keys.clone();
    resources.extend([
        "*".to_string(),
        format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/*"),
        format!("arn:aws:kms:eu-west-1:{ACCOUNT}:key/*"),
    ]);
    let statement = |r: &mut Rng, deny_percent: u64| -> Value {
        let mut s = json!({
            "Effect": if r.chance(deny_percent) { "Deny" } else { "Allow" },
            "Action": r.pick(&actions),
            "Resource": r.pick(&resources),
        });
        match r.below(8) {
            0 => s["Condition"] = json!({"StringEquals": {"aws:PrincipalArn": r.pick(&arns)}}),
            1 => {
                s["Condition"] =
                    json!({"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}})
            }
            2 => s["Condition"] = json!({"StringNotEquals": {"kms:CallerAccount": ACCOUNT}}),
            _ => {}
        }
        s
    };
    let mut policies = Vec::new();
    let mut managed_docs = Vec::new();
    for i in 0..3 {
        let d = doc((0..1 + r.below(2)).map(|_| statement(&mut r, 20)).collect());
        let arn = format!("arn:aws:iam::{ACCOUNT}:policy/managed{i}");
        policies.push(json!({"Arn": arn, "DefaultVersionId": "v1", "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": true, "Document": d}]}));
        managed_docs.push((arn, d));
    }
    let boundary_doc = doc(vec![
        json!({"Effect": "Allow", "Action": if r.chance(50) { "kms:*" } else { "s3:*" }, "Resource": "*"}),
    ]);
    let boundary_arn = format!("arn:aws:iam::{ACCOUNT}:policy/boundary");
    policies.push(json!({"Arn": boundary_arn, "DefaultVersionId": "v1", "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": true, "Document": boundary_doc}]}));

    // two groups: one with an inline policy, one with a managed policy
    let group_inline = doc((0..1 + r.below(2)).map(|_| statement(&mut r, 20)).collect());
    let (group_managed_arn, group_managed) = r.pick(&managed_docs).clone();
    let groups = json!([
        {"GroupName": "g0", "Arn": format!("arn:aws:iam::{ACCOUNT}:group/g0"),
         "GroupPolicyList": [{"PolicyName": "gp", "PolicyDocument": group_inline}], "AttachedManagedPolicies": []},
        {"GroupName": "g1", "Arn": format!("arn:aws:iam::{ACCOUNT}:group/g1"),
         "GroupPolicyList": [], "AttachedManagedPolicies": [{"PolicyArn": group_managed_arn}]},
    ]);
    let group_docs = [group_inline, group_managed];

    let mut principals = Vec::new();
    let (mut users, mut roles) = (Vec::new(), Vec::new());
    for ((name, role), arn) in names.iter().zip(&arns) {
        let inline: Vec<Value> = (0..r.below(3))
            .map(|_| doc((0..1 + r.below(2)).map(|_| statement(&mut r, 25)).collect()))
            .collect();
        let attached: Vec<&(String, Value)> = if r.chance(50) {
            vec![r.pick(&managed_docs)]
        } else {
            vec![]
        };
        let bounded = r.chance(30);
        let mut identity = inline.clone();
        identity.extend(attached.iter().map(|(_, d)| d.clone()));
        let mut p = json!({
            "Arn": arn,
            if *role { "RoleName" } else { "UserName" }: name,
            if *role { "RolePolicyList" } else { "UserPolicyList" }: inline.iter().enumerate().map(|(i, d)| json!({"PolicyName": format!("p{i}"), "PolicyDocument": d})).collect::<Vec<_>>(),
            "AttachedManagedPolicies": attached.iter().map(|(a, _)| json!({"PolicyArn": a})).collect::<Vec<_>>(),
        });
        if bounded {
            p["PermissionsBoundary"] = json!({"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": boundary_arn});
        }
        if !*role {
            let member: Vec<usize> = (0..2).filter(|_| r.chance(40)).collect();
            p["GroupList"] = json!(member.iter().map(|g| format!("g{g}")).collect::<Vec<_>>());
            identity.extend(member.iter().map(|g| group_docs[*g].clone()));
        }
        if *role {
            roles.push(p)
        } else {
            users.push(p)
        }
        principals.push(Principal {
            arn: arn.clone(),
            name: name.clone(),
            role: *role,
            identity,
            boundary: bounded.then(|| boundary_doc.clone()),
        });
    }

    let root = format!("arn:aws:iam::{ACCOUNT}:root");
    let mut key_records = Vec::new();
    let mut key_docs = Vec::new();
    for k in &keys {
        let mut st = Vec::new();
        if r.chance(70) {
            st.push(json!({"Effect": "Allow", "Principal": {"AWS": if r.chance(50) { root.clone() } else { ACCOUNT.to_string() }}, "Action": "kms:*", "Resource": "*"}));
        }
        for _ in 0..r.below(3) {
            let who = r.pick(&arns).clone();
            st.push(json!({"Effect": "Allow", "Principal": {"AWS": who}, "Action": r.pick(&["kms:Decrypt", "kms:*", "kms:Encrypt"]), "Resource": "*"}));
        }
        if r.chance(20) {
            st.push(json!({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*", "Condition": {"StringEquals": {"kms:CallerAccount": ACCOUNT}}}));
        }
        if r.chance(15) {
            st.push(json!({"Effect": "Deny", "Principal": {"AWS": r.pick(&arns)}, "Action": "kms:Decrypt", "Resource": "*"}));
        }
        if st.is_empty() {
            st.push(json!({"Effect": "Allow", "Principal": {"AWS": root}, "Action": "kms:Describe*", "Resource": "*"}));
        }
        let d = doc(st);
        let id = k.rsplit('/').next().unwrap_or_default();
        key_records.push(json!({
            "KeyMetadata": {"KeyId": id, "Arn": k, "AWSAccountId": ACCOUNT, "KeyState": "Enabled", "KeyManager": "CUSTOMER", "KeySpec": "SYMMETRIC_DEFAULT", "KeyUsage": "ENCRYPT_DECRYPT", "Origin": "AWS_KMS"},
            "KeyPolicy": d.to_string(), "Grants": [],
        }));
        key_docs.push((k.clone(), d));
    }
    let scps: Vec<Vec<Value>> = (0..if r.chance(50) { 1 + r.below(2) } else { 0 })
        .map(|_| {
            let mut st = vec![json!({"Effect": "Allow", "Action": r.pick(&["*", "kms:*", "s3:*", "kms:Decrypt"]), "Resource": "*"})];
            if r.chance(30) {
                st.push(json!({"Effect": "Deny", "Action": "kms:Decrypt", "Resource": r.pick(&keys)}));
            }
            vec![doc(st)]
        })
        .collect();
    let rcps: Vec<Vec<Value>> = (0..usize::from(r.chance(30)))
        .map(|_| {
            // RCPs hold only `Deny` statements (AWS attaches `RCPFullAWSAccess` itself)
            vec![doc(vec![json!({"Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "Resource": r.pick(&keys)})])]
        })
        .collect();
    let snapshot = json!({
        "format": "keyaki-snapshot/1", "account_id": ACCOUNT, "partition": "aws", "collected_at": "2026-01-01T00:00:00Z",
        "iam": {"UserDetailList": users, "GroupDetailList": groups, "RoleDetailList": roles, "Policies": policies},
        "kms": {"us-east-1": key_records}, "regions": {"us-east-1": {"Status": "ok"}},
    })
    .to_string();
    Generated {
        snapshot,
        principals,
        keys: key_docs,
        scps,
        rcps,
    }
}

fn org(g: &Generated) -> Option<OrganizationPolicies> {
    let level = |(i, policies): (usize, &Vec<Value>)| json!({"Target": format!("level-{i}"), "Policies": policies.iter().map(|p| json!({"Content": p})).collect::<Vec<_>>()});
    serde_json::from_value(json!({
        "ServiceControlPolicies": g.scps.iter().enumerate().map(level).collect::<Vec<_>>(),
        "ResourceControlPolicies": g.rcps.iter().enumerate().map(level).collect::<Vec<_>>(),
    }))
    .ok()
}

/// A request context that meets an access's conditions: each `Allow` test a `StringEquals`
/// whose key takes its first value, each `Deny` test one that the context leaves unmet.
/// `None` when the conditions use other operators or contradict each other.
fn meeting(a: &Access, mut context: Value) -> Option<Value> {
    for c in a.conditions.iter().filter(|c| c.effect == "Allow") {
        if c.operator != "StringEquals" {
            return None;
        }
        let first = c.values.first()?;
        match context.get(&c.key) {
            Some(v) if v != first.as_str() => return None,
            _ => context[&c.key] = json!(first),
        }
    }
    for c in a.conditions.iter().filter(|c| c.effect == "Deny") {
        if c.operator != "StringEquals" {
            return None;
        }
        if context
            .get(&c.key)
            .and_then(Value::as_str)
            .is_some_and(|v| c.values.iter().any(|x| x == v))
        {
            return None;
        }
    }
    Some(context)
}

#[test]
fn listed_access_is_allowed_by_iam_simulate_and_unlisted_access_is_refused() {
    let dir = simulator_dir();
    if let Some(what) = missing(&dir) {
        assert!(!required(), "iam-simulate is required here: {what}");
        eprintln!("skipping the iam-simulate differential: {what}");
        return;
    }
    // (seed, principal, key, expected allowed) and the request for the simulator
    let mut expectations = Vec::new();
    let mut requests = Vec::new();
    let mut with_conditions = 0;
    for seed in 0..ACCOUNTS {
        let g = generate(seed);
        let input = keyaki_controls::input::read("generated", &g.snapshot)
            .unwrap_or_else(|e| panic!("{e}"));
        let org = org(&g);
        let report = access::evaluate(&input, org.as_ref(), "kms:Decrypt", &Selection::All)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            report.not_available.is_empty(),
            "seed {seed}: {:#?}",
            report.not_available
        );
        let listed: HashSet<(String, String)> = report
            .access
            .iter()
            .map(|a| (a.principal.clone(), a.key.clone()))
            .collect();
        let plain: HashSet<(String, String)> = report
            .access
            .iter()
            .filter(|a| !a.conditional && a.path.iter().all(|s| s.kind != "grant"))
            .map(|a| (a.principal.clone(), a.key.clone()))
            .collect();
        // conditional access: allowed in a request whose context meets its conditions
        let conditional: HashMap<(String, String), &Access> = report
            .access
            .iter()
            .filter(|a| a.conditional && a.path.iter().all(|s| s.kind != "grant"))
            .map(|a| ((a.principal.clone(), a.key.clone()), a))
            .collect();
        for p in &g.principals {
            for (key, key_policy) in &g.keys {
                let pair = (p.arn.clone(), key.clone());
                let mut context = p.context();
                let expect = if plain.contains(&pair) {
                    true
                } else if !listed.contains(&pair) {
                    false
                } else {
                    match conditional.get(&pair).and_then(|a| meeting(a, p.context())) {
                        Some(c) => {
                            context = c;
                            with_conditions += 1;
                            true
                        }
                        None => continue, // conditions no request context of ours meets
                    }
                };
                let id = requests.len();
                requests.push(json!({
                    "id": id, "principal": p.caller(), "action": "kms:Decrypt", "key": key, "account": ACCOUNT,
                    "context": context, "identity": p.identity, "boundary": p.boundary, "keyPolicy": key_policy,
                    "scps": g.scps, "rcps": g.rcps,
                }));
                expectations.push((seed, p.arn.clone(), key.clone(), expect));
            }
        }
    }
    let mut child = Command::new("node")
        .arg(dir.join("access.mjs"))
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("node: {e}"));
    let mut stdin = child.stdin.take().unwrap_or_else(|| panic!("stdin"));
    let lines: String = requests.iter().map(|r| format!("{r}\n")).collect();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(lines.as_bytes());
    });
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("stdout"));
    let mut disagreements = Vec::new();
    let mut allowed = 0;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap_or_else(|e| panic!("{e}"));
        let answer: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let id = answer["id"].as_u64().unwrap_or(u64::MAX) as usize;
        let (seed, principal, key, expect) = &expectations[id];
        let result = answer["result"].as_str();
        if result.is_none() {
            disagreements.push(format!(
                "seed {seed} {principal} {key}: the simulator refused: {}",
                answer["errors"]
            ));
            continue;
        }
        let simulated = result == Some("Allowed");
        allowed += usize::from(simulated);
        if simulated != *expect {
            disagreements.push(format!(
                "seed {seed}: {principal} on {key}: keyaki {}, iam-simulate {result:?}\n{}",
                if *expect {
                    "lists it"
                } else {
                    "does not list it"
                },
                requests[id]
            ));
        }
    }
    let _ = writer.join();
    let _ = child.wait();
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    assert_eq!(expectations.len(), requests.len());
    eprintln!(
        "{} triples asked ({with_conditions} listed with conditions, asked in a context that meets them), {allowed} allowed by the simulator",
        requests.len()
    );
    assert!(with_conditions > 20, "{with_conditions}");
    // the generated accounts exercise both answers
    assert!(
        allowed > 20 && allowed + 20 < requests.len(),
        "{allowed} allowed of {}",
        requests.len()
    );
}
