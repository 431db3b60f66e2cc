//! Errors of the collector: fatal ones ([`CollectError`], the scan cannot run) and
//! failed calls that are recorded in the snapshot and do not stop the collection
//! ([`CallError`]).

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use keyaki_controls::snapshot::ApiError;

/// Why a collection could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("no AWS region configured: pass `--region`, set `AWS_REGION`, or set a region in the profile")]
    NoRegion,
    #[error("could not establish who is calling (sts:GetCallerIdentity): {0}")]
    Identity(CallError),
    #[error("could not list the account's enabled regions (ec2:DescribeRegions): {0}")]
    Regions(CallError),
    #[error("could not read IAM (iam:GetAccountAuthorizationDetails): {0}")]
    Iam(CallError),
    #[error("lost contact with AWS during the collection: {0}")]
    Lost(CallError),
}

/// What kind of failure a call met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The caller may not do this (AccessDenied and friends): record and go on.
    Access,
    /// The request never got an answer (connection refused, timeout, broken response).
    Unreachable,
    /// The service answered with another error (after retries).
    Service,
}

/// A failed API call, retries exhausted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation}: {code}: {message}")]
pub struct CallError {
    pub operation: String,
    pub code: String,
    pub message: String,
    pub kind: FailureKind,
}

const ACCESS_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnauthorizedAccess",
    "AuthFailure",
    "OptInRequired",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
];

impl CallError {
    pub fn new(operation: &str, code: &str, message: impl Into<String>, kind: FailureKind) -> Self {
        CallError {
            operation: operation.to_string(),
            code: code.to_string(),
            message: message.into(),
            kind,
        }
    }

    /// Classifies an SDK error of `operation`.
    pub fn from_sdk<E, R>(operation: &str, err: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        match &err {
            SdkError::ServiceError(ctx) => {
                let code = ctx.err().code().unwrap_or("UnknownError").to_string();
                let message = ctx
                    .err()
                    .message()
                    .map(str::to_string)
                    .unwrap_or_else(|| DisplayErrorContext(&err).to_string());
                let kind = if ACCESS_CODES.contains(&code.as_str()) {
                    FailureKind::Access
                } else {
                    FailureKind::Service
                };
                CallError::new(operation, &code, message, kind)
            }
            SdkError::DispatchFailure(_) => CallError::new(
                operation,
                "DispatchFailure",
                DisplayErrorContext(&err).to_string(),
                FailureKind::Unreachable,
            ),
            SdkError::TimeoutError(_) => CallError::new(
                operation,
                "TimeoutError",
                DisplayErrorContext(&err).to_string(),
                FailureKind::Unreachable,
            ),
            SdkError::ResponseError(_) => CallError::new(
                operation,
                "ResponseError",
                DisplayErrorContext(&err).to_string(),
                FailureKind::Unreachable,
            ),
            _ => CallError::new(
                operation,
                "ClientError",
                DisplayErrorContext(&err).to_string(),
                FailureKind::Service,
            ),
        }
    }

    /// The snapshot's form.
    pub fn to_api_error(&self) -> ApiError {
        ApiError {
            operation: self.operation.clone(),
            code: self.code.clone(),
            message: self.message.clone(),
        }
    }
}
