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
use crate::Policy;

/// Is `action` on `arn` allowed by `policy`?
pub fn allows(policy: &Policy, action: &str, arn: &str) -> bool {
    let variables = policy.uses_variables();
    let mut allowed = false;
    for s in &policy.statements {
        if s.effect == Effect::Deny && s.has_condition {
            continue;
        }
        let action_hit = policy.action_patterns(s).any(|p| {
            glob_ci(
                &p.chars().collect::<Vec<_>>(),
                &action.chars().collect::<Vec<_>>(),
            )
        });
        if action_hit == s.not_action() {
            continue;
        }
        let broad = matches!(
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

/// Case-insensitive glob by dynamic programming over (pattern prefix, text prefix).
fn glob_ci(p: &[char], s: &[char]) -> bool {
    // row[j]: the pattern prefix read so far matches the first j characters of `s`.
    let mut row = vec![false; s.len() + 1];
    row[0] = true;
    for &pc in p {
        let mut next = vec![false; s.len() + 1];
        match pc {
            '*' => {
                let mut any = false;
                for j in 0..=s.len() {
                    any |= row[j];
                    next[j] = any;
                }
            }
            _ => {
                for j in 1..=s.len() {
                    next[j] =
                        row[j - 1] && (pc == '?' || pc.to_lowercase().eq(s[j - 1].to_lowercase()));
                }
            }
        }
        row = next;
    }
    row[s.len()]
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

/// Splits a pattern into items, deciding for each wildcard whether it may match a colon.
fn items(pattern: &str, variables: bool, broad: bool) -> Vec<Item> {
    // First the raw pieces, each with the index of the colon-separated segment it stands in.
    #[derive(Clone, Copy, PartialEq)]
    enum Raw {
        C(char),
        Star,
        Q,
        V,
    }
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
    let segments = raw.iter().filter(|r| **r == Raw::C(':')).count() + 1;
    let mut out = Vec::with_capacity(raw.len());
    let mut segment = 0;
    for (k, r) in raw.iter().enumerate() {
        let in_resource_part = segment >= 5;
        match r {
            Raw::C(c) => {
                if *c == ':' {
                    segment += 1;
                }
                out.push(Item::Char(*c));
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

/// Segment-aware resource match (see the crate docs for the two readings).
pub(crate) fn resource_matches(pattern: &str, arn: &str, variables: bool, broad: bool) -> bool {
    let p = items(pattern, variables, broad);
    let s: Vec<char> = arn.chars().collect();
    let mut failed = vec![false; (p.len() + 1) * (s.len() + 1)];
    matches_from(&p, &s, 0, 0, &mut failed)
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
