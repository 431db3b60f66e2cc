//! The AWS SDK configuration every keyaki call uses: the default credential chain
//! (environment, shared config and credentials files, profile, SSO, web identity,
//! instance metadata), an optional profile, region and endpoint override, an optional
//! role to assume, the SDK's standard retry mode with backoff, bounded waits, and one
//! HTTPS client (rustls with ring) shared by every client.
//!
//! Every command that talks to AWS — collection, live scans, the Security Hub export —
//! loads its configuration here, so `--profile`, `--region`, `--endpoint-url` and
//! `--timeout` mean the same thing for every call it makes.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// How to reach AWS: the options that every AWS tool takes.
#[derive(Debug, Clone)]
pub struct AwsOptions {
    /// A named profile from the shared config/credentials files.
    pub profile: Option<String>,
    /// The region for global calls (STS, IAM, EC2 `DescribeRegions`) and for Security
    /// Hub; `None`: the configured default region.
    pub region: Option<String>,
    /// An endpoint for every service (emulators, VPC endpoints). `AWS_ENDPOINT_URL` and
    /// the service-specific `AWS_ENDPOINT_URL_<SERVICE>` are honoured as well.
    pub endpoint_url: Option<String>,
    /// A role to assume with the credentials found (the usual way to scan another account).
    pub role_arn: Option<String>,
    /// The external id the role's trust policy requires.
    pub external_id: Option<String>,
    /// The session name for the assumed role (default `keyaki`).
    pub role_session_name: Option<String>,
    /// Attempts per API call, first one included (standard retry mode).
    pub max_attempts: u32,
    /// The longest one attempt of a call may take, connection included; an attempt that
    /// takes longer fails as a timeout and is retried like any transient failure.
    pub timeout: Duration,
}

impl Default for AwsOptions {
    fn default() -> Self {
        AwsOptions {
            profile: None,
            region: None,
            endpoint_url: None,
            role_arn: None,
            external_id: None,
            role_session_name: None,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// Default attempts per API call: a little more patient than the SDK's 3, because a
/// scan issues many calls and one unlucky throttled call should not cost a resource.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// Default bound on one attempt of a call (`--timeout`): generous for the largest answer
/// keyaki asks for (a page of `GetAccountAuthorizationDetails`), short enough that a dead
/// endpoint ends a scan in minutes rather than never.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The bound on establishing a connection (TCP and TLS), at most the attempt's bound.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The bounds the SDK enforces for every call made with `opts`: connection, each read,
/// each attempt, and the whole call with its retries (attempts × bound, plus the backoff
/// between them).
pub fn timeout_config(opts: &AwsOptions) -> TimeoutConfig {
    let attempt = opts.timeout.max(Duration::from_millis(100));
    let attempts = opts.max_attempts.max(1);
    TimeoutConfig::builder()
        .connect_timeout(attempt.min(CONNECT_TIMEOUT))
        .read_timeout(attempt)
        .operation_attempt_timeout(attempt)
        .operation_timeout(attempt * attempts + MAX_BACKOFF * attempts)
        .build()
}

/// The longest wait between two attempts in the SDK's standard retry mode.
const MAX_BACKOFF: Duration = Duration::from_secs(20);

/// The one HTTPS client of every AWS call: hyper with rustls on ring, the platform's
/// root certificates; no answer read through it may exceed [`crate::limits::CEILING`].
pub fn http_client() -> SharedHttpClient {
    crate::limits::bounded_http_client(
        aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
            .build_https(),
    )
}

/// Loads the SDK configuration (credentials are resolved lazily, on the first call).
pub async fn load(opts: &AwsOptions) -> SdkConfig {
    let http = http_client();
    let base = loader(opts, &http).load().await;
    let Some(role_arn) = &opts.role_arn else {
        return base;
    };
    let mut provider = AssumeRoleProvider::builder(role_arn.clone())
        .session_name(
            opts.role_session_name
                .clone()
                .unwrap_or_else(|| "keyaki".to_string()),
        )
        .configure(&base);
    if let Some(external_id) = &opts.external_id {
        provider = provider.external_id(external_id.clone());
    }
    if let Some(region) = base.region() {
        provider = provider.region(region.clone());
    }
    let provider = provider.build().await;
    loader(opts, &http)
        .credentials_provider(provider)
        .load()
        .await
}

fn loader(opts: &AwsOptions, http: &SharedHttpClient) -> aws_config::ConfigLoader {
    let attempts = opts.max_attempts.max(1);
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http.clone())
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(attempts)
                .with_initial_backoff(Duration::from_millis(200)),
        )
        .timeout_config(timeout_config(opts));
    if let Some(profile) = &opts.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &opts.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(url) = &opts.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_wait_is_bounded_by_the_attempt_bound() {
        let opts = AwsOptions {
            timeout: Duration::from_secs(3),
            max_attempts: 2,
            ..AwsOptions::default()
        };
        let t = timeout_config(&opts);
        assert_eq!(t.connect_timeout(), Some(Duration::from_secs(3)));
        assert_eq!(t.read_timeout(), Some(Duration::from_secs(3)));
        assert_eq!(t.operation_attempt_timeout(), Some(Duration::from_secs(3)));
        assert_eq!(t.operation_timeout(), Some(Duration::from_secs(46)));
        let long = timeout_config(&AwsOptions::default());
        assert_eq!(long.connect_timeout(), Some(CONNECT_TIMEOUT));
        assert_eq!(long.operation_attempt_timeout(), Some(DEFAULT_TIMEOUT));
    }
}
