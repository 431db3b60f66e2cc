//! Is a key policy public? The question behind Security Hub control KMS.5: does the key
//! policy allow some KMS action to an arbitrary principal of an arbitrary account, that no
//! condition pins to known accounts, organisations or VPC endpoints?
//!
//! # The decision
//! An `Allow` statement that applies to the key and allows some KMS action is **open** when
//! its principals include arbitrary ones ([`reach`]) and none of its condition tests pins the
//! caller ([`pins`]). An open statement is restricted by a `Deny` that takes its actions away
//! from everyone outside known accounts ([`restricts`]). The policy is PUBLIC when an open,
//! unrestricted statement lets a concrete caller in: an account that the policy does not name
//! (nor its owner), a principal of that account, found among a few candidates and checked
//! against every condition test on the pinning keys and every `Deny` keyaki can evaluate for
//! it ([`find_caller`]). The caller's other pinning keys (organisation, source, VPC endpoint)
//! are each absent (an account in no organisation, calling directly), a value of its own
//! (`o-external`, `vpce-external`) or one written from a wildcard pattern of the policy
//! (`o-*` → `o-external`), never a fixed value the policy names. Tests on other keys (`aws:SecureTransport`, `kms:ViaService`, …) are
//! listed as the caller's `other_conditions`. NOT_PUBLIC when no statement is open and
//! unrestricted; UNKNOWN when one is, but no candidate caller gets through (the conditions may
//! exclude every caller, which keyaki does not prove): never NOT_PUBLIC on doubt.
//!
//! # What pins a caller
//! A condition test pins when (all of):
//! - its key is one of [`PINNING_KEYS`] (compared without case, as AWS does): the caller's
//!   account (`aws:PrincipalAccount`, `kms:CallerAccount`), its principal ARN
//!   (`aws:PrincipalArn`), its organisation (`aws:PrincipalOrgID`, `aws:PrincipalOrgPaths`),
//!   the calling resource's account, ARN or organisation for service principals
//!   (`aws:SourceAccount`, `aws:SourceArn`, `aws:SourceOwner`, `aws:SourceOrgID`,
//!   `aws:SourceOrgPaths`), or the VPC endpoint the call comes through (`aws:SourceVpce`);
//! - its operator requires a match: `StringEquals`, `StringEqualsIgnoreCase`, `StringLike`,
//!   `ArnEquals`, `ArnLike`, alone or with `ForAnyValue:` (false when the key is absent). Not
//!   the negated operators (`StringNotEquals`, `ArnNotLike`, …: true for every value but a
//!   few), not `...IfExists` (true when the key is absent), not `ForAllValues:` (true when the
//!   key is absent or empty), not `Null`, numeric, date, boolean or IP operators;
//! - every value is fixed: no policy variable (`${...}`), and for the wildcard operators
//!   (`StringLike`, `ArnLike`, `ArnEquals`) no `*` or `?` in the part that names the account
//!   or organisation: the whole value for account ids, organisation ids and VPC endpoint ids;
//!   an ARN's account segment for `ArnLike`/`ArnEquals` (which match segment by segment), its
//!   first five segments for `StringLike` (where a `*` may run across colons), or, for an ARN
//!   without an account such as an S3 bucket's, the whole ARN; the organisation id that
//!   starts an organisation path (`o-a1b2c3/r-ab12/*` pins to `o-a1b2c3`).
//!
//! `kms:ViaService` does not pin: it names the AWS service a call comes through, not who
//! calls; with `Principal` `*`, any account can use the key through that service (its own S3
//! bucket, EBS volume, …). The CDK bootstrap key (`kms:ViaService` with `kms:CallerAccount`)
//! is pinned by `kms:CallerAccount`.
//!
//! # Principals
//! `*`, `{"AWS": "*"}`, any entry with a wildcard where the account stands (AWS refuses
//! wildcards in principals; read broadly), a `Federated` identity provider that is not an
//! ARN of an account (`accounts.google.com`, `cognito-identity.amazonaws.com`: its users
//! come from anywhere), and `NotPrincipal` in an `Allow` (everyone but a few) reach arbitrary
//! principals. An account id, an account's `root`, a role, user, session or provider ARN with
//! a fixed account, a unique id, a canonical user id, and a named service principal
//! (`logs.us-east-1.amazonaws.com`) are known principals.
//!
//! # Deny statements
//! A `Deny` restricts an open statement's action when it applies to everyone (`"*"` or
//! `{"AWS": "*"}`), to the key (a `Resource` pattern matching the key's ARN, or `*`), to the
//! action, and its condition block is empty (no one gets the action) or exactly one negated
//! test of a pinning key with fixed values (`StringNotEquals` `aws:PrincipalOrgID`
//! `o-a1b2c3`, `ArnNotLike`, `...IfExists` or `ForAllValues:` forms: all true for a caller
//! outside, including one without the key). Any other `Deny` with a condition may not apply,
//! so it restricts nothing (as in the identity-policy analysis); it can still exclude a
//! candidate caller when its tests can all be evaluated for that caller.

