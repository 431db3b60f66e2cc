//! The universe U of the question: the KMS key ARNs that can exist,
//! `arn:<partition>:kms:<region>:<account>:key/<key-id>` with
//! - region `[a-z]{2,}(-[a-z]+)+-[1-9][0-9]*` (`us-east-1`, `us-gov-west-1`, `eusc-de-east-1`),
//! - account 12 digits, or the one account the question is about,
//! - key id a lowercase UUID `[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}` or a
//!   multi-Region key id `mrk-[0-9a-f]{32}`,
//!
//! as a DFA over ASCII, with a realistic completion from every state (the witnesses and
//! counterexamples built from it are keys that look like real ones) and the partition of the
//! characters into the classes the DFA cannot tell apart.

/// The example account of AWS's documentation, preferred in witnesses and counterexamples.
pub(crate) const EXAMPLE_ACCOUNT: &str = "111122223333";
/// A second example account, for keys outside the first.
pub(crate) const OTHER_ACCOUNT: &str = "444455556666";
/// Realistic key ids: a UUID (single-Region key) and a multi-Region key id.
pub(crate) const KEY_IDS: &[&str] = &[
    "1234abcd-12ab-34cd-56ef-1234567890ab",
    "mrk-1234abcd12ab34cd56ef1234567890ab",
];

/// Real regions of a partition, the first preferred; other partitions get those of `aws`.
pub(crate) fn known_regions(partition: &str) -> &'static [&'static str] {
    match partition {
        "aws-cn" => &["cn-north-1", "cn-northwest-1"],
        "aws-us-gov" => &["us-gov-west-1", "us-gov-east-1"],
        "aws-iso" => &["us-iso-east-1", "us-iso-west-1"],
        "aws-iso-b" => &["us-isob-east-1"],
        "aws-iso-e" => &["eu-isoe-west-1"],
        "aws-iso-f" => &["us-isof-south-1", "us-isof-east-1"],
        "aws-eusc" => &["eusc-de-east-1"],
        _ => &["us-east-1", "eu-west-1", "ap-southeast-2"],
    }
}

/// No transition.
const NONE: u16 = u16::MAX;

/// The characters one transition reads.
#[derive(Debug, Clone, Copy)]
enum Chars {
    Lit(char),
    /// `[a-z]`
    Lower,
    /// `[0-9]`
    Digit,
    /// `[1-9]`
    NonZero,
    /// `[0-9a-f]`
    Hex,
}

impl Chars {
    fn has(self, c: char) -> bool {
        match self {
            Chars::Lit(l) => c == l,
            Chars::Lower => c.is_ascii_lowercase(),
            Chars::Digit => c.is_ascii_digit(),
            Chars::NonZero => matches!(c, '1'..='9'),
            Chars::Hex => matches!(c, '0'..='9' | 'a'..='f'),
        }
    }
}

/// The key-ARN universe as a DFA: state 0 is the start, `accept` the only accepting state.
#[derive(Debug, Clone)]
pub(crate) struct Universe {
    /// `next[s][c]`: the state after reading ASCII `c` in state `s`; `NONE` if `c` cannot come.
    next: Vec<[u16; 128]>,
    accept: usize,
    /// From each state, a realistic rest of a key ARN that leads to acceptance.
    completion: Vec<String>,
    /// `class[c]`: characters with one class are read alike in every state (the DFA cannot tell
    /// them apart); `u8::MAX` for a character no key ARN contains.
    class: [u8; 128],
    /// The characters key ARNs contain, with their class: digits, then lowercase letters, then
    /// the others (the order in which a class's representative is picked).
    alphabet: Vec<(char, u8)>,
}

/// Builds the DFA segment by segment. Every state gets the rest of its segment (`rest`) and the
/// state the segment ends in (`exit`), from which its full completion follows.
struct Builder {
    next: Vec<[u16; 128]>,
    rest: Vec<String>,
    exit: Vec<usize>,
}

impl Builder {
    fn state(&mut self) -> usize {
        self.next.push([NONE; 128]);
        self.rest.push(String::new());
        self.exit.push(usize::MAX);
        self.next.len() - 1
    }

    fn edge(&mut self, from: usize, chars: Chars, to: usize) {
        for c in 0..128u8 {
            if chars.has(c as char) {
                debug_assert_eq!(self.next[from][c as usize], NONE, "the universe is a DFA");
                self.next[from][c as usize] = to as u16;
            }
        }
    }

    fn segment(&mut self, state: usize, rest: &str, exit: usize) {
        self.rest[state] = rest.to_string();
        self.exit[state] = exit;
    }

    /// Reads `text` (or, with `digits`, any digit where `text` has one); returns the end state.
    fn fixed(&mut self, from: usize, text: &str, digits: bool) -> usize {
        let states: Vec<usize> = std::iter::once(from)
            .chain(text.chars().map(|_| self.state()))
            .collect();
        let end = *states.last().unwrap_or(&from);
        for (k, (i, c)) in text.char_indices().enumerate() {
            let chars = if digits && c.is_ascii_digit() {
                Chars::Digit
            } else {
                Chars::Lit(c)
            };
            self.edge(states[k], chars, states[k + 1]);
            self.segment(states[k], &text[i..], end);
        }
        end
    }

