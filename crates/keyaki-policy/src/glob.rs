//! Plain wildcard patterns: `*` matches any run of characters (including `/` and `:`), `?`
//! matches one character, everything else matches itself. The one matcher of the workspace
//! for text that is not read segment by segment: the findings store's `--resource` filter
//! and suppression rules (case-sensitive, as ARNs are) and the concrete evaluator's action
//! patterns (case-insensitive, as IAM reads them). Resource patterns in policies are read
//! segment by segment by the reasoning core (`pattern.rs`) and the evaluator (`eval.rs`).

/// A compiled resource pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    source: String,
    kind: Kind,
    ignore_case: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Any,
    Literal,
    Prefix(String),
    General(Vec<char>),
}

impl Glob {
    pub fn new(pattern: &str) -> Glob {
        let kind = if pattern == "*" {
            Kind::Any
        } else if !pattern.contains(['*', '?']) {
            Kind::Literal
        } else if let Some(prefix) = pattern
            .strip_suffix('*')
            .filter(|p| !p.contains(['*', '?']))
        {
            Kind::Prefix(prefix.to_string())
        } else {
            Kind::General(pattern.chars().collect())
        };
        Glob {
            source: pattern.to_string(),
            kind,
            ignore_case: false,
        }
    }

    /// A pattern whose letters match either case (as IAM reads action names).
    pub fn ignoring_case(pattern: &str) -> Glob {
        Glob {
            source: pattern.to_string(),
            kind: if pattern == "*" {
                Kind::Any
            } else {
                Kind::General(pattern.chars().collect())
            },
            ignore_case: true,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn is_match(&self, text: &str) -> bool {
        match &self.kind {
            Kind::Any => true,
            Kind::Literal => self.source == text,
            Kind::Prefix(p) => text.starts_with(p.as_str()),
            Kind::General(pattern) => wildcard_match(pattern, text, self.ignore_case),
        }
    }
}

/// Iterative wildcard matching with single backtracking point (linear for `*`-only patterns).
fn wildcard_match(pattern: &[char], text: &str, ignore_case: bool) -> bool {
    let same = |a: char, b: char| a == b || (ignore_case && a.to_lowercase().eq(b.to_lowercase()));
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some('?') => {
                p += 1;
                t += 1;
            }
            Some(&c) if same(c, text[t]) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::Glob;

    macro_rules! glob_cases {
        ($($name:ident: $pat:expr, $text:expr => $want:expr;)*) => {$(
            #[test]
            fn $name() {
                assert_eq!(Glob::new($pat).is_match($text), $want, "{} ~ {}", $pat, $text);
            }
        )*};
    }

    glob_cases! {
        any_matches_everything: "*", "arn:aws:kms:us-east-1:1:key/x" => true;
        any_matches_empty: "*", "" => true;
        literal_exact: "arn:aws:iam::1:policy/p", "arn:aws:iam::1:policy/p" => true;
        literal_is_not_prefix: "arn:aws:iam::1:policy/p", "arn:aws:iam::1:policy/pp" => false;
        prefix_star: "arn:aws:iam::1:policy/*", "arn:aws:iam::1:policy/team/p" => true;
        prefix_star_other_account: "arn:aws:iam::1:policy/*", "arn:aws:iam::2:policy/p" => false;
        star_crosses_colons: "arn:aws:kms:*:111122223333:key/*", "arn:aws:kms:eu-west-1:111122223333:key/abc" => true;
        star_middle_mismatch: "arn:aws:kms:*:111122223333:key/*", "arn:aws:kms:eu-west-1:999:key/abc" => false;
        question_one_char: "arn:aws:iam::1:role/r?", "arn:aws:iam::1:role/r1" => true;
        question_not_zero: "arn:aws:iam::1:role/r?", "arn:aws:iam::1:role/r" => false;
        suffix_star_needs_backtrack: "*-legacy", "arn:aws:iam::1:role/app-legacy-legacy" => true;
        suffix_mismatch: "*-legacy", "arn:aws:iam::1:role/app-legacy2" => false;
        case_sensitive: "arn:aws:iam::1:role/App", "arn:aws:iam::1:role/app" => false;
        brackets_are_literal: "arn:[x]", "arn:[x]" => true;
    }

    #[test]
    fn ignoring_case_matches_either_case() {
        assert!(Glob::ignoring_case("kms:de*").is_match("KMS:Decrypt"));
        assert!(Glob::ignoring_case("KMS:?ECRYPT").is_match("kms:decrypt"));
        assert!(Glob::ignoring_case("kms:decrypt").is_match("kms:Decrypt"));
        assert!(!Glob::ignoring_case("kms:en*").is_match("kms:Decrypt"));
        assert!(!Glob::ignoring_case("kms:decrypt?").is_match("kms:decrypt"));
        assert!(Glob::ignoring_case("*").is_match(""));
    }
}
