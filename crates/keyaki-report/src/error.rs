use thiserror::Error;

#[derive(Debug, Error)]
pub enum ReportError {
    #[error("the `{0}` format is not available")]
    Unsupported(&'static str),
    #[error("could not write the report: {0}")]
    Io(#[from] std::io::Error),
    #[error("could not serialize the report: {0}")]
    Json(#[from] serde_json::Error),
}
