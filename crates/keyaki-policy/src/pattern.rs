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

/// How the ambiguous parts of a resource pattern are read (see the crate docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reading {
    /// A `*` ending one of the first five segments may run across colons; a wildcard in the
    /// resource type is a wildcard; the first five segments compare without case (and a short
    /// pattern may also be read padded, see [`padded`]).
    Broad,
    /// The `*` stays inside its segment; a wildcard in the resource type (the resource part up
    /// to its first `/` or `:`) is a literal character, which no key ARN contains; the first
    /// five segments compare with case.
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

/// The colons of a pattern outside policy variables: fewer than five make a short pattern.
fn colons(pattern: &str, variables: bool) -> usize {
    if !(variables && pattern.contains("${")) {
        return pattern.bytes().filter(|&b| b == b':').count();
    }
    let mut lexed = Vec::with_capacity(pattern.len());
    lex(pattern, variables, &mut lexed);
    lexed.iter().filter(|l| **l == Lex::Lit(':')).count()
}

/// A short pattern (fewer than six segments) with its missing segments as `*`
/// (`arn:aws:kms` → `arn:aws:kms:*:*:*`), as some implementations read it in identity policies;
/// `None` for a pattern with six segments or more.
pub(crate) fn padded(pattern: &str, variables: bool) -> Option<String> {
    let n = colons(pattern, variables);
    (n < 5).then(|| format!("{pattern}{}", ":*".repeat(5 - n)))
}

/// Can a `NotResource` pattern be read for sure? Not when it is short (read padded or not) or holds
/// `${` (a policy variable, or its text in an old `Version`): a `Deny` with such a `NotResource`
/// may not apply to a key, and is set aside like a `Deny` with a `Condition`.
pub(crate) fn sure_in_not_resource(pattern: &str, variables: bool) -> bool {
    padded(pattern, variables).is_none() && !pattern.contains("${")
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
    // The resource type: the resource part (after the fifth colon) up to its first `/` or `:`,
    // when it has one.
    let resource_part = (reading == Reading::Narrow && colons >= 5)
        .then(|| {
            lexed
                .iter()
                .enumerate()
                .filter(|(_, l)| **l == Lex::Lit(':'))
                .nth(4)
                .map(|(i, _)| i + 1)
        })
        .flatten();
    let type_end = resource_part.and_then(|start| {
        lexed[start..]
            .iter()
            .position(|l| matches!(l, Lex::Lit('/') | Lex::Lit(':')))
            .map(|j| start + j)
    });
    let in_type =
        |i: usize| resource_part.is_some_and(|s| i >= s) && type_end.is_some_and(|e| i < e);
    let mut seg = 0usize;
    for (i, l) in lexed.iter().enumerate() {
        let head = seg < 5;
        if in_type(i) {
            match *l {
                Lex::Star => {
                    out.push(Tok::Lit('*'));
                    continue;
                }
                Lex::Quest => {
                    out.push(Tok::Lit('?'));
                    continue;
                }
                _ => {}
            }
        }
        out.push(match *l {
            Lex::Lit(c) => {
                if c == ':' {
                    seg += 1;
                }
                // Broad: the first five segments compare without case (every key ARN has them
                // in lower case, so lowering the pattern's letters is the same); narrow: as
                // written.
                if head && reading == Reading::Broad {
                    Tok::Lit(c.to_ascii_lowercase())
                } else {
                    Tok::Lit(c)
                }
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
        // Wildcards in the resource type: literal when narrow, wildcards when broad.
        let p = "a:b:c:d:e:*/x*";
        assert_eq!(toks(p, true, Reading::Narrow)[10], Lit('*'));
        assert_eq!(toks(p, true, Reading::Narrow)[13], Star);
        assert_eq!(toks(p, true, Reading::Broad)[10], Star);
        assert_eq!(toks("a:b:c:d:e:k*", true, Reading::Narrow)[11], Star);
        assert_eq!(toks("a:b:c:d:e:?:k", true, Reading::Narrow)[10], Lit('?'));
    }

    #[test]
    fn short_patterns() {
        assert_eq!(padded("arn", true).as_deref(), Some("arn:*:*:*:*:*"));
        assert_eq!(
            padded("arn:aws:kms:*", true).as_deref(),
            Some("arn:aws:kms:*:*:*")
        );
        assert_eq!(padded("arn:aws:kms:*:*:key", true), None);
        assert_eq!(padded("arn:aws:kms:*:*:key/a:b", true), None);
        // A colon inside a policy variable is no segment boundary.
        assert_eq!(
            padded("arn:aws:kms:${aws:userid}:key/*", true).as_deref(),
            Some("arn:aws:kms:${aws:userid}:key/*:*")
        );
        assert_eq!(padded("arn:aws:kms:${aws:userid}:key/*", false), None);
        assert!(sure_in_not_resource("arn:aws:kms:*:*:key/*", true));
        assert!(!sure_in_not_resource("arn:aws:kms:*", true));
        assert!(!sure_in_not_resource(
            "arn:aws:kms:*:*:key/${aws:username}",
            true
        ));
        assert!(!sure_in_not_resource(
            "arn:aws:kms:*:*:key/${aws:username}",
            false
        ));
    }
}
