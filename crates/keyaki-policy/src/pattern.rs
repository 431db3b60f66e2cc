//! The pattern languages: action globs (matched directly) and resource globs (compiled to
//! tokens for the automata in [`crate::analysis`]).

/// Case-insensitive (ASCII) glob match of an action pattern: `*` any run, `?` one character.
/// Linear time (the classic greedy matcher that backtracks only to the last `*`).
pub(crate) fn action_matches(pattern: &str, action: &str) -> bool {
    let p = pattern.as_bytes();
    let a = action.as_bytes();
    // Non-ASCII text is compared by bytes; `?` then stands for one byte. Actions are ASCII, and
    // a non-ASCII pattern byte never equals an ASCII action byte, so this only matters for `?`
    // against non-ASCII actions, which the catalogue does not have.
    let (mut i, mut j) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while j < a.len() {
        if i < p.len() && (p[i] == b'?' || p[i].eq_ignore_ascii_case(&a[j])) && p[i] != b'*' {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == b'*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    while i < p.len() && p[i] == b'*' {
        i += 1;
    }
    i == p.len()
}

/// Can the action pattern match some action of the `kms` service (`kms:...`)? A cheap prefix
/// test used to skip statements that are not about KMS at all.
pub(crate) fn may_match_kms(pattern: &str) -> bool {
    let p = pattern.as_bytes();
    let prefix = b"kms:";
    let mut i = 0;
    for &want in prefix {
        match p.get(i) {
            Some(b'*') => return true,
            Some(b'?') => i += 1,
            Some(c) if c.eq_ignore_ascii_case(&want) => i += 1,
            _ => return false,
        }
    }
    // "kms:" consumed; the rest must be able to match a non-empty action name, which any
    // pattern can unless it is empty.
    i < p.len()
}

/// How a `*` ending one of the first five ARN segments is read (see the crate docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reading {
    /// The `*` may run across colons.
    Broad,
    /// The `*` stays inside its segment.
    Narrow,
}

/// One position of a compiled resource pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tok {
    /// One literal character.
    Lit(char),
    /// `?` in the resource part: any character.
    Any,
    /// `?` in the first five segments: any character but `:`.
    AnyNoColon,
    /// `*` that may cross colons.
    Star,
    /// `*` kept inside its segment.
    StarNoColon,
    /// A policy variable: an unknown value modelled as a symbol outside the key alphabet.
    Never,
}

/// Lexical item before segment analysis.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lex {
    Lit(char),
    Star,
    Quest,
    Var,
}

fn lex(pattern: &str, variables: bool, out: &mut Vec<Lex>) {
    let mut rest = pattern;
    while let Some(c) = rest.chars().next() {
        if variables && c == '$' && rest[1..].starts_with('{') {
            if let Some(close) = rest[2..].find('}') {
                let inner = &rest[2..2 + close];
                out.push(match inner {
                    "*" => Lex::Lit('*'),
                    "?" => Lex::Lit('?'),
                    "$" => Lex::Lit('$'),
                    _ => Lex::Var,
                });
                rest = &rest[2 + close + 1..];
                continue;
            }
        }
        out.push(match c {
            '*' => Lex::Star,
            '?' => Lex::Quest,
            c => Lex::Lit(c),
        });
        rest = &rest[c.len_utf8()..];
    }
}