    /// `[a-z]{2,}(-[a-z]+)+-[1-9][0-9]*`, completed towards `preferred` (a region of that
    /// shape); returns the state after the number, which reads more digits.
    fn region(&mut self, from: usize, preferred: &str) -> usize {
        let r0 = from;
        let r1 = self.state(); // one letter
        let r2 = self.state(); // two or more letters of the first group
        let r3 = self.state(); // after a `-` that must start a group of letters
        let r4 = self.state(); // in a later group of letters
        let r5 = self.state(); // after a `-` that starts a group of letters or the number
        let r6 = self.state(); // in the number
        self.edge(r0, Chars::Lower, r1);
        self.edge(r1, Chars::Lower, r2);
        self.edge(r2, Chars::Lower, r2);
        self.edge(r2, Chars::Lit('-'), r3);
        self.edge(r3, Chars::Lower, r4);
        self.edge(r4, Chars::Lower, r4);
        self.edge(r4, Chars::Lit('-'), r5);
        self.edge(r5, Chars::Lower, r4);
        self.edge(r5, Chars::NonZero, r6);
        self.edge(r6, Chars::Digit, r6);
        let first_dash = preferred.find('-').unwrap_or(0);
        let number = &preferred[preferred.rfind('-').map_or(0, |i| i + 1)..];
        self.segment(r0, preferred, r6);
        self.segment(r1, &preferred[1..], r6);
        self.segment(r2, &preferred[first_dash..], r6);
        self.segment(r3, &preferred[first_dash + 1..], r6);
        self.segment(r4, &format!("-{number}"), r6);
        self.segment(r5, number, r6);
        r6
    }

    /// A lowercase UUID or `mrk-` and 32 lowercase hex digits, completed towards `uuid` or
    /// `mrk`; returns the accepting state.
    fn key_id(&mut self, from: usize, uuid: &str, mrk: &str) -> usize {
        let accept = self.state();
        for (i, id) in [uuid, mrk].into_iter().enumerate() {
            let mut at = from;
            for (j, c) in id.char_indices() {
                let to = if j + 1 == id.len() {
                    accept
                } else {
                    self.state()
                };
                let chars = match c {
                    '-' => Chars::Lit('-'),
                    _ if i == 1 && j < 3 => Chars::Lit(c),
                    _ => Chars::Hex,
                };
                // The UUID branch's first state is `from`; the multi-Region branch leaves it on
                // `m`, which is not a hex digit.
                self.edge(at, chars, to);
                if at != from || i == 0 {
                    self.segment(at, &id[j..], accept);
                }
                at = to;
            }
        }
        accept
    }
}

impl Universe {
    pub(crate) fn new(partition: &str, account: Option<&str>) -> Universe {
        let mut b = Builder {
            next: Vec::new(),
            rest: Vec::new(),
            exit: Vec::new(),
        };
        let start = b.state();
        let s = b.fixed(start, &format!("arn:{partition}:kms:"), false);
        let s = b.region(s, known_regions(partition)[0]);
        let s = b.fixed(s, ":", false);
        let s = match account {
            Some(a) => b.fixed(s, a, false),
            None => b.fixed(s, EXAMPLE_ACCOUNT, true),
        };
        let s = b.fixed(s, ":key/", false);
        let accept = b.key_id(s, KEY_IDS[0], KEY_IDS[1]);

        // A state's completion is the rest of its segment, then the completion of the state the
        // segment ends in: filled in over a few passes (one per segment).
        let n = b.next.len();
        let mut completion: Vec<Option<String>> = vec![None; n];
        completion[accept] = Some(String::new());
        while completion.iter().any(Option::is_none) {
            let mut progress = false;
            for st in 0..n {
                if completion[st].is_none() {
                    if let Some(tail) = completion.get(b.exit[st]).cloned().flatten() {
                        completion[st] = Some(format!("{}{tail}", b.rest[st]));
                        progress = true;
                    }
                }
            }
            if !progress {
                debug_assert!(false, "every state's segment ends in a state");
                break;
            }
        }
        let completion = completion
            .into_iter()
            .map(Option::unwrap_or_default)
            .collect();

        // Characters whose columns of the transition table are equal are one class.
        let mut class = [u8::MAX; 128];
        let mut columns: Vec<Vec<u16>> = Vec::new();
        for c in 0..128usize {
            let column: Vec<u16> = b.next.iter().map(|row| row[c]).collect();
            if column.iter().all(|&t| t == NONE) {
                continue;
            }
            let k = match columns.iter().position(|col| *col == column) {
                Some(k) => k,
                None => {
                    columns.push(column);
                    columns.len() - 1
                }
            };
            class[c] = k as u8;
        }
        let preferred = "0123456789abcdefghijklmnopqrstuvwxyz".chars();
        let mut alphabet: Vec<(char, u8)> = Vec::new();
        for c in preferred.chain((0..128u8).map(char::from)) {
            let k = class[c as usize];
            if k != u8::MAX && !alphabet.iter().any(|&(a, _)| a == c) {
                alphabet.push((c, k));
            }
        }
        Universe {
            next: b.next,
            accept,
            completion,
            class,
            alphabet,
        }
    }

