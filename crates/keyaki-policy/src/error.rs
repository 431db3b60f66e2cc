use std::fmt;
use std::ops::Range;

use thiserror::Error;

/// What kind of mistake made a policy document unreadable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// Larger than a document IAM accepts.
    TooLarge,
    /// Percent-decoding gave bytes that are not UTF-8.
    Encoding,
    /// Not JSON (or nested too deeply).
    Syntax,
    /// An object names one key twice.
    DuplicateKey,
    /// Well-formed JSON that is not a policy: a missing, misplaced or ill-typed element.
    Element,
}

impl ParseErrorKind {
    /// A stable, lower-case name (`syntax`, `duplicate-key`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ParseErrorKind::TooLarge => "too-large",
            ParseErrorKind::Encoding => "encoding",
            ParseErrorKind::Syntax => "syntax",
            ParseErrorKind::DuplicateKey => "duplicate-key",
            ParseErrorKind::Element => "element",
        }
    }
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A policy document that could not be read.
///
/// Places (`span`, `line`, `column`) refer to the decoded document; when the document was
/// a JSON string inside a wrapper (`{"PolicyDocument": "{...}"}`), they refer to that
/// string's decoded text and `string_document` holds the wrapper's JSON path.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct ParseError {
    pub kind: ParseErrorKind,
    /// What is wrong, lowercase, user input in backticks.
    pub message: String,
    /// The byte range of the offending value (or the point where reading stopped); documents
    /// are at most [`crate::MAX_DOCUMENT_BYTES`] long.
    pub span: Option<Range<u32>>,
    /// Where in the (decoded) document, when known, 1-based.
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// JSON path of the offending value, e.g. `$.Statement[1].Effect`, when known.
    pub path: Option<String>,
    /// The 0-based index of the statement the offending value is in, when it is in one
    /// (a single `Statement` object is statement 0).
    pub statement: Option<u32>,
    /// The JSON path of the string that held the document, when the error is inside it.
    pub string_document: Option<Box<str>>,
}

impl ParseError {
    pub(crate) fn whole(kind: ParseErrorKind, message: impl Into<String>) -> ParseError {
        ParseError {
            kind,
            message: message.into(),
            span: None,
            line: None,
            column: None,
            path: None,
            statement: None,
            string_document: None,
        }
    }

    /// The place as people read it: `line 3, column 7 at `$.Statement[0]``, or `None`.
    /// Every front end prints places this way.
    pub fn place(&self) -> Option<String> {
        let mut out = String::new();
        if let Some(line) = self.line {
            out.push_str(&format!("line {line}, column {}", self.column.unwrap_or(1)));
        }
        if let Some(path) = &self.path {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&format!("at `{path}`"));
        }
        (!out.is_empty()).then_some(out)
    }
}

/// A query that cannot be asked (e.g. a blocked-action pattern that matches no KMS action).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum QueryError {
    #[error("action pattern `{0}` matches no KMS action")]
    NoSuchAction(String),
    #[error("`{0}` is not a 12-digit AWS account id")]
    BadAccount(String),
    #[error("`{0}` is not an AWS partition name")]
    BadPartition(String),
}