/// Compiles a resource pattern to tokens under a reading. `variables`: `${...}` is a policy
/// variable (`Version` `2012-10-17`).
pub(crate) fn compile_resource(
    pattern: &str,
    variables: bool,
    reading: Reading,
    out: &mut Vec<Tok>,
) {
    let mut lexed = Vec::with_capacity(pattern.len());
    lex(pattern, variables, &mut lexed);
    let colons = lexed.iter().filter(|l| **l == Lex::Lit(':')).count();
    let n = lexed.len();
    let mut seg = 0usize;
    for (i, l) in lexed.iter().enumerate() {
        let head = seg < 5;
        out.push(match *l {
            Lex::Lit(c) => {
                if c == ':' {
                    seg += 1;
                }
                Tok::Lit(c)
            }
            Lex::Var => Tok::Never,
            Lex::Quest => {
                if head {
                    Tok::AnyNoColon
                } else {
                    Tok::Any
                }
            }
            Lex::Star => {
                let last = i + 1 == n;
                let ends_segment = last || lexed[i + 1] == Lex::Lit(':');
                if !head || (last && colons < 5) || (reading == Reading::Broad && ends_segment) {
                    Tok::Star
                } else {
                    Tok::StarNoColon
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kms_prefix_test_never_misses_a_kms_action() {
        let patterns = [
            "kms:Decrypt",
            "*",
            "k*",
            "KMS:*",
            "?ms:*",
            "kms?Decrypt",
            "kms:",
            "kms",
            "s3:*",
            "km",
            "*:Decrypt",
            "kms*",
            "kmsx:*",
            "",
            "k?s:D*",
        ];
        for p in patterns {
            let any = crate::kms_actions().iter().any(|a| action_matches(p, a));
            if any {
                assert!(may_match_kms(p), "{p}");
            }
        }
        assert!(!may_match_kms("s3:*"));
        assert!(!may_match_kms("kms:"));
    }

    #[test]
    fn action_globs() {
        let cases = [
            ("kms:Decrypt", "kms:Decrypt", true),
            ("KMS:DECRYPT", "kms:Decrypt", true),
            ("kms:*", "kms:Decrypt", true),
            ("*", "kms:Decrypt", true),
            ("kms:De*", "kms:Decrypt", true),
            ("kms:*crypt", "kms:Decrypt", true),
            ("kms:*crypt", "kms:Encrypt", true),
            ("kms:?ecrypt", "kms:Decrypt", true),
            ("kms:??crypt", "kms:Decrypt", true),
            ("kms:???crypt", "kms:Decrypt", false),
            ("kms:Decrypt?", "kms:Decrypt", false),
            ("kms:Decrypt*", "kms:Decrypt", true),
            ("kms:ReEncrypt*", "kms:ReEncryptFrom", true),
            ("s3:*", "kms:Decrypt", false),
            ("k*s:D*t", "kms:Decrypt", true),
            ("*:*", "kms:Decrypt", true),
            ("", "kms:Decrypt", false),
            ("kms:De", "kms:Decrypt", false),
            ("kms:Decrypts", "kms:Decrypt", false),
            ("**?*", "kms:Decrypt", true),
        ];
        for (p, a, want) in cases {
            assert_eq!(action_matches(p, a), want, "{p} vs {a}");
        }
    }

    fn toks(p: &str, vars: bool, r: Reading) -> Vec<Tok> {
        let mut v = Vec::new();
        compile_resource(p, vars, r, &mut v);
        v
    }

    #[test]
    fn resource_tokens_follow_the_segment_rules() {
        use Tok::*;
        assert_eq!(toks("*", true, Reading::Narrow), vec![Star]);
        assert_eq!(
            toks("a:*:b", true, Reading::Narrow),
            vec![Lit('a'), Lit(':'), StarNoColon, Lit(':'), Lit('b')]
        );
        assert_eq!(
            toks("a:*:b", true, Reading::Broad),
            vec![Lit('a'), Lit(':'), Star, Lit(':'), Lit('b')]
        );
        assert_eq!(
            toks("a:*b", true, Reading::Broad),
            vec![Lit('a'), Lit(':'), StarNoColon, Lit('b')]
        );
        assert_eq!(toks("a:b:c:d:e:*", true, Reading::Narrow)[10], Star);
        assert_eq!(toks("a:b:c:d:e:?", true, Reading::Narrow)[10], Any);
        assert_eq!(toks("a:?", true, Reading::Narrow)[2], AnyNoColon);
        assert_eq!(toks("${x:y}", true, Reading::Narrow), vec![Never]);
        assert_eq!(toks("${*}", true, Reading::Narrow), vec![Lit('*')]);
        assert_eq!(toks("${*}", false, Reading::Narrow).len(), 4);
        assert_eq!(toks("${x", true, Reading::Narrow).len(), 3);
    }
}
