use thiserror::Error;

/// A policy document that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct ParseError {
    /// What is wrong, lowercase, user input in backticks.
    pub message: String,
    /// Where in the (decoded) document, when known.
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// JSON path of the offending value, e.g. `$.Statement[1].Effect`, when known.
    pub path: Option<String>,
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