    pub(crate) fn step(&self, s: usize, c: char) -> Option<usize> {
        let t = *self.next.get(s)?.get(c as usize)?;
        (t != NONE).then_some(t as usize)
    }

    pub(crate) fn accepting(&self, s: usize) -> bool {
        s == self.accept
    }

    pub(crate) fn accepts(&self, arn: &str) -> bool {
        let mut s = 0;
        for c in arn.chars() {
            match self.step(s, c) {
                Some(t) => s = t,
                None => return false,
            }
        }
        self.accepting(s)
    }

    /// Appends a realistic completion from state `s` to acceptance.
    pub(crate) fn complete(&self, s: usize, out: &mut String) {
        out.push_str(&self.completion[s]);
    }

    /// The characters key ARNs contain, with their class, digits and lowercase letters first.
    pub(crate) fn alphabet(&self) -> &[(char, u8)] {
        &self.alphabet
    }

    /// The class of an ASCII character (see [`Universe::class`]); `None` when no key ARN
    /// contains it.
    pub(crate) fn class(&self, c: char) -> Option<u8> {
        let k = *self.class.get(c as usize)?;
        (k != u8::MAX).then_some(k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_can_exist() {
        let u = Universe::new("aws", None);
        for arn in [
            "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:us-gov-west-1:000000000000:key/mrk-0123456789abcdef0123456789abcdef",
            "arn:aws:kms:us-isob-east-1:999999999999:key/00000000-0000-0000-0000-000000000000",
            "arn:aws:kms:eusc-de-east-1:123456789012:key/ffffffff-ffff-ffff-ffff-ffffffffffff",
            "arn:aws:kms:ap-southeast-10:123456789012:key/mrk-ffffffffffffffffffffffffffffffff",
        ] {
            assert!(u.accepts(arn), "{arn}");
        }
        for arn in [
            "arn:aws:kms:-:000000000000:key/A",
            "arn:aws:kms:x:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:us-east:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:us-east-01:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:u-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:us-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:us-east-1:11112222333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:us-east-1:111122223333:key/1234ABCD-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890a",
            "arn:aws:kms:us-east-1:111122223333:key/1234abcd12ab-34cd-56ef-1234567890abc",
            "arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890a",
            "arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:us-east-1:111122223333:alias/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws-cn:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        ] {
            assert!(!u.accepts(arn), "{arn}");
        }
        let one = Universe::new("aws", Some("444455556666"));
        assert!(one.accepts(
            "arn:aws:kms:us-east-1:444455556666:key/mrk-1234abcd12ab34cd56ef1234567890ab"
        ));
        assert!(!one.accepts(
            "arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab"
        ));
    }

    #[test]
    fn completions_are_realistic_members() {
        for (partition, account) in [("aws", None), ("aws-us-gov", Some("444455556666"))] {
            let u = Universe::new(partition, account);
            assert_eq!(
                u.completion[0],
                format!(
                    "arn:{partition}:kms:{}:{}:key/{}",
                    known_regions(partition)[0],
                    account.unwrap_or(EXAMPLE_ACCOUNT),
                    KEY_IDS[0]
                )
            );
            // From every state reached by any prefix, prefix + completion is a member.
            let mut prefixes = vec![(0usize, String::new())];
            let mut seen = vec![false; u.next.len()];
            seen[0] = true;
            while let Some((s, p)) = prefixes.pop() {
                let mut whole = p.clone();
                u.complete(s, &mut whole);
                assert!(u.accepts(&whole), "{whole}");
                for c in 0..128u8 {
                    if let Some(t) = u.step(s, c as char) {
                        if !seen[t] {
                            seen[t] = true;
                            prefixes.push((t, format!("{p}{}", c as char)));
                        }
                    }
                }
            }
            assert!(seen.iter().all(|&s| s), "every state is reachable");
        }
    }

    #[test]
    fn classes_group_what_the_dfa_reads_alike() {
        let u = Universe::new("aws", None);
        assert_eq!(u.class('A'), None);
        assert_eq!(u.class('_'), None);
        // Hex digits that are no literal of the universe, and non-hex letters.
        assert_eq!(u.class('b'), u.class('c'));
        assert_eq!(u.class('g'), u.class('h'));
        assert_ne!(u.class('b'), u.class('g'));
        // `0` cannot start a region's number.
        assert_ne!(u.class('0'), u.class('2'));
        assert_eq!(u.class('2'), u.class('9'));
        // Literals of the universe stand alone.
        assert_ne!(u.class('m'), u.class('g'));
        assert_ne!(u.class('a'), u.class('b'));
        for region in known_regions("aws") {
            assert!(u.accepts(&format!(
                "arn:aws:kms:{region}:111122223333:key/{}",
                KEY_IDS[1]
            )));
        }
    }
}