use crate::glob::Glob;
use crate::key_policy::{ConditionEntry, KeyPolicy, KeyStatement, Patterns, PrincipalKind};
use crate::model::Effect;
use crate::pattern::{action_matches, may_match_kms};

/// The condition keys that can pin a caller to known accounts, organisations or VPC
/// endpoints (see the module documentation).
pub const PINNING_KEYS: &[&str] = &[
    "aws:PrincipalAccount",
    "aws:PrincipalArn",
    "aws:PrincipalOrgID",
    "aws:PrincipalOrgPaths",
    "aws:SourceAccount",
    "aws:SourceArn",
    "aws:SourceOwner",
    "aws:SourceOrgID",
    "aws:SourceOrgPaths",
    "aws:SourceVpce",
    "kms:CallerAccount",
];

/// The key the policy is attached to.
#[derive(Debug, Clone, Copy)]
pub struct KeyContext<'a> {
    /// The account that owns the key (its principals are not arbitrary).
    pub account: &'a str,
    /// `aws`, `aws-cn`, …
    pub partition: &'a str,
    /// The key's ARN, when known: a statement whose `Resource` cannot match it is not about
    /// the key.
    pub key_arn: Option<&'a str>,
}

/// The answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposure {
    /// Some KMS action is allowed to an arbitrary principal of an arbitrary account.
    Public,
    /// Every statement that allows a KMS action is limited to known principals, pinned by a
    /// condition, or restricted by a `Deny`.
    NotPublic,
    /// Some statement is open, but no concrete caller was found to get through it.
    Unknown,
}

/// Who an `Allow` statement lets in, and what limits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Limit {
    /// The statement names only known principals (the text says which).
    Principals(String),
    /// A condition test pins the caller.
    Condition(ConditionEntry),
    /// `Deny` statements take its actions away from callers outside known accounts.
    Deny(Vec<usize>),
    /// Nothing keyaki reads limits it.
    None,
}

/// One `Allow` statement that allows some KMS action on the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRef {
    pub index: usize,
    pub sid: Option<String>,
    pub limit: Limit,
}

/// A caller that gets in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// A 12-digit account neither the key's owner nor named in the policy (for a `Federated`
    /// provider: the provider's users, of any account).
    pub account: String,
    /// The principal ARN (or the identity provider for `Federated`).
    pub principal: String,
    /// The KMS actions it may call on the key.
    pub actions: Vec<String>,
    /// Condition tests of the statement on keys keyaki does not set for the caller: the
    /// caller gets in when they hold (as they can: none of them pins).
    pub other_conditions: Vec<String>,
}

/// The result of [`KeyPolicy::public_access`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicAccess {
    pub exposure: Exposure,
    /// Every `Allow` statement that allows a KMS action on the key, in order.
    pub grants: Vec<GrantRef>,
    /// PUBLIC: the statement that lets [`Self::caller`] in.
    pub statement: Option<usize>,
    pub caller: Option<Caller>,
    /// UNKNOWN: why.
    pub unknown_reason: Option<String>,
}

/// What a statement's principals reach.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reach {
    /// Only known principals (described).
    Known(String),
    /// Arbitrary principals of arbitrary accounts.
    Arbitrary,
}

impl KeyPolicy {
    /// Decides whether the policy lets arbitrary principals of arbitrary accounts call some
    /// KMS action on the key (see the module documentation of `public`).
    pub fn public_access(&self, key: &KeyContext<'_>) -> PublicAccess {
        let named = named_accounts(self, key.account);
        let mut out = PublicAccess {
            exposure: Exposure::NotPublic,
            grants: Vec::new(),
            statement: None,
            caller: None,
            unknown_reason: None,
        };
        for s in &self.statements {
            if s.effect != Effect::Allow || !applies_broadly(&s.resources, key.key_arn) {
                continue;
            }
            let actions = kms_actions(&s.actions);
            if actions.is_empty() {
                continue;
            }
            let mut grant = GrantRef {
                index: s.index,
                sid: s.sid.clone(),
                limit: Limit::None,
            };
            if let Reach::Known(who) = reach(s) {
                grant.limit = Limit::Principals(who);
                out.grants.push(grant);
                continue;
            }
            if let Some(pin) = s.conditions.iter().find(|c| pins(c)) {
                grant.limit = Limit::Condition(pin.clone());
                out.grants.push(grant);
                continue;
            }
            let mut by = Vec::new();
            let open: Vec<String> = actions
                .into_iter()
                .filter(|a| {
                    let d = self
                        .statements
                        .iter()
                        .find(|d| restricts(d, a, key.key_arn));
                    if let Some(d) = d {
                        if !by.contains(&d.index) {
                            by.push(d.index);
                        }
                    }
                    d.is_none()
                })
                .collect();
            if open.is_empty() {
                grant.limit = Limit::Deny(by);
                out.grants.push(grant);
                continue;
            }
            out.grants.push(grant);
            if out.exposure == Exposure::Public {
                continue;
            }
            match find_caller(self, s, &open, key, &named) {
                Some(caller) => {
                    out.exposure = Exposure::Public;
                    out.statement = Some(s.index);
                    out.caller = Some(caller);
                    out.unknown_reason = None;
                }
                None => {
                    out.exposure = Exposure::Unknown;
                    out.unknown_reason.get_or_insert_with(|| {
                        format!(
                            "statement {} allows KMS actions to arbitrary principals and no condition pins them, but no caller outside the known accounts was found that its conditions and the Deny statements let in",
                            s.index
                        )
                    });
                }
            }
        }
        out
    }
}

