//! A plain concrete evaluator: is one request (action, key ARN) allowed by a policy?
//!
//! It shares no code with the automata of [`crate::Query`]: patterns are matched directly
//! against the ARN by a recursive matcher that splits the pattern into ARN segments itself. The
//! tests use it as the oracle that confirms every witness and counterexample.
//!
//! It answers for any ARN; the tests ask it about keys of the universe (the key ARNs that can
//! exist, see the crate docs). The semantics are those of the crate docs: Allow wins when some Allow statement matches and
//! no applicable Deny does; a Deny with a `Condition` is not applicable; `Resource` under Allow
//! and `NotResource` under Deny take the broad reading of a `*` ending one of the first five
//! ARN segments, the other two combinations the narrow one.

use crate::model::Effect;
use crate::{Glob, Policy};

/// Which reading the resource patterns take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// keyaki's: broad for `Allow`+`Resource` and `Deny`+`NotResource`, narrow otherwise, so
    /// that the allowed set is the largest.
    Widest,
    /// Narrow everywhere (a segment-ending `*` stays in its segment, a wildcard in the resource
    /// type is literal, a short pattern is read as written), as other implementations read
    /// every pattern; the differential tests use it to tell such documented differences from
    /// disagreements.
    Narrow,
}

/// Is `action` on `arn` allowed by `policy`?
pub fn allows(policy: &Policy, action: &str, arn: &str) -> bool {
    allows_reading(policy, action, arn, Reading::Widest)
}

/// [`allows`] with a chosen reading of the resource patterns.
pub fn allows_reading(policy: &Policy, action: &str, arn: &str, reading: Reading) -> bool {
    let variables = policy.uses_variables();
    let mut allowed = false;
    for s in &policy.statements {
        if s.effect == Effect::Deny && s.has_condition {
            continue;
        }
        // A Deny whose NotResource cannot be read for sure may not apply.
        if s.effect == Effect::Deny
            && s.not_resource()
            && policy
                .resource_patterns(s)
                .any(|p| p.contains("${") || segments(p, variables) < 6)
        {
            continue;
        }
        let action_hit = policy
            .action_patterns(s)
            .any(|p| Glob::ignoring_case(p).is_match(action));
        if action_hit == s.not_action() {
            continue;
        }
        let broad = reading == Reading::Widest
            && matches!(
                (s.effect, s.not_resource()),
                (Effect::Allow, false) | (Effect::Deny, true)
            );
        let resource_hit = policy
            .resource_patterns(s)
            .any(|p| resource_matches(p, arn, variables, broad));
        if resource_hit == s.not_resource() {
            continue;
        }
        match s.effect {
            Effect::Deny => return false,
            Effect::Allow => allowed = true,
        }
    }
    allowed
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Item {
    Char(char),
    /// A wildcard; `cross`: may match a colon.
    Star {
        cross: bool,
    },
    One {
        cross: bool,
    },
    /// A policy variable: an unknown value that no key ARN character equals.
    Variable,
}

#[derive(Clone, Copy, PartialEq)]
enum Raw {
    C(char),
    Star,
    Q,
    V,
}

/// The pattern as raw pieces: characters, wildcards and (with `variables`) policy variables.
fn raw(pattern: &str, variables: bool) -> Vec<Raw> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut raw: Vec<Raw> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if variables && chars[i] == '$' && chars.get(i + 1) == Some(&'{') {
            if let Some(len) = chars[i + 2..].iter().position(|&c| c == '}') {
                let name: String = chars[i + 2..i + 2 + len].iter().collect();
                raw.push(match name.as_str() {
                    "*" => Raw::C('*'),
                    "?" => Raw::C('?'),
                    "$" => Raw::C('$'),
                    _ => Raw::V,
                });
                i += len + 3;
                continue;
            }
        }
        raw.push(match chars[i] {
            '*' => Raw::Star,
            '?' => Raw::Q,
            c => Raw::C(c),
        });
        i += 1;
    }
    raw
}

