//! Text for a terminal: control characters made visible.
//!
//! Names, ARNs, reasons and file contents come from the account or the input, that is from
//! whoever wrote them. Printed raw, a carriage return and an escape sequence (`\r\x1b[K`) in
//! a role name can overwrite a FAILED line on a terminal, and bidirectional overrides can
//! reorder what is shown. Every text output (the table, `keyaki policy`'s text, warnings)
//! prints such characters as visible escapes; the structured formats (JSON, CSV, SARIF, …)
//! keep the exact value and escape it by their own rules.

use std::borrow::Cow;
use std::fmt::Write;

/// Whether a character must not reach a terminal as it is: C0 and C1 controls, DEL, and the
/// bidirectional embedding, override and isolate characters.
fn unsafe_char(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every control character written as an escape: `\n`, `\r`, `\t`, `\\u{1b}`.
/// Text without any is returned as it is.
pub fn printable(text: &str) -> Cow<'_, str> {
    escaped(text, false)
}

/// [`printable`], but line breaks stay line breaks: for messages of several lines.
pub fn printable_lines(text: &str) -> Cow<'_, str> {
    escaped(text, true)
}

fn escaped(text: &str, keep_newlines: bool) -> Cow<'_, str> {
    let unsafe_here = |c: char| unsafe_char(c) && !(keep_newlines && c == '\n');
    if !text.chars().any(unsafe_here) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' if keep_newlines => out.push('\n'),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if unsafe_char(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn control_characters_become_visible_escapes() {
        assert_eq!(
            printable("arn:aws:iam::1:role/ok\r\x1b[KFAILED"),
            "arn:aws:iam::1:role/ok\\r\\u{1b}[KFAILED"
        );
        assert_eq!(printable("a\tb\nc\u{7f}\u{9b}"), "a\\tb\\nc\\u{7f}\\u{9b}");
        assert_eq!(printable("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
    }

    #[test]
    fn line_breaks_can_stay() {
        assert_eq!(
            super::printable_lines("first\nsecond\r\x1b[2K"),
            "first\nsecond\\r\\u{1b}[2K"
        );
    }

    #[test]
    fn ordinary_text_is_borrowed_unchanged() {
        let text = "arn:aws:kms:eu-west-1:111122223333:key/ü-1 — “quoted”";
        assert!(matches!(printable(text), std::borrow::Cow::Borrowed(t) if t == text));
    }
}
