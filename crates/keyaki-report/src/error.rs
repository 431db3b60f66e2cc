use thiserror::Error;

#[derive(Debug, Error)]
pub enum ReportError {
    #[error("the `{0}` format is not available")]
    Unsupported(&'static str),
    #[error("could not write the report: {0}")]
    Io(#[from] std::io::Error),
    #[error("could not serialize the report: {0}")]
    Json(serde_json::Error),
}

impl From<serde_json::Error> for ReportError {
    /// A failed write through the JSON serializer is a write error (so that callers can see
    /// the I/O error, a closed pipe for example); anything else is a serialization error.
    fn from(err: serde_json::Error) -> Self {
        if err.io_error_kind().is_some() {
            ReportError::Io(err.into())
        } else {
            ReportError::Json(err)
        }
    }
}