/// The KMS actions a statement's `Action`/`NotAction` allows: the catalogue's, plus any
/// `kms:` pattern that matches none of them (an action newer than the catalogue), as written.
fn kms_actions(actions: &Patterns) -> Vec<String> {
    let catalogue = crate::kms_actions();
    let matched = |a: &str| actions.patterns.iter().any(|p| action_matches(p, a));
    let mut out: Vec<String> = catalogue
        .iter()
        .filter(|a| matched(a) != actions.negated)
        .map(|a| a.to_string())
        .collect();
    if !actions.negated {
        for p in &actions.patterns {
            if may_match_kms(p) && !catalogue.iter().any(|a| action_matches(p, a)) {
                out.push(p.clone());
            }
        }
    }
    out
}

/// Whether a statement's `Resource` may include the key (broad: any pattern matching the ARN
/// without case, or any `Resource` at all when the ARN is unknown; `NotResource`: unless a
/// pattern matches the ARN exactly).
fn applies_broadly(resources: &Patterns, key_arn: Option<&str>) -> bool {
    let Some(arn) = key_arn else {
        return true;
    };
    let any = |ignore_case: bool| {
        resources.patterns.iter().any(|p| {
            if ignore_case {
                Glob::ignoring_case(p).is_match(arn)
            } else {
                Glob::new(p).is_match(arn)
            }
        })
    };
    if resources.negated {
        !any(false)
    } else {
        any(true)
    }
}

/// Whether a `Deny`'s `Resource` surely includes the key (`*`, or a pattern matching its
/// ARN exactly); `NotResource` never counts.
fn applies_surely(resources: &Patterns, key_arn: Option<&str>) -> bool {
    !resources.negated
        && resources
            .patterns
            .iter()
            .any(|p| p == "*" || key_arn.is_some_and(|arn| Glob::new(p).is_match(arn)))
}

fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?'])
}

/// The account segment of an ARN (`arn:aws:iam::111122223333:role/x` → `111122223333`).
fn arn_account(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    (parts.next()? == "arn").then_some(())?;
    parts.nth(3)
}

/// What a statement's principals reach.
fn reach(s: &KeyStatement) -> Reach {
    if s.principals.negated {
        return Reach::Arbitrary;
    }
    let mut known = Vec::new();
    for e in &s.principals.entries {
        let v = e.value.as_str();
        let arbitrary = match e.kind {
            PrincipalKind::Everyone => true,
            PrincipalKind::Aws => {
                if v.starts_with("arn:") {
                    arn_account(v).is_none_or(|a| a.is_empty() || has_wildcard(a))
                        || has_wildcard(v.split(':').take(5).collect::<Vec<_>>().join(":").as_str())
                } else {
                    has_wildcard(v)
                }
            }
            PrincipalKind::Federated => {
                !v.starts_with("arn:")
                    || arn_account(v).is_none_or(|a| a.is_empty() || has_wildcard(a))
            }
            PrincipalKind::Service | PrincipalKind::CanonicalUser => has_wildcard(v),
        };
        if arbitrary {
            return Reach::Arbitrary;
        }
        known.push(format!("`{v}`"));
    }
    Reach::Known(format!("names only known principals: {}", known.join(", ")))
}

/// The operator's parts: (`ForAnyValue`/`ForAllValues` or none, base, `IfExists`).
fn split_operator(op: &str) -> (Option<&str>, &str, bool) {
    let (set, rest) = match op.split_once(':') {
        Some((set @ ("ForAnyValue" | "ForAllValues"), rest)) => (Some(set), rest),
        _ => (None, op),
    };
    match rest.strip_suffix("IfExists") {
        Some(base) => (set, base, true),
        None => (set, rest, false),
    }
}

