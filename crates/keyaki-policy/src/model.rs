use crate::ParseError;

/// Where something stands in the source text (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// One statement of an identity policy.
#[derive(Debug, Clone)]
pub struct Statement {
    pub index: usize,
    pub sid: Option<String>,
    pub effect: Effect,
    /// Where the statement object starts in the decoded document text.
    pub location: Option<Location>,
    /// The statement as JSON text (for evidence and reports).
    pub source: String,
}

/// A parsed IAM identity policy document.
#[derive(Debug, Clone)]
pub struct Policy {
    pub version: Option<String>,
    pub statements: Vec<Statement>,
}

impl Policy {
    /// Parses a policy document: JSON, percent-encoded JSON (as the IAM API returns it),
    /// or the `{"PolicyVersion": {"Document": ...}}` wrappers the AWS CLI prints.
    pub fn parse(text: &str) -> Result<Policy, ParseError> {
        let _ = text;
        Err(ParseError {
            message: "policy parsing is not implemented yet".into(),
            line: None,
            column: None,
            path: None,
        })
    }
}