/// How many colon-separated segments the pattern has (colons in policy variables do not count).
fn segments(pattern: &str, variables: bool) -> usize {
    raw(pattern, variables)
        .iter()
        .filter(|r| **r == Raw::C(':'))
        .count()
        + 1
}

/// Splits a pattern into items, deciding for each wildcard whether it may match a colon (and,
/// when narrow, reading wildcards in the resource type as the characters they are).
fn items(pattern: &str, variables: bool, broad: bool) -> Vec<Item> {
    let raw = raw(pattern, variables);
    let segments = raw.iter().filter(|r| **r == Raw::C(':')).count() + 1;
    let mut out = Vec::with_capacity(raw.len());
    let mut segment = 0;
    // In the resource part: before its first `/` or `:` (the resource type), when it has one.
    let mut in_type = false;
    for (k, r) in raw.iter().enumerate() {
        let in_resource_part = segment >= 5;
        if in_resource_part && k > 0 && raw[k - 1] == Raw::C(':') && segment == 5 {
            in_type = raw[k..]
                .iter()
                .any(|r| matches!(r, Raw::C('/') | Raw::C(':')));
        }
        if in_type && matches!(r, Raw::C('/') | Raw::C(':')) {
            in_type = false;
        }
        if in_type && !broad {
            match r {
                Raw::Star => {
                    out.push(Item::Char('*'));
                    continue;
                }
                Raw::Q => {
                    out.push(Item::Char('?'));
                    continue;
                }
                _ => {}
            }
        }
        match r {
            Raw::C(c) => {
                if *c == ':' {
                    segment += 1;
                }
                // broad: the first five segments compare without case
                out.push(Item::Char(if broad && !in_resource_part {
                    c.to_ascii_lowercase()
                } else {
                    *c
                }));
            }
            Raw::V => out.push(Item::Variable),
            Raw::Q => out.push(Item::One {
                cross: in_resource_part,
            }),
            Raw::Star => {
                let next = raw.get(k + 1);
                let is_last = next.is_none();
                let ends_segment = is_last || next == Some(&Raw::C(':'));
                let cross =
                    in_resource_part || (is_last && segments < 6) || (broad && ends_segment);
                out.push(Item::Star { cross });
            }
        }
    }
    out
}

/// Segment-aware resource match (see the crate docs for the two readings). The broad reading
/// of a pattern with fewer than six segments is also its form padded with `:*` segments.
pub fn resource_matches(pattern: &str, arn: &str, variables: bool, broad: bool) -> bool {
    let matches = |pattern: &str| {
        let p = items(pattern, variables, broad);
        let s: Vec<char> = arn.chars().collect();
        let mut failed = vec![false; (p.len() + 1) * (s.len() + 1)];
        matches_from(&p, &s, 0, 0, &mut failed)
    };
    let missing = 6usize.saturating_sub(segments(pattern, variables));
    matches(pattern)
        || (broad && missing > 0 && matches(&format!("{pattern}{}", ":*".repeat(missing))))
}