fn pinning_key(key: &str) -> Option<&'static str> {
    PINNING_KEYS
        .iter()
        .copied()
        .find(|k| k.eq_ignore_ascii_case(key))
}

const POSITIVE: &[&str] = &[
    "StringEquals",
    "StringEqualsIgnoreCase",
    "StringLike",
    "ArnEquals",
    "ArnLike",
];

/// The negated form of each positive operator.
fn negated_of(base: &str) -> Option<&'static str> {
    Some(match base {
        "StringNotEquals" => "StringEquals",
        "StringNotEqualsIgnoreCase" => "StringEqualsIgnoreCase",
        "StringNotLike" => "StringLike",
        "ArnNotEquals" => "ArnEquals",
        "ArnNotLike" => "ArnLike",
        _ => return None,
    })
}

/// Whether `value` of the pinning `key`, under the positive operator `base`, names fixed
/// accounts, organisations or endpoints.
pub(crate) fn value_pins(key: &str, base: &str, value: &str) -> bool {
    if value.contains("${") {
        return false;
    }
    let wildcards = matches!(base, "StringLike" | "ArnLike" | "ArnEquals");
    if !wildcards {
        return true;
    }
    match key {
        "aws:PrincipalArn" | "aws:SourceArn" => {
            let head: Vec<&str> = value.splitn(6, ':').collect();
            if head.len() < 6 || head[4].is_empty() {
                return !has_wildcard(value);
            }
            if base == "StringLike" {
                // A `*` before the account may run across colons.
                !head[..5].iter().any(|s| has_wildcard(s))
            } else {
                // `ArnLike`/`ArnEquals` match each segment on its own: a fixed account
                // segment pins the account whatever the region or partition.
                !has_wildcard(head[4])
            }
        }
        "aws:PrincipalOrgPaths" | "aws:SourceOrgPaths" => match value.split_once('/') {
            Some((org, _)) => !org.is_empty() && !has_wildcard(org),
            None => !has_wildcard(value),
        },
        _ => !has_wildcard(value),
    }
}

/// Whether a condition test of an `Allow` pins the caller (see the module documentation).
pub(crate) fn pins(c: &ConditionEntry) -> bool {
    let (set, base, if_exists) = split_operator(&c.operator);
    let Some(key) = pinning_key(&c.key) else {
        return false;
    };
    !if_exists
        && set != Some("ForAllValues")
        && POSITIVE.contains(&base)
        && !c.values.is_empty()
        && c.values.iter().all(|v| value_pins(key, base, v))
}

/// Whether a `Deny` statement takes `action` on the key away from every caller outside known
/// accounts, organisations or endpoints.
fn restricts(d: &KeyStatement, action: &str, key_arn: Option<&str>) -> bool {
    if d.effect != Effect::Deny
        || d.principals.negated
        || !d.principals.entries.iter().any(|e| {
            e.kind == PrincipalKind::Everyone || (e.kind == PrincipalKind::Aws && e.value == "*")
        })
        || !applies_surely(&d.resources, key_arn)
        || !action_in(&d.actions, action)
    {
        return false;
    }
    match d.conditions.as_slice() {
        [] => true,
        [c] => {
            let (set, base, _) = split_operator(&c.operator);
            let (Some(key), Some(positive)) = (pinning_key(&c.key), negated_of(base)) else {
                return false;
            };
            set != Some("ForAnyValue")
                && !c.values.is_empty()
                && c.values.iter().all(|v| value_pins(key, positive, v))
        }
        _ => false,
    }
}

fn action_in(actions: &Patterns, action: &str) -> bool {
    actions.patterns.iter().any(|p| action_matches(p, action)) != actions.negated
}

/// Every 12-digit account the policy text names (in principals and condition values), with
/// the owner's.
fn named_accounts(policy: &KeyPolicy, owner: &str) -> Vec<String> {
    let mut out = vec![owner.to_owned()];
    for s in &policy.statements {
        let b = s.source.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i].is_ascii_digit() {
                let start = i;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                if i - start == 12 {
                    out.push(s.source[start..i].to_owned());
                }
            } else {
                i += 1;
            }
        }
    }
    out
}

/// Accounts written by filling a pattern's wildcards (`1111*` → `111155555555`).
fn fill_account(pattern: &str, fill: char) -> Option<String> {
    let fixed = pattern.chars().filter(|&c| c != '*').count();
    let stars = pattern.chars().filter(|&c| c == '*').count();
    if fixed > 12 || (stars == 0 && fixed != 12) {
        return None;
    }
    let mut out = String::new();
    let mut first = true;
    for c in pattern.chars() {
        match c {
            '*' if first => {
                first = false;
                out.extend(std::iter::repeat_n(fill, 12 - fixed));
            }
            '*' => {}
            '?' => out.push(fill),
            c => out.push(c),
        }
    }
    (out.len() == 12 && out.bytes().all(|b| b.is_ascii_digit())).then_some(out)
}

