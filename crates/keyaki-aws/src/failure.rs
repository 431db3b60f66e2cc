//! What went wrong with an AWS call, in words a person can act on.
//!
//! The SDK's errors are precise but long: a missing credential chain is a `DispatchFailure`
//! whose source lists five providers, a refused connection is a hyper error inside a
//! connector error. [`Failure::of`] reads such an error once and keeps three things: the
//! [`Cause`] (what kind of problem, and so what to do), one line that says it, and the
//! SDK's whole text for `-v`.

use std::error::Error as StdError;

use aws_credential_types::provider::error::CredentialsError;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// The kind of problem a call met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The default credential chain found no credentials.
    NoCredentials,
    /// A credential source is configured but could not give credentials (a role that
    /// cannot be assumed, an expired SSO session, a broken profile).
    CredentialSource,
    /// AWS does not know or accept these credentials.
    CredentialsRejected,
    /// The credentials (or the session) have expired.
    CredentialsExpired,
    /// The caller may not do this.
    AccessDenied,
    /// No connection could be made (refused, DNS, TLS).
    Unreachable,
    /// Connected, but no complete answer within the time allowed.
    TimedOut,
    /// An answer came that could not be read.
    BrokenResponse,
    /// The answer was larger than keyaki reads for the operation
    /// ([`crate::limits::ResponseTooLarge`]).
    TooLarge,
    /// The service answered with another error.
    Service,
    /// The request could not be built or sent for another reason.
    Client,
}

/// Error codes of AWS services that mean "the caller may not do this".
const ACCESS_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnauthorizedAccess",
    "OptInRequired",
];

/// Error codes that mean "these credentials are not valid here".
const REJECTED_CODES: &[&str] = &[
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
    "AuthFailure",
    "InvalidSignatureException",
    "IncompleteSignature",
];

/// Error codes that mean "these credentials have expired".
const EXPIRED_CODES: &[&str] = &[
    "ExpiredToken",
    "ExpiredTokenException",
    "RequestExpired",
    "TokenRefreshRequired",
];

/// One failed call, read once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub cause: Cause,
    /// The service's error code, or keyaki's name for a failure without one
    /// (`DispatchFailure`, `TimeoutError`, `ResponseError`, `ClientError`).
    pub code: String,
    /// One line: the service's message, or the innermost reason of a local failure.
    pub message: String,
    /// The SDK's whole account of the error, for `-v`.
    pub detail: String,
}

impl Failure {
    /// Reads an SDK error.
    pub fn of<E, R>(err: &SdkError<E, R>) -> Failure
    where
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let detail = DisplayErrorContext(err).to_string();
        let failure = |cause, code: &str, message: String| Failure {
            cause,
            code: code.to_string(),
            message,
            detail: detail.clone(),
        };
        match err {
            SdkError::ServiceError(ctx) => {
                let code = ctx.err().code().unwrap_or("UnknownError");
                let message = ctx
                    .err()
                    .message()
                    .map(one_line)
                    .unwrap_or_else(|| innermost(err));
                failure(cause_of_code(code), code, message)
            }
            SdkError::DispatchFailure(dispatch) => {
                if let Some(creds) = find::<CredentialsError>(err) {
                    let (cause, message) = credentials_failure(creds);
                    return failure(cause, "DispatchFailure", message);
                }
                let cause = if dispatch.is_timeout() {
                    Cause::TimedOut
                } else if dispatch.is_io() {
                    Cause::Unreachable
                } else {
                    Cause::Client
                };
                failure(cause, "DispatchFailure", innermost(err))
            }
            SdkError::TimeoutError(_) => failure(
                Cause::TimedOut,
                "TimeoutError",
                "no answer within the time allowed".to_string(),
            ),
            SdkError::ResponseError(_) => match crate::limits::too_large(err) {
                Some(too) => failure(Cause::TooLarge, "ResponseTooLarge", too.to_string()),
                None => failure(Cause::BrokenResponse, "ResponseError", innermost(err)),
            },
            _ => failure(Cause::Client, "ClientError", innermost(err)),
        }
    }
}

/// The cause an error code of a service names.
pub fn cause_of_code(code: &str) -> Cause {
    if ACCESS_CODES.contains(&code) {
        Cause::AccessDenied
    } else if REJECTED_CODES.contains(&code) {
        Cause::CredentialsRejected
    } else if EXPIRED_CODES.contains(&code) {
        Cause::CredentialsExpired
    } else {
        Cause::Service
    }
}

fn credentials_failure(err: &CredentialsError) -> (Cause, String) {
    match err {
        CredentialsError::CredentialsNotLoaded(_) => (
            Cause::NoCredentials,
            "no credentials found in the default credential chain".to_string(),
        ),
        other => {
            // a role that cannot be assumed carries the STS error as its source
            let service = chain(other).find_map(|e| {
                let text = e.to_string();
                EXPIRED_CODES
                    .iter()
                    .chain(ACCESS_CODES)
                    .chain(REJECTED_CODES)
                    .find(|code| text.contains(&format!("({code})")))
                    .map(|code| (cause_of_code(code), *code))
            });
            // STS's own message when a role could not be assumed, else the innermost reason
            let reason = find::<aws_sdk_sts::operation::assume_role::AssumeRoleError>(other)
                .and_then(ProvideErrorMetadata::message)
                .map(one_line)
                .unwrap_or_else(|| innermost_of(other));
            match service {
                Some((Cause::CredentialsExpired, code)) => (
                    Cause::CredentialsExpired,
                    format!("could not get credentials: {code}: {reason}"),
                ),
                Some((_, code)) => (
                    Cause::CredentialSource,
                    format!("could not get credentials: {code}: {reason}"),
                ),
                None => (
                    Cause::CredentialSource,
                    format!("could not get credentials: {reason}"),
                ),
            }
        }
    }
}

/// The error and its sources, outermost first.
fn chain<'a>(
    err: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(err), |e: &&'a (dyn StdError + 'static)| (*e).source())
}

fn find<'a, T: StdError + 'static>(err: &'a (dyn StdError + 'static)) -> Option<&'a T> {
    chain(err).find_map(|e| e.downcast_ref::<T>())
}

fn innermost(err: &(dyn StdError + 'static)) -> String {
    innermost_of(err)
}

/// The innermost source's text, on one line: the most specific reason ("Connection
/// refused (os error 111)" rather than "dispatch failure").
fn innermost_of(err: &(dyn StdError + 'static)) -> String {
    let last = chain(err).last().unwrap_or(err);
    one_line(&last.to_string())
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_name_their_causes() {
        assert_eq!(cause_of_code("AccessDeniedException"), Cause::AccessDenied);
        assert_eq!(
            cause_of_code("InvalidClientTokenId"),
            Cause::CredentialsRejected
        );
        assert_eq!(cause_of_code("ExpiredToken"), Cause::CredentialsExpired);
        assert_eq!(cause_of_code("ThrottlingException"), Cause::Service);
    }

    #[test]
    fn messages_are_one_line() {
        assert_eq!(one_line("a\n  b\tc "), "a b c");
    }
}