/// Backtracking matcher, memoising the (pattern, text) positions already known to fail.
fn matches_from(p: &[Item], s: &[char], i: usize, j: usize, failed: &mut [bool]) -> bool {
    let key = i * (s.len() + 1) + j;
    if failed[key] {
        return false;
    }
    let ok = match p.get(i) {
        None => j == s.len(),
        Some(Item::Char(c)) => s.get(j) == Some(c) && matches_from(p, s, i + 1, j + 1, failed),
        Some(Item::Variable) => false,
        Some(Item::One { cross }) => match s.get(j) {
            Some(&c) if *cross || c != ':' => matches_from(p, s, i + 1, j + 1, failed),
            _ => false,
        },
        Some(Item::Star { cross }) => {
            let mut k = j;
            loop {
                if matches_from(p, s, i + 1, k, failed) {
                    break true;
                }
                match s.get(k) {
                    Some(&c) if *cross || c != ':' => k += 1,
                    _ => break false,
                }
            }
        }
    };
    if !ok {
        failed[key] = true;
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    #[test]
    fn narrow_and_broad_readings() {
        let cases = [
            // (pattern, broad, expected)
            ("*", false, true),
            ("arn:aws:kms:*", false, true),
            ("arn:aws:kms:*:*:key/*", false, true),
            ("arn:aws:kms:*:key/*", false, false),
            ("arn:aws:kms:*:key/*", true, true),
            ("arn:aws:*:key/*", true, true),
            ("arn:aws:kms:us-*:*:*", false, true),
            ("arn:aws:kms:us*1:*:*", false, true),
            ("arn:aws:kms:???????????:*:*", false, false),
            ("arn:aws:kms:?????????:*:*", false, true),
            ("arn:aws:kms:*:111122223333:key/*", false, true),
            ("arn:aws:kms:*:111122223334:key/*", false, false),
            ("arn:aws:kms:*:*:alias/*", false, false),
            (
                "arn:aws:kms:*:*:key/1234abcd-12ab-34cd-56ef-1234567890a?",
                false,
                true,
            ),
            ("arn:aws:kms:*:*:key/1234abc?", false, false),
            ("arn:aws:kms:*:*:*", false, true),
            ("arn:aws:kms:*:*", false, true),
            ("arn:aws:kms:*:?*", false, true),
            ("arn:aws:kms:*:?", false, false),
            ("arn:aws:kms:*:?", true, false),
            ("arn:aws:kms:*:*:key", false, false),
            ("arn:aws:kms:*:*:key", true, false),
            ("arn:aws:kms:*:1*:key/*", true, true),
            ("arn:aws:kms:*:1*:key/*", false, true),
            ("arn:aws:kms:us-*:key/*", true, true),
            ("arn:aws:kms:us-*:key/*", false, false),
            ("arn:aws:kms:us*", false, true),
            ("arn:aws:kms:us*:*", false, true),
            ("arn:aws:kms:eu*:*", true, false),
            ("arn:aws:kms:u*t-1:*:*", true, true),
            ("arn:aws:kms:u*t-2:*:*", true, false),
            ("arn:aws-cn:kms:*", false, false),
            ("arn:*:kms:*:*:key/*", false, true),
            // the first five segments compare without case when broad, with case when narrow
            ("ARN:AWS:KMS:US-EAST-1:*:key/*", true, true),
            ("ARN:AWS:KMS:US-EAST-1:*:key/*", false, false),
            ("arn:aws:kms:*:*:KEY/*", true, false),
        ];
        for (p, broad, want) in cases {
            assert_eq!(
                resource_matches(p, KEY, true, broad),
                want,
                "{p} broad={broad}"
            );
        }
    }

    #[test]
    fn variables() {
        let k = "arn:aws:kms:us-east-1:111122223333:key/alice";
        assert!(!resource_matches(
            "arn:aws:kms:*:*:key/${aws:username}",
            k,
            true,
            true
        ));
        assert!(!resource_matches(
            "arn:aws:kms:*:*:key/${aws:username}",
            k,
            false,
            true
        ));
        assert!(!resource_matches(
            "arn:aws:kms:*:*:key/${aws:username}*",
            k,
            false,
            true
        ));
        assert!(resource_matches(
            "arn:aws:kms:*:*:key/${*}",
            "arn:aws:kms:r:111122223333:key/*",
            true,
            true
        ));
        assert!(!resource_matches("arn:aws:kms:*:*:key/${*}", k, true, true));
        assert!(!resource_matches(
            "arn:aws:kms:*:*:key/${*}",
            k,
            false,
            true
        ));
        assert!(resource_matches(
            "arn:aws:kms:*:*:key/${x*",
            "arn:aws:kms:r:111122223333:key/${xyz",
            true,
            true
        ));
    }
}