/// A principal ARN written from a pattern: the account segment set to `account` when it is
/// a wildcard, other wildcards filled.
fn fill_arn(pattern: &str, account: &str) -> Option<String> {
    let parts: Vec<&str> = pattern.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" {
        return None;
    }
    let fill = |s: &str| s.replace('*', "external").replace('?', "x");
    let acct = if has_wildcard(parts[4]) {
        account.to_owned()
    } else {
        parts[4].to_owned()
    };
    (acct == account).then(|| {
        format!(
            "arn:{}:{}:{}:{acct}:{}",
            fill(parts[1]),
            fill(parts[2]),
            fill(parts[3]),
            fill(parts[5])
        )
    })
}

/// The request context of a candidate caller, as far as keyaki sets it: the principal's
/// account and ARN, and for each other pinning key either no value (an account in no
/// organisation calling directly, not through a VPC endpoint) or a value written from a
/// wildcard pattern of the policy (an organisation or source of the caller's own).
struct CallerContext<'a> {
    account: &'a str,
    principal: &'a str,
    others: &'a [(&'static str, Option<String>)],
}

impl CallerContext<'_> {
    /// The value of a pinning key: `Some(Some(v))` present, `Some(None)` absent, `None` for
    /// keys keyaki does not set.
    fn value(&self, key: &str) -> Option<Option<&str>> {
        match pinning_key(key)? {
            "aws:PrincipalAccount" | "kms:CallerAccount" => Some(Some(self.account)),
            "aws:PrincipalArn" => Some(Some(self.principal)),
            k => Some(
                self.others
                    .iter()
                    .find(|(o, _)| *o == k)
                    .and_then(|(_, v)| v.as_deref()),
            ),
        }
    }

    /// Evaluates one condition test; `None` when keyaki cannot (another key or operator).
    fn eval(&self, c: &ConditionEntry) -> Option<bool> {
        let value = self.value(&c.key)?;
        let (set, base, if_exists) = split_operator(&c.operator);
        let Some(v) = value else {
            return match base {
                "Null" => Some(c.values.iter().any(|x| x == "true")),
                _ if set == Some("ForAllValues") => Some(true),
                _ if set == Some("ForAnyValue") => Some(false),
                _ if if_exists => Some(true),
                _ if negated_of(base).is_some() => Some(true),
                _ if POSITIVE.contains(&base) => Some(false),
                _ => None,
            };
        };
        if base == "Null" {
            return Some(c.values.iter().any(|x| x == "false"));
        }
        let (positive, negated) = match negated_of(base) {
            Some(p) => (p, true),
            None if POSITIVE.contains(&base) => (base, false),
            None => return None,
        };
        let any = c.values.iter().any(|x| match positive {
            "StringEquals" => x == v,
            "StringEqualsIgnoreCase" => x.eq_ignore_ascii_case(v),
            "StringLike" => Glob::new(x).is_match(v),
            _ => arn_like(x, v),
        });
        Some(any != negated)
    }
}

/// `ArnLike`: each of the six colon-separated segments matched on its own.
fn arn_like(pattern: &str, arn: &str) -> bool {
    let p: Vec<&str> = pattern.splitn(6, ':').collect();
    let a: Vec<&str> = arn.splitn(6, ':').collect();
    p.len() == a.len() && p.iter().zip(&a).all(|(p, a)| Glob::new(p).is_match(a))
}

/// Whether a principal entry list (of `Principal` or `NotPrincipal`) names the caller.
fn names_caller(s: &KeyStatement, account: &str, principal: &str) -> bool {
    s.principals.entries.iter().any(|e| match e.kind {
        PrincipalKind::Everyone => true,
        PrincipalKind::Aws => {
            e.value == "*"
                || e.value == account
                || Glob::new(&e.value).is_match(principal)
                || arn_account(&e.value).is_some_and(|a| a == account && e.value.ends_with(":root"))
        }
        _ => false,
    })
}

/// Whether a statement's principals let the caller in.
fn admits(s: &KeyStatement, account: &str, principal: &str) -> bool {
    names_caller(s, account, principal) != s.principals.negated
}

