//! Bounded answers: every response body keyaki reads from AWS has a size limit, one per
//! operation ([`LIMITS`]), so that an endpoint that sends an endless or enormous body fails
//! that call with [`ResponseTooLarge`] instead of filling memory.
//!
//! Two layers:
//! - [`BodyLimit`], an SDK interceptor on every client keyaki builds (STS, IAM, KMS, Security
//!   Hub, and the hand-made EC2 `DescribeRegions`), wraps the response body in a counter with
//!   the operation's limit before the SDK reads it. [`NotRetried`] keeps the SDK from trying
//!   such a call again (the answer would be as large).
//! - [`bounded_http_client`] wraps the one HTTP client of every call, including those the SDK
//!   makes on its own (credentials from STS `AssumeRole`, SSO, instance metadata), with
//!   [`CEILING`].
//!
//! A call over its limit fails like any other failed call: a key's `Errors` entry (the key is
//! NOT_AVAILABLE), a region's status (`ListKeys`), or a fatal error naming the operation
//! (`GetCallerIdentity`, `GetAccountAuthorizationDetails`, `DescribeRegions`).

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextMut, InterceptorContext,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::classifiers::{
    ClassifyRetry, RetryAction, RetryClassifierPriority,
};
use aws_smithy_runtime_api::client::runtime_components::{
    RuntimeComponents, RuntimeComponentsBuilder,
};
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use http_body_util::{BodyExt, LengthLimitError, Limited};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

/// The largest answer body keyaki reads, per operation. Each is far above what AWS sends
/// (the reason is given beside it) and small enough to hold in memory.
pub const LIMITS: &[(&str, u64)] = &[
    // A page of up to 1,000 users, groups, roles and customer managed policies with every
    // policy version, documents percent-encoded (up to 3 bytes per character).
    ("GetAccountAuthorizationDetails", 256 * MIB),
    // Up to 1,000 key ids and ARNs (about 150 bytes each).
    ("ListKeys", 4 * MIB),
    // One key's metadata (a few KB, more for a multi-Region key with many replicas).
    ("DescribeKey", MIB),
    // Two fields.
    ("GetKeyRotationStatus", 64 * KIB),
    // One key policy: at most 32 KB, escaped in JSON.
    ("GetKeyPolicy", MIB),
    // At most 100 grants, each under 8 KB (constraints included).
    ("ListGrants", 4 * MIB),
    // Account, ARN and user id.
    ("GetCallerIdentity", 64 * KIB),
    // About 30 regions.
    ("DescribeRegions", MIB),
    // The findings refused among at most 100 sent.
    ("BatchImportFindings", 4 * MIB),
];

/// The limit of an operation not in [`LIMITS`].
pub const DEFAULT_LIMIT: u64 = MIB;

/// The limit of every answer read through keyaki's HTTP client, whichever the operation:
/// above every limit of [`LIMITS`], so that the operation's own limit is met first.
pub const CEILING: u64 = 512 * MIB;

/// The limit for `operation` (an SDK operation name such as `GetKeyPolicy`).
pub fn limit_for(operation: &str) -> u64 {
    LIMITS
        .iter()
        .find(|(name, _)| *name == operation)
        .map_or(DEFAULT_LIMIT, |(_, limit)| *limit)
}

/// An answer larger than keyaki reads for its operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the answer to `{operation}` is larger than {}, keyaki's limit for it", size(*.limit))]
pub struct ResponseTooLarge {
    /// The operation, or `an AWS call` when the HTTP client's ceiling was met.
    pub operation: String,
    /// The limit, in bytes.
    pub limit: u64,
}

