//! Which keys a resource pattern covers, computed once per distinct pattern.
//!
//! A full key × principal matrix asks "does this statement cover this key?" millions of
//! times, for a few thousand distinct patterns. Each distinct pattern (with its reading) is
//! compiled once into the set of the account's keys it matches: every key (`*`), one key (a
//! pattern without wildcards, looked up), or a bit set (a wildcard pattern, matched against
//! every key with the concrete evaluator's segment-aware matcher, after a cheap prefix test).
//! A question about a statement and a key is then a few bit tests.

use std::collections::HashMap;

use keyaki_policy::eval::resource_matches;

/// The keys one pattern matches.
#[derive(Debug, Clone)]
enum Cover {
    All,
    None,
    One(u32),
    Bits(Vec<u64>),
}

/// A statement's `Resource` or `NotResource`, compiled.
#[derive(Debug, Clone, Default)]
pub(crate) struct Resources {
    pub negated: bool,
    pub ids: Vec<u32>,
    /// A pattern holds a policy variable: it may name any key, depending on the request.
    pub variable: bool,
}

/// The account's keys and the compiled patterns.
#[derive(Debug, Default)]
pub(crate) struct KeyIndex {
    arns: Vec<String>,
    by_arn: HashMap<String, u32>,
    covers: Vec<Cover>,
    interned: HashMap<(String, bool, bool), u32>,
}

impl KeyIndex {
    pub(crate) fn new(arns: Vec<String>) -> KeyIndex {
        let by_arn = arns
            .iter()
            .enumerate()
            .map(|(i, a)| (a.clone(), i as u32))
            .collect();
        KeyIndex {
            arns,
            by_arn,
            ..KeyIndex::default()
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.arns.len()
    }

    pub(crate) fn arn(&self, key: u32) -> &str {
        &self.arns[key as usize]
    }

    pub(crate) fn find(&self, arn: &str) -> Option<u32> {
        self.by_arn.get(arn).copied()
    }

    /// Compiles a statement's resource element under the reading the evaluator gives it
    /// (`broad` for `Allow`+`Resource` and `Deny`+`NotResource`).
    pub(crate) fn compile<'p>(
        &mut self,
        patterns: impl Iterator<Item = &'p str>,
        negated: bool,
        variables: bool,
        broad: bool,
    ) -> Resources {
        let mut r = Resources {
            negated,
            ..Resources::default()
        };
        for p in patterns {
            if variables && p.contains("${") {
                r.variable = true;
            }
            r.ids.push(self.intern(p, variables, broad));
        }
        r
    }

    fn intern(&mut self, pattern: &str, variables: bool, broad: bool) -> u32 {
        let k = (pattern.to_owned(), variables, broad);
        if let Some(&id) = self.interned.get(&k) {
            return id;
        }
        let cover = self.cover(pattern, variables, broad);
        let id = self.covers.len() as u32;
        self.covers.push(cover);
        self.interned.insert(k, id);
        id
    }

    fn cover(&self, pattern: &str, variables: bool, broad: bool) -> Cover {
        if pattern == "*" {
            return Cover::All;
        }
        let plain = !pattern.contains(['*', '?'])
            && !pattern.contains("${")
            && pattern.split(':').count() >= 6
            && !head(pattern).bytes().any(|b| b.is_ascii_uppercase());
        if plain {
            return match self.by_arn.get(pattern) {
                Some(&i) if resource_matches(pattern, &self.arns[i as usize], variables, broad) => {
                    Cover::One(i)
                }
                _ => Cover::None,
            };
        }
        // The text before the first wildcard, without case: every match starts with it.
        let prefix: String = pattern
            .chars()
            .take_while(|c| !matches!(c, '*' | '?' | '$'))
            .flat_map(char::to_lowercase)
            .collect();
        let mut bits = vec![0u64; self.arns.len().div_ceil(64)];
        let mut any = false;
        for (i, arn) in self.arns.iter().enumerate() {
            let starts = arn
                .get(..prefix.len())
                .is_some_and(|s| s.eq_ignore_ascii_case(&prefix));
            if starts && resource_matches(pattern, arn, variables, broad) {
                bits[i / 64] |= 1 << (i % 64);
                any = true;
            }
        }
        if any {
            Cover::Bits(bits)
        } else {
            Cover::None
        }
    }

    fn covers(&self, id: u32, key: u32) -> bool {
        match &self.covers[id as usize] {
            Cover::All => true,
            Cover::None => false,
            Cover::One(k) => *k == key,
            Cover::Bits(b) => b[key as usize / 64] & (1 << (key % 64)) != 0,
        }
    }

    /// Does the element cover the key? (`NotResource`: no pattern matches it.)
    pub(crate) fn matches(&self, r: &Resources, key: u32) -> bool {
        r.ids.iter().any(|&id| self.covers(id, key)) != r.negated
    }

    /// Does the element cover a key given by ARN (one outside the account's list)?
    pub(crate) fn matches_arn(
        patterns: &[String],
        negated: bool,
        arn: &str,
        variables: bool,
        broad: bool,
    ) -> bool {
        patterns
            .iter()
            .any(|p| resource_matches(p, arn, variables, broad))
            != negated
    }
}

/// The first five segments of an ARN pattern (where the broad reading ignores case).
fn head(pattern: &str) -> &str {
    match pattern.match_indices(':').nth(4) {
        Some((i, _)) => &pattern[..i],
        None => pattern,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const K2: &str = "arn:aws:kms:eu-west-1:111122223333:key/mrk-0123456789abcdef0123456789abcdef";

    #[test]
    fn each_kind_of_pattern_covers_the_keys_the_evaluator_matches() {
        let mut ix = KeyIndex::new(vec![K1.into(), K2.into()]);
        let cases: [(&str, bool, [bool; 2]); 7] = [
            ("*", true, [true, true]),
            (K1, true, [true, false]),
            (
                "arn:aws:kms:us-east-1:111122223333:key/*",
                true,
                [true, false],
            ),
            ("arn:aws:kms:*:111122223333:key/mrk-*", true, [false, true]),
            (
                "ARN:AWS:KMS:EU-WEST-1:111122223333:key/*",
                true,
                [false, true],
            ),
            (
                "ARN:AWS:KMS:EU-WEST-1:111122223333:key/*",
                false,
                [false, false],
            ),
            ("arn:aws:kms:*:444455556666:key/*", true, [false, false]),
        ];
        for (p, broad, want) in cases {
            let r = ix.compile([p].into_iter(), false, true, broad);
            for (k, w) in want.iter().enumerate() {
                assert_eq!(ix.matches(&r, k as u32), *w, "{p} broad={broad} key {k}");
                assert_eq!(
                    KeyIndex::matches_arn(&[p.to_string()], false, ix.arn(k as u32), true, broad),
                    *w
                );
            }
        }
        let not = ix.compile([K1].into_iter(), true, true, false);
        assert!(!ix.matches(&not, 0) && ix.matches(&not, 1));
    }
}
