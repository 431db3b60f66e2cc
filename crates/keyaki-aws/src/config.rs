//! The AWS SDK configuration every keyaki call uses: the default credential chain
//! (environment, shared config and credentials files, profile, SSO, web identity,
//! instance metadata), an optional profile, an optional endpoint override, an optional
//! role to assume, and the SDK's standard retry mode with backoff.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::{BehaviorVersion, Region, SdkConfig};

/// How to reach AWS: the options that every AWS tool takes.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    /// A named profile from the shared config/credentials files.
    pub profile: Option<String>,
    /// The region for global calls (STS, IAM, EC2 `DescribeRegions`); `None`: the
    /// configured default region.
    pub region: Option<String>,
    /// An endpoint for every service (emulators, VPC endpoints). `AWS_ENDPOINT_URL` is
    /// honoured by the SDK as well.
    pub endpoint_url: Option<String>,
    /// A role to assume with the credentials found (the usual way to scan another account).
    pub role_arn: Option<String>,
    /// The external id the role's trust policy requires.
    pub external_id: Option<String>,
    /// The session name for the assumed role (default `keyaki`).
    pub role_session_name: Option<String>,
    /// Attempts per API call, first one included (standard retry mode).
    pub max_attempts: u32,
}

/// Default attempts per API call: a little more patient than the SDK's 3, because a
/// scan issues many calls and one unlucky throttled call should not cost a resource.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// Loads the SDK configuration (credentials are resolved lazily, on the first call).
pub async fn load(opts: &AwsOptions) -> SdkConfig {
    let base = loader(opts).load().await;
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
    loader(opts).credentials_provider(provider).load().await
}

fn loader(opts: &AwsOptions) -> aws_config::ConfigLoader {
    let attempts = opts.max_attempts.max(1);
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).retry_config(
        RetryConfig::standard()
            .with_max_attempts(attempts)
            .with_initial_backoff(Duration::from_millis(200)),
    );
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
