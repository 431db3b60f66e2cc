//! Errors of the collector: fatal ones ([`CollectError`], the scan cannot run) and
//! failed calls that are recorded in the snapshot and do not stop the collection
//! ([`CallError`]).

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use keyaki_controls::snapshot::ApiError;

use crate::failure::{Cause, Failure};

/// Why a collection could not run at all. Each message is one sentence that says what to
/// do; [`CollectError::detail`] keeps the SDK's whole account for `-v`.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("no AWS region configured: pass `--region`, set `AWS_REGION`, or set a region in the profile")]
    NoRegion,
    #[error("{}", sentence("establish who is calling (sts:GetCallerIdentity)", .0))]
    Identity(CallError),
    #[error("{}", sentence("list the account's enabled regions (ec2:DescribeRegions)", .0))]
    Regions(CallError),
    #[error("{}", sentence("read IAM (iam:GetAccountAuthorizationDetails)", .0))]
    Iam(CallError),
    #[error("lost contact with AWS during the collection: {0}")]
    Lost(CallError),
}

impl CollectError {
    /// The SDK's whole account of the failed call, when there is more to say than the
    /// message.
    pub fn detail(&self) -> Option<&str> {
        match self {
            CollectError::NoRegion => None,
            CollectError::Identity(e)
            | CollectError::Regions(e)
            | CollectError::Iam(e)
            | CollectError::Lost(e) => Some(e.detail.as_str()).filter(|d| !d.is_empty()),
        }
    }
}

/// "could not WHAT: what happened; what to do".
fn sentence(what: &str, e: &CallError) -> String {
    let advice = match e.cause {
        Cause::NoCredentials => {
            "no AWS credentials were found: set `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`, \
             choose a profile with `--profile` or `AWS_PROFILE`, or sign in with `aws sso login`"
                .to_string()
        }
        Cause::CredentialSource => format!(
            "{}; check the profile's credential settings (and, with `--role-arn`, that the role \
             exists and trusts the caller)",
            e.message
        ),
        Cause::CredentialsRejected => format!(
            "AWS does not accept these credentials ({}: {}); check the access key or profile, \
             and that they belong to the partition of the region",
            e.code, e.message
        ),
        Cause::CredentialsExpired => format!(
            "the credentials have expired ({}); refresh them (for example `aws sso login`) and \
             run again",
            e.code
        ),
        Cause::AccessDenied => format!(
            "access denied ({}: {}); grant the permissions listed in `docs/iam-permissions.json`",
            e.code, e.message
        ),
        Cause::Unreachable => format!(
            "AWS could not be reached ({}); check the network, proxy settings, the region, and \
             `--endpoint-url` / `AWS_ENDPOINT_URL` if set",
            e.message
        ),
        Cause::TimedOut => "AWS did not answer in time; check the network, or allow more with \
             `--timeout` and `--max-attempts`"
            .to_string(),
        Cause::BrokenResponse | Cause::TooLarge | Cause::Service | Cause::Client => {
            format!("{}: {}", e.code, e.message)
        }
    };
    format!("could not {what}: {advice}")
}

/// What kind of failure a call met, for the collection's decisions: record and go on,
/// or check that AWS can still be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The caller may not do this (AccessDenied and friends, or credentials a region
    /// does not know because it is not enabled): record and go on.
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
    /// One line.
    pub message: String,
    pub kind: FailureKind,
    pub cause: Cause,
    /// The SDK's whole account (empty when the message says it all).
    pub detail: String,
}

impl CallError {
    pub fn new(operation: &str, code: &str, message: impl Into<String>, kind: FailureKind) -> Self {
        CallError {
            operation: operation.to_string(),
            code: code.to_string(),
            message: message.into(),
            kind,
            cause: match kind {
                FailureKind::Access => Cause::AccessDenied,
                FailureKind::Unreachable => Cause::Unreachable,
                FailureKind::Service => Cause::Service,
            },
            detail: String::new(),
        }
    }

    /// Classifies an SDK error of `operation`.
    pub fn from_sdk<E, R>(operation: &str, err: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let failure = Failure::of(&err);
        let kind = match failure.cause {
            Cause::AccessDenied | Cause::CredentialsRejected => FailureKind::Access,
            Cause::Unreachable | Cause::TimedOut | Cause::BrokenResponse => {
                FailureKind::Unreachable
            }
            // AWS answered; the answer is recorded as this call's failure.
            Cause::NoCredentials
            | Cause::CredentialSource
            | Cause::CredentialsExpired
            | Cause::TooLarge
            | Cause::Service
            | Cause::Client => FailureKind::Service,
        };
        CallError {
            operation: operation.to_string(),
            code: failure.code,
            message: failure.message,
            kind,
            cause: failure.cause,
            detail: failure.detail,
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