/// Looks for a caller outside the known accounts that the open statement `s` lets in for
/// some of `open`, and that no `Deny` keyaki can evaluate for it excludes.
fn find_caller(
    policy: &KeyPolicy,
    s: &KeyStatement,
    open: &[String],
    key: &KeyContext<'_>,
    named: &[String],
) -> Option<Caller> {
    if let Some(provider) = s
        .principals
        .entries
        .iter()
        .find(|e| e.kind == PrincipalKind::Federated && !s.principals.negated)
    {
        if !s.principals.entries.iter().any(|e| {
            e.kind == PrincipalKind::Everyone
                || (e.kind == PrincipalKind::Aws && has_wildcard(&e.value))
        }) {
            return Some(Caller {
                account: "any".to_owned(),
                principal: provider.value.clone(),
                actions: open.to_vec(),
                other_conditions: s.conditions.iter().map(ConditionEntry::describe).collect(),
            });
        }
    }
    let mut accounts: Vec<String> = Vec::new();
    let mut arn_patterns: Vec<&str> = Vec::new();
    for c in &s.conditions {
        match pinning_key(&c.key) {
            Some("aws:PrincipalAccount" | "kms:CallerAccount") => {
                for v in &c.values {
                    for fill in ['5', '0', '9'] {
                        accounts.extend(fill_account(v, fill));
                    }
                }
            }
            Some("aws:PrincipalArn") => {
                for v in &c.values {
                    arn_patterns.push(v);
                    if let Some(a) = arn_account(v) {
                        for fill in ['5', '0', '9'] {
                            accounts.extend(fill_account(a, fill));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    for e in &s.principals.entries {
        if let Some(a) = arn_account(&e.value) {
            for fill in ['5', '0', '9'] {
                accounts.extend(fill_account(a, fill));
            }
        }
        if e.kind == PrincipalKind::Aws && e.value.starts_with("arn:") {
            arn_patterns.push(&e.value);
        }
    }
    accounts.extend(
        [
            "999988887777",
            "444455556666",
            "777788889999",
            "210987654321",
        ]
        .map(str::to_owned),
    );
    let partition = key.partition;
    for account in accounts.iter().filter(|a| !named.contains(a)) {
        let mut principals: Vec<String> = arn_patterns
            .iter()
            .filter_map(|p| fill_arn(p, account))
            .collect();
        principals.extend([
            format!("arn:{partition}:iam::{account}:role/external-caller"),
            format!("arn:{partition}:iam::{account}:user/external-caller"),
            format!("arn:{partition}:iam::{account}:root"),
        ]);
        let choices = other_key_choices(policy, s, account);
        for principal in &principals {
            if !admits(s, account, principal) {
                continue;
            }
            for others in &choices {
                let ctx = CallerContext {
                    account,
                    principal,
                    others,
                };
                if s.conditions.iter().any(|c| ctx.eval(c) == Some(false)) {
                    continue;
                }
                // The tests of `s` keyaki cannot evaluate are assumed to hold for the caller
                // (they are its `other_conditions`): a `Deny` making the same test holds too.
                let assumed: Vec<&ConditionEntry> = s
                    .conditions
                    .iter()
                    .filter(|c| ctx.eval(c).is_none())
                    .collect();
                let actions: Vec<String> = open
                    .iter()
                    .filter(|a| !denied(policy, &ctx, &assumed, a, key.key_arn))
                    .cloned()
                    .collect();
                if actions.is_empty() {
                    continue;
                }
                return Some(Caller {
                    account: account.clone(),
                    principal: principal.clone(),
                    actions,
                    other_conditions: s
                        .conditions
                        .iter()
                        .filter(|c| ctx.eval(c).is_none())
                        .map(ConditionEntry::describe)
                        .collect(),
                });
            }
        }
    }
    None
}

/// Most combinations of values of the other pinning keys tried per candidate principal.
const MAX_CHOICES: usize = 64;

/// The assignments of the pinning keys other than the caller's account and ARN that the
/// conditions of `s` and of the `Deny` statements test: each absent, a value of the caller's
/// own (`o-external`, `vpce-external`, its own account), or a value written from one of their
/// wildcard patterns (`o-*` → `o-external`), never a fixed value the policy names.
fn other_key_choices(
    policy: &KeyPolicy,
    s: &KeyStatement,
    account: &str,
) -> Vec<Vec<(&'static str, Option<String>)>> {
    let mut keys: Vec<(&'static str, Vec<Option<String>>)> = Vec::new();
    let tests = s.conditions.iter().chain(
        policy
            .statements
            .iter()
            .filter(|d| d.effect == Effect::Deny)
            .flat_map(|d| &d.conditions),
    );
    for c in tests {
        let Some(k) = pinning_key(&c.key) else {
            continue;
        };
        if matches!(
            k,
            "aws:PrincipalAccount" | "kms:CallerAccount" | "aws:PrincipalArn"
        ) {
            continue;
        }
        let slot = match keys.iter().position(|(o, _)| *o == k) {
            Some(i) => &mut keys[i].1,
            None => {
                // Absent, or a value of the caller's own that the policy does not name.
                let own = match k {
                    "aws:SourceAccount" | "aws:SourceOwner" => account.to_owned(),
                    "aws:SourceArn" => format!("arn:aws:s3:::external-{account}"),
                    "aws:PrincipalOrgID" | "aws:SourceOrgID" => "o-external".to_owned(),
                    "aws:PrincipalOrgPaths" | "aws:SourceOrgPaths" => {
                        "o-external/r-external/ou-external/".to_owned()
                    }
                    _ => "vpce-external".to_owned(),
                };
                let first = vec![None, Some(own)];
                keys.push((k, first));
                &mut keys.last_mut().expect("just pushed").1
            }
        };
        for v in c.values.iter().filter(|v| has_wildcard(v)) {
            let filled = v.replace('*', "external").replace('?', "x");
            if !slot.contains(&Some(filled.clone())) {
                slot.push(Some(filled));
            }
        }
    }
    let mut out: Vec<Vec<(&'static str, Option<String>)>> = vec![Vec::new()];
    for (k, options) in &keys {
        let mut next = Vec::new();
        for partial in &out {
            for o in options {
                if next.len() == MAX_CHOICES {
                    break;
                }
                let mut p = partial.clone();
                p.push((*k, o.clone()));
                next.push(p);
            }
        }
        out = next;
    }
    out
}

/// Whether some `Deny` keyaki can evaluate for the caller takes `action` away from it: each of
/// its tests holds for the caller, or is the very test (same operator, key and values) of one
/// of the `assumed` tests, which hold whenever the open statement lets the caller in.
fn denied(
    policy: &KeyPolicy,
    ctx: &CallerContext<'_>,
    assumed: &[&ConditionEntry],
    action: &str,
    key_arn: Option<&str>,
) -> bool {
    policy.statements.iter().any(|d| {
        d.effect == Effect::Deny
            && admits(d, ctx.account, ctx.principal)
            && applies_surely(&d.resources, key_arn)
            && action_in(&d.actions, action)
            && d.conditions.iter().all(|c| match ctx.eval(c) {
                Some(holds) => holds,
                None => assumed.iter().any(|a| same_test(a, c)),
            })
    })
}

/// The same condition test: operator and key without case, the same set of values.
fn same_test(a: &ConditionEntry, b: &ConditionEntry) -> bool {
    fn values(c: &ConditionEntry) -> std::collections::BTreeSet<&str> {
        c.values.iter().map(String::as_str).collect()
    }
    a.operator.eq_ignore_ascii_case(&b.operator)
        && a.key.eq_ignore_ascii_case(&b.key)
        && values(a) == values(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(op: &str, key: &str, values: &[&str]) -> ConditionEntry {
        ConditionEntry {
            operator: op.to_owned(),
            key: key.to_owned(),
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    #[test]
    fn which_condition_tests_pin() {
        let pinning = [
            cond("StringEquals", "aws:PrincipalAccount", &["111122223333"]),
            cond("StringEquals", "AWS:principalaccount", &["111122223333"]),
            cond("StringLike", "aws:PrincipalOrgID", &["o-a1b2c3d4e5"]),
            cond(
                "ForAnyValue:StringLike",
                "aws:PrincipalOrgPaths",
                &["o-a1b2c3d4e5/r-ab12/*"],
            ),
            cond(
                "ArnLike",
                "aws:PrincipalArn",
                &["arn:aws:iam::111122223333:role/*"],
            ),
            cond("ArnEquals", "aws:SourceArn", &["arn:aws:s3:::my-bucket"]),
            cond(
                "ArnLike",
                "aws:SourceArn",
                &["arn:aws:cloudtrail:*:111122223333:trail/*"],
            ),
            cond(
                "StringLike",
                "aws:SourceArn",
                &["arn:aws:logs:us-east-1:111122223333:*"],
            ),
            cond(
                "StringEquals",
                "kms:CallerAccount",
                &["111122223333", "444455556666"],
            ),
            cond("StringEquals", "aws:SourceVpce", &["vpce-1a2b3c4d"]),
            cond(
                "StringEqualsIgnoreCase",
                "aws:SourceOwner",
                &["111122223333"],
            ),
            // Literal `*`: no account is `*`, so it lets no one in.
            cond("StringEquals", "aws:PrincipalAccount", &["*"]),
        ];
        for c in &pinning {
            assert!(pins(c), "{c:?}");
        }
        let not_pinning = [
            cond("StringLike", "aws:PrincipalAccount", &["*"]),
            cond("StringLike", "aws:PrincipalAccount", &["1111*"]),
            cond("StringLike", "aws:PrincipalAccount", &["111122223333", "*"]),
            cond("StringNotEquals", "aws:PrincipalAccount", &["111122223333"]),
            cond(
                "ArnNotLike",
                "aws:PrincipalArn",
                &["arn:aws:iam::111122223333:*"],
            ),
            cond(
                "StringEqualsIfExists",
                "aws:PrincipalOrgID",
                &["o-a1b2c3d4e5"],
            ),
            cond(
                "ForAllValues:StringEquals",
                "aws:PrincipalOrgID",
                &["o-a1b2c3d4e5"],
            ),
            cond(
                "ArnLike",
                "aws:PrincipalArn",
                &["arn:aws:iam::*:role/Admin"],
            ),
            cond("ArnLike", "aws:SourceArn", &["arn:aws:s3:::my-*"]),
            cond(
                "StringLike",
                "aws:SourceArn",
                &["arn:aws:cloudtrail:*:111122223333:trail/*"],
            ),
            cond("StringLike", "aws:PrincipalOrgPaths", &["o-*/r-ab12/*"]),
            cond(
                "StringEquals",
                "aws:PrincipalAccount",
                &["${aws:PrincipalAccount}"],
            ),
            cond(
                "StringEquals",
                "kms:ViaService",
                &["s3.us-east-1.amazonaws.com"],
            ),
            cond("IpAddress", "aws:SourceIp", &["192.0.2.0/24"]),
            cond("Null", "aws:PrincipalOrgID", &["false"]),
            cond("StringEquals", "aws:PrincipalAccount", &[]),
        ];
        for c in &not_pinning {
            assert!(!pins(c), "{c:?}");
        }
    }

    #[test]
    fn fills_wildcards_into_candidate_callers() {
        assert_eq!(fill_account("1111*", '5').as_deref(), Some("111155555555"));
        assert_eq!(fill_account("*", '9').as_deref(), Some("999999999999"));
        assert_eq!(
            fill_account("11112222333?", '0').as_deref(),
            Some("111122223330")
        );
        assert_eq!(
            fill_account("111122223333", '0').as_deref(),
            Some("111122223333")
        );
        assert_eq!(fill_account("o-abc", '0'), None);
        assert_eq!(
            fill_arn("arn:aws:iam::*:role/Admin*", "999988887777").as_deref(),
            Some("arn:aws:iam::999988887777:role/Adminexternal")
        );
        assert_eq!(
            fill_arn("arn:aws:iam::111122223333:root", "999988887777"),
            None
        );
        assert!(arn_like(
            "arn:aws:iam::*:role/*",
            "arn:aws:iam::999988887777:role/x"
        ));
        assert!(!arn_like(
            "arn:aws:iam::*:role/*",
            "arn:aws:iam::999988887777:user/x"
        ));
    }

    #[test]
    fn evaluates_the_pinning_keys_for_a_caller() {
        let ctx = CallerContext {
            account: "999988887777",
            principal: "arn:aws:iam::999988887777:role/external-caller",
            others: &[],
        };
        let eval = |op, key, values: &[&str]| ctx.eval(&cond(op, key, values));
        assert_eq!(
            eval("StringLike", "aws:PrincipalAccount", &["9999*"]),
            Some(true)
        );
        assert_eq!(
            eval("StringNotEquals", "kms:CallerAccount", &["111122223333"]),
            Some(true)
        );
        assert_eq!(
            eval("StringEquals", "aws:PrincipalOrgID", &["o-1"]),
            Some(false)
        );
        assert_eq!(
            eval("StringEqualsIfExists", "aws:PrincipalOrgID", &["o-1"]),
            Some(true)
        );
        assert_eq!(
            eval("StringNotEquals", "aws:PrincipalOrgID", &["o-1"]),
            Some(true)
        );
        assert_eq!(
            eval(
                "ForAllValues:StringLike",
                "aws:PrincipalOrgPaths",
                &["o-1/*"]
            ),
            Some(true)
        );
        assert_eq!(
            eval(
                "ForAnyValue:StringLike",
                "aws:PrincipalOrgPaths",
                &["o-1/*"]
            ),
            Some(false)
        );
        assert_eq!(eval("Null", "aws:SourceVpce", &["true"]), Some(true));
        assert_eq!(
            eval("ArnLike", "aws:PrincipalArn", &["arn:aws:iam::*:role/*"]),
            Some(true)
        );
        assert_eq!(eval("Bool", "aws:SecureTransport", &["true"]), None);
        assert_eq!(
            eval(
                "StringEquals",
                "kms:ViaService",
                &["s3.us-east-1.amazonaws.com"]
            ),
            None
        );
        assert_eq!(
            eval("NumericLessThan", "aws:PrincipalAccount", &["5"]),
            None
        );
    }
}
