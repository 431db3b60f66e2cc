//! Condition tests decided for a known caller of the account.
//!
//! For a principal of the account (a user, or a role's sessions) some condition keys have
//! a known value whatever the request: `aws:PrincipalArn`, `aws:PrincipalAccount`,
//! `kms:CallerAccount`, `aws:PrincipalType`, `aws:PrincipalIsAWSService` and, for users,
//! `aws:username`. A test on one of them is decided here (true or false); a test on any
//! other key (`kms:ViaService`, `kms:EncryptionContext:*`, `aws:SourceVpce`,
//! `aws:PrincipalOrgID`, tags, …), an operator keyaki does not evaluate (numeric, date,
//! IP, binary) or a value holding a policy variable is undecided: the access it guards is
//! listed as conditional, with the test.

use keyaki_policy::{ConditionEntry, Glob};

/// What keyaki knows about the caller.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Caller<'a> {
    pub arn: &'a str,
    pub account: &'a str,
    /// `User` or `AssumedRole`.
    pub principal_type: &'a str,
    /// A user's name (`None` for a role's sessions).
    pub username: Option<&'a str>,
}

/// The outcome of one test, or of a statement's whole block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Holds for this caller.
    True,
    /// Never holds for this caller.
    False,
    /// Depends on the request: the tests that decide it.
    Depends(Vec<ConditionEntry>),
}

/// All tests of a block must hold: false when one is false, else depends on the undecided.
pub(crate) fn block(entries: &[ConditionEntry], caller: &Caller<'_>) -> Outcome {
    let mut open = Vec::new();
    for e in entries {
        match test(e, caller) {
            Some(true) => {}
            Some(false) => return Outcome::False,
            None => open.push(e.clone()),
        }
    }
    if open.is_empty() {
        Outcome::True
    } else {
        Outcome::Depends(open)
    }
}

fn known_value<'a>(key: &str, caller: &Caller<'a>) -> Option<&'a str> {
    match key.to_ascii_lowercase().as_str() {
        "aws:principalarn" => Some(caller.arn),
        "aws:principalaccount" | "kms:calleraccount" => Some(caller.account),
        "aws:principaltype" => Some(caller.principal_type),
        "aws:principalisawsservice" => Some("false"),
        "aws:username" => caller.username,
        _ => None,
    }
}

/// One test: `Some` when decided for the caller.
pub(crate) fn test(e: &ConditionEntry, caller: &Caller<'_>) -> Option<bool> {
    let value = known_value(&e.key, caller)?;
    if e.values.iter().any(|v| v.contains("${")) {
        return None;
    }
    // The key has one value and is present: `ForAnyValue:`/`ForAllValues:` over one value
    // and `...IfExists` read as the plain operator.
    let op = e.operator.as_str();
    let op = op
        .strip_prefix("ForAnyValue:")
        .or_else(|| op.strip_prefix("ForAllValues:"))
        .unwrap_or(op);
    let op = op.strip_suffix("IfExists").unwrap_or(op);
    let any = |f: &dyn Fn(&str) -> bool| e.values.iter().any(|v| f(v));
    Some(match op {
        "StringEquals" => any(&|v| v == value),
        "StringNotEquals" => !any(&|v| v == value),
        "StringEqualsIgnoreCase" => any(&|v| v.eq_ignore_ascii_case(value)),
        "StringNotEqualsIgnoreCase" => !any(&|v| v.eq_ignore_ascii_case(value)),
        "StringLike" => any(&|v| Glob::new(v).is_match(value)),
        "StringNotLike" => !any(&|v| Glob::new(v).is_match(value)),
        "ArnEquals" | "ArnLike" => any(&|v| arn_like(v, value)),
        "ArnNotEquals" | "ArnNotLike" => !any(&|v| arn_like(v, value)),
        "Bool" => any(&|v| v.eq_ignore_ascii_case(value)),
        // the key is present: `Null` `true` fails, `Null` `false` holds
        "Null" => e.values.iter().all(|v| v.eq_ignore_ascii_case("false")),
        _ => return None,
    })
}

/// `ArnLike`: the six colon-separated parts of the ARN matched part by part (a `*` stays in
/// its part, the resource part takes the rest of the text).
fn arn_like(pattern: &str, arn: &str) -> bool {
    let p: Vec<&str> = pattern.splitn(6, ':').collect();
    let a: Vec<&str> = arn.splitn(6, ':').collect();
    p.len() == a.len() && p.iter().zip(&a).all(|(p, a)| Glob::new(p).is_match(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(op: &str, key: &str, values: &[&str]) -> ConditionEntry {
        ConditionEntry {
            operator: op.into(),
            key: key.into(),
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    const ALICE: Caller<'static> = Caller {
        arn: "arn:aws:iam::111122223333:user/alice",
        account: "111122223333",
        principal_type: "User",
        username: Some("alice"),
    };

    #[test]
    fn tests_on_the_callers_own_keys_are_decided() {
        let cases = [
            (
                entry("StringEquals", "kms:CallerAccount", &["111122223333"]),
                Some(true),
            ),
            (
                entry("StringEquals", "KMS:callerAccount", &["444455556666"]),
                Some(false),
            ),
            (
                entry("StringNotEquals", "aws:PrincipalAccount", &["111122223333"]),
                Some(false),
            ),
            (
                entry("ArnLike", "aws:PrincipalArn", &["arn:aws:iam::*:user/al*"]),
                Some(true),
            ),
            (
                entry("ArnLike", "aws:PrincipalArn", &["arn:aws:iam::*:role/*"]),
                Some(false),
            ),
            (
                entry("StringLikeIfExists", "aws:PrincipalArn", &["*:user/*"]),
                Some(true),
            ),
            (
                entry(
                    "ForAnyValue:StringEquals",
                    "aws:username",
                    &["bob", "alice"],
                ),
                Some(true),
            ),
            (entry("Null", "aws:PrincipalArn", &["true"]), Some(false)),
            (
                entry("StringEquals", "aws:PrincipalType", &["AssumedRole"]),
                Some(false),
            ),
            (
                entry(
                    "StringEquals",
                    "kms:ViaService",
                    &["s3.us-east-1.amazonaws.com"],
                ),
                None,
            ),
            (
                entry("StringEquals", "aws:PrincipalArn", &["${aws:username}"]),
                None,
            ),
            (
                entry("NumericLessThan", "aws:PrincipalAccount", &["5"]),
                None,
            ),
        ];
        for (e, want) in cases {
            assert_eq!(test(&e, &ALICE), want, "{}", e.describe());
        }
    }

    #[test]
    fn a_block_is_false_when_one_test_fails_and_lists_the_undecided_ones() {
        let via = entry(
            "StringEquals",
            "kms:ViaService",
            &["ec2.us-east-1.amazonaws.com"],
        );
        let mine = entry("StringEquals", "kms:CallerAccount", &["111122223333"]);
        let other = entry("StringEquals", "kms:CallerAccount", &["444455556666"]);
        assert_eq!(block(std::slice::from_ref(&mine), &ALICE), Outcome::True);
        assert_eq!(
            block(&[mine, via.clone()], &ALICE),
            Outcome::Depends(vec![via.clone()])
        );
        assert_eq!(block(&[via, other], &ALICE), Outcome::False);
        assert_eq!(block(&[], &ALICE), Outcome::True);
    }
}