/// `64 KiB`, `256 MiB`, or bytes.
fn size(bytes: u64) -> String {
    if bytes >= MIB && bytes % MIB == 0 {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes % KIB == 0 {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// `body`, failing with [`ResponseTooLarge`] once more than `limit` bytes have come.
pub fn limited(body: SdkBody, operation: &str, limit: u64) -> SdkBody {
    let operation = operation.to_string();
    let counted = Limited::new(body, usize::try_from(limit).unwrap_or(usize::MAX)).map_err(
        move |e: BoxError| -> BoxError {
            if e.is::<LengthLimitError>() {
                Box::new(ResponseTooLarge {
                    operation: operation.clone(),
                    limit,
                })
            } else {
                e
            }
        },
    );
    SdkBody::from_body_1_x(counted)
}

/// Whether `err` or one of its sources is a [`ResponseTooLarge`].
pub fn too_large<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a ResponseTooLarge> {
    std::iter::successors(Some(err), |e: &&'a (dyn std::error::Error + 'static)| {
        e.source()
    })
    .find_map(|e| e.downcast_ref())
}

/// The interceptor that gives each answer its operation's limit.
#[derive(Debug, Clone, Copy, Default)]
pub struct BodyLimit;

impl Intercept for BodyLimit {
    fn name(&self) -> &'static str {
        "KeyakiBodyLimit"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg
            .load::<Metadata>()
            .map_or("an AWS call", |m| m.name())
            .to_string();
        let limit = limit_for(&operation);
        let body = std::mem::replace(context.response_mut().body_mut(), SdkBody::taken());
        *context.response_mut().body_mut() = limited(body, &operation, limit);
        Ok(())
    }
}

/// The retry classifier that forbids trying a call again whose answer was too large.
#[derive(Debug, Clone, Copy, Default)]
pub struct NotRetried;

impl ClassifyRetry for NotRetried {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        match ctx.output_or_error() {
            Some(Err(err)) if too_large(err).is_some() => RetryAction::RetryForbidden,
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "KeyakiTooLargeNotRetried"
    }

    fn priority(&self) -> RetryClassifierPriority {
        // After the classifier that calls every broken answer transient.
        RetryClassifierPriority::run_after(RetryClassifierPriority::transient_error_classifier())
    }
}

/// `http` with [`CEILING`] on every answer.
pub fn bounded_http_client(http: SharedHttpClient) -> SharedHttpClient {
    SharedHttpClient::new(BoundedClient(http))
}

#[derive(Debug)]
struct BoundedClient(SharedHttpClient);

impl HttpClient for BoundedClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(BoundedConnector(
            self.0.http_connector(settings, components),
        ))
    }

    fn validate_base_client_config(
        &self,
        runtime_components: &RuntimeComponentsBuilder,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.validate_base_client_config(runtime_components, cfg)
    }

    fn validate_final_config(
        &self,
        runtime_components: &RuntimeComponents,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.validate_final_config(runtime_components, cfg)
    }

    fn connector_metadata(
        &self,
    ) -> Option<aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

#[derive(Debug)]
struct BoundedConnector(SharedHttpConnector);

impl HttpConnector for BoundedConnector {
    fn call(
        &self,
        request: aws_smithy_runtime_api::client::orchestrator::HttpRequest,
    ) -> HttpConnectorFuture {
        let answer = self.0.call(request);
        HttpConnectorFuture::new(async move {
            let response = answer.await?;
            Ok(response.map(|body| limited(body, "an AWS call", CEILING)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[test]
    fn every_operation_keyaki_calls_has_its_limit_below_the_ceiling() {
        for op in [
            "GetAccountAuthorizationDetails",
            "ListKeys",
            "DescribeKey",
            "GetKeyRotationStatus",
            "GetKeyPolicy",
            "ListGrants",
            "GetCallerIdentity",
            "DescribeRegions",
            "BatchImportFindings",
        ] {
            assert!(LIMITS.iter().any(|(name, _)| *name == op), "{op}");
            assert!(limit_for(op) < CEILING, "{op}");
        }
        assert_eq!(limit_for("AssumeRole"), DEFAULT_LIMIT);
        assert!(limit_for("GetKeyRotationStatus") < limit_for("GetAccountAuthorizationDetails"));
    }

    #[tokio::test]
    async fn a_body_over_its_limit_fails_with_the_operation_and_the_limit() {
        let body = limited(
            SdkBody::from(vec![b'x'; 2048]),
            "GetKeyRotationStatus",
            1024,
        );
        let Err(err) = body.collect().await else {
            panic!("a body over its limit was read")
        };
        let too = too_large(err.as_ref()).expect("a ResponseTooLarge");
        assert_eq!(too.operation, "GetKeyRotationStatus");
        assert_eq!(
            err.to_string(),
            "the answer to `GetKeyRotationStatus` is larger than 1 KiB, keyaki's limit for it"
        );
        let body = limited(
            SdkBody::from(vec![b'x'; 1024]),
            "GetKeyRotationStatus",
            1024,
        );
        assert_eq!(body.collect().await.expect("within").to_bytes().len(), 1024);
    }
}
