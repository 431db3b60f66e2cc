//! Which regions to collect: the ones asked for, the account's enabled regions
//! (EC2 `DescribeRegions`, opted-in or not requiring opt-in), or the configured default.
//!
//! `DescribeRegions` is the only EC2 call keyaki makes. The EC2 client of the SDK is its
//! largest crate by far (its build alone needs ~8 GB of memory and most of a build's
//! time), so the call is made here as a single operation on the SDK's own runtime: the
//! same HTTP client, credentials, SigV4 signer, retry strategy, timeouts and interceptors
//! as every other client, with the request written and the answer read by hand (the EC2
//! query protocol: a form-encoded POST, an XML answer).

use std::borrow::Cow;

use aws_runtime::auth::sigv4::{SigV4AuthScheme, SCHEME_ID as SIGV4};
use aws_runtime::auth::SigV4OperationSigningConfig;
use aws_runtime::retries::classifiers::AwsErrorCodeClassifier;
use aws_smithy_runtime::client::orchestrator::operation::Operation;
use aws_smithy_runtime::client::retries::classifiers::{
    HttpStatusCodeClassifier, TransientErrorClassifier,
};
use aws_smithy_runtime_api::client::auth::static_resolver::StaticAuthSchemeOptionResolver;
use aws_smithy_runtime_api::client::auth::AuthSchemeOptionResolverParams;
use aws_smithy_runtime_api::client::identity::SharedIdentityResolver;
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse, OrchestratorError};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponentsBuilder;
use aws_smithy_runtime_api::client::runtime_plugin::StaticRuntimePlugin;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::Layer;
use aws_smithy_types::error::ErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use aws_smithy_xml::decode::{try_data, Document, ScopedDecoder, XmlDecodeError};
use aws_types::region::SigningRegion;
use aws_types::service_config::ServiceConfigKey;
use aws_types::{SdkConfig, SigningName};

use super::error::{CallError, CollectError, FailureKind};
use super::stats::CallLog;
use crate::limits::{BodyLimit, NotRetried};

/// Which regions to read KMS keys in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum RegionSelection {
    /// The configured default region (profile, `AWS_REGION`).
    #[default]
    Default,
    /// These regions (`--region`, repeatable).
    List(Vec<String>),
    /// Every region enabled for the account (`--all-regions`).
    All,
}

/// The EC2 API version whose `DescribeRegions` answer is read here.
const EC2_API_VERSION: &str = "2016-11-15";

/// The regions enabled for the account: `DescribeRegions` without `AllRegions`, keeping
/// the regions that need no opt-in or are opted in; sorted, without repeats.
pub(crate) async fn enabled_regions(
    sdk: &SdkConfig,
    region: &str,
    call_log: CallLog,
) -> Result<Vec<String>, CollectError> {
    let fail = |e| CollectError::Regions(e);
    let operation = describe_regions(sdk, region, call_log).map_err(fail)?;
    let answer = operation
        .invoke(())
        .await
        .map_err(|e| fail(CallError::from_sdk("DescribeRegions", e)))?;
    let mut regions: Vec<String> = answer
        .into_iter()
        .filter(|r| {
            matches!(
                r.opt_in_status.as_deref(),
                None | Some("opt-in-not-required") | Some("opted-in")
            )
        })
        .map(|r| r.name)
        .collect();
    regions.sort();
    regions.dedup();
    Ok(regions)
}

/// One entry of `regionInfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RegionInfo {
    name: String,
    opt_in_status: Option<String>,
}

/// An error answer of EC2 (`<Response><Errors><Error><Code>…`), with the code and
/// message the SDK's classifiers and [`CallError::from_sdk`] read.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Ec2Error(ErrorMetadata);

impl aws_smithy_types::error::metadata::ProvideErrorMetadata for Ec2Error {
    fn meta(&self) -> &ErrorMetadata {
        &self.0
    }
}

type DescribeRegions = Operation<(), Vec<RegionInfo>, Ec2Error>;

fn describe_regions(
    sdk: &SdkConfig,
    region: &str,
    call_log: CallLog,
) -> Result<DescribeRegions, CallError> {
    let unusable = |what: &str| {
        CallError::new(
            "DescribeRegions",
            "ClientError",
            format!("the AWS configuration has no {what}"),
            FailureKind::Service,
        )
    };
    let http_client = sdk.http_client().ok_or_else(|| unusable("HTTP client"))?;
    let credentials = sdk
        .credentials_provider()
        .ok_or_else(|| unusable("credentials provider"))?;
    let endpoint = ec2_endpoint(sdk, region);

    // SigV4 for service `ec2` in `region`, with the configured credentials
    let mut signing = Layer::new("ec2-sigv4");
    signing.store_put(SigV4OperationSigningConfig {
        region: Some(SigningRegion::from(aws_types::region::Region::new(
            region.to_string(),
        ))),
        name: Some(SigningName::from_static("ec2")),
        ..Default::default()
    });
    signing.store_put(AuthSchemeOptionResolverParams::new(()));
    let sigv4 = StaticRuntimePlugin::new()
        .with_config(signing.freeze())
        .with_runtime_components(
            RuntimeComponentsBuilder::new("ec2-sigv4")
                .with_auth_scheme(SigV4AuthScheme::new())
                .with_auth_scheme_option_resolver(Some(StaticAuthSchemeOptionResolver::new(vec![
                    SIGV4,
                ])))
                .with_identity_resolver(SIGV4, SharedIdentityResolver::new(credentials)),
        );

    let mut builder = Operation::builder()
        .service_name("ec2")
        .operation_name("DescribeRegions")
        .http_client(http_client)
        .endpoint_url(&endpoint)
        .standard_retry(sdk.retry_config().unwrap_or(&RetryConfig::standard()))
        .retry_classifier(HttpStatusCodeClassifier::default())
        .retry_classifier(TransientErrorClassifier::<Ec2Error>::new())
        .retry_classifier(AwsErrorCodeClassifier::<Ec2Error>::new())
        .timeout_config(
            sdk.timeout_config()
                .cloned()
                .unwrap_or_else(TimeoutConfig::disabled),
        )
        .retry_classifier(NotRetried)
        .interceptor(call_log)
        .interceptor(BodyLimit)
        .runtime_plugin(sigv4);
    if let Some(sleep) = sdk.sleep_impl() {
        builder = builder.sleep_impl(sleep);
    }
    if let Some(time) = sdk.time_source() {
        builder = builder.time_source(time);
    }
    Ok(builder
        .serializer(|()| {
            let body = format!("Action=DescribeRegions&Version={EC2_API_VERSION}");
            let mut request = HttpRequest::new(SdkBody::from(body));
            request.set_method("POST").map_err(|e| e.to_string())?;
            request
                .headers_mut()
                .insert("content-type", "application/x-www-form-urlencoded");
            Ok(request)
        })
        .deserializer(read_answer)
        .build())
}

/// The EC2 endpoint: `AWS_ENDPOINT_URL_EC2` (or the profile's `ec2` section) first, then the
/// endpoint for every service (`--endpoint-url`, `AWS_ENDPOINT_URL`), then the region's
/// public endpoint in its partition.
fn ec2_endpoint(sdk: &SdkConfig, region: &str) -> String {
    let client_config = sdk.get_origin("endpoint_url").is_client_config();
    let service_specific = (!client_config)
        .then(|| sdk.service_config())
        .flatten()
        .and_then(|conf| {
            let key = ServiceConfigKey::builder()
                .service_id("EC2")
                .env("AWS_ENDPOINT_URL")
                .profile("endpoint_url")
                .build()
                .ok()?;
            conf.load_config(key)
        });
    service_specific
        .or_else(|| sdk.endpoint_url().map(str::to_string))
        .unwrap_or_else(|| {
            format!(
                "https://ec2.{region}.{}",
                dns_suffix(partition_of_region(region))
            )
        })
}

/// The DNS suffix of a partition's public endpoints.
fn dns_suffix(partition: &str) -> &'static str {
    match partition {
        "aws-cn" => "amazonaws.com.cn",
        "aws-iso" => "c2s.ic.gov",
        "aws-iso-b" => "sc2s.sgov.gov",
        "aws-eusc" => "amazonaws.eu",
        _ => "amazonaws.com",
    }
}

fn read_answer(response: &HttpResponse) -> Result<Vec<RegionInfo>, OrchestratorError<Ec2Error>> {
    let body = response
        .body()
        .bytes()
        .ok_or_else(|| OrchestratorError::other("DescribeRegions: the answer was streamed"))?;
    let text = std::str::from_utf8(body)
        .map_err(|e| OrchestratorError::other(format!("DescribeRegions: {e}")))?;
    if !response.status().is_success() {
        let meta = parse_error(text).unwrap_or_else(|_| {
            ErrorMetadata::builder()
                .code("UnknownError")
                .message(format!("HTTP status {}", response.status().as_u16()))
                .build()
        });
        return Err(OrchestratorError::operation(Ec2Error(meta)));
    }
    parse_regions(text).map_err(|e| OrchestratorError::other(format!("DescribeRegions: {e}")))
}

/// `<DescribeRegionsResponse><regionInfo><item><regionName>…</regionName>
/// <optInStatus>…</optInStatus></item>…</regionInfo></DescribeRegionsResponse>`
fn parse_regions(text: &str) -> Result<Vec<RegionInfo>, XmlDecodeError> {
    let mut doc = Document::new(text);
    let mut root = doc.root_element()?;
    if !root.start_el().matches("DescribeRegionsResponse") {
        return Err(XmlDecodeError::custom(format!(
            "expected `DescribeRegionsResponse`, found `{}`",
            root.start_el().local()
        )));
    }
    let mut regions = Vec::new();
    while let Some(mut section) = root.next_tag() {
        if !section.start_el().matches("regionInfo") {
            continue;
        }
        while let Some(mut item) = section.next_tag() {
            if !item.start_el().matches("item") {
                continue;
            }
            let mut name = None;
            let mut opt_in_status = None;
            while let Some(mut field) = item.next_tag() {
                if field.start_el().matches("regionName") {
                    name = Some(text_of(&mut field)?);
                } else if field.start_el().matches("optInStatus") {
                    opt_in_status = Some(text_of(&mut field)?);
                }
            }
            let name = name
                .filter(|n| !n.is_empty())
                .ok_or_else(|| XmlDecodeError::custom("a region without `regionName`"))?;
            regions.push(RegionInfo {
                name,
                opt_in_status,
            });
        }
    }
    Ok(regions)
}

/// `<Response><Errors><Error><Code>…</Code><Message>…</Message></Error></Errors>…`
fn parse_error(text: &str) -> Result<ErrorMetadata, XmlDecodeError> {
    let mut doc = Document::new(text);
    let mut meta = ErrorMetadata::builder();
    while let Some(el) = doc.next_start_element() {
        if el.matches("Code") {
            let mut scope = doc.scoped_to(el);
            meta = meta.code(text_of(&mut scope)?);
        } else if el.matches("Message") {
            let mut scope = doc.scoped_to(el);
            meta = meta.message(text_of(&mut scope)?);
        }
    }
    Ok(meta.build())
}

fn text_of(scope: &mut ScopedDecoder<'_, '_>) -> Result<String, XmlDecodeError> {
    try_data(scope).map(Cow::into_owned)
}

/// The partition of a region name (used when an ARN does not tell).
pub fn partition_of_region(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else if region.starts_with("eusc-") {
        "aws-eusc"
    } else {
        "aws"
    }
}

/// The partition of an ARN (`arn:PARTITION:...`).
pub fn partition_of_arn(arn: &str) -> Option<&str> {
    let mut parts = arn.split(':');
    (parts.next()? == "arn").then_some(())?;
    parts.next().filter(|p| !p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions() {
        assert_eq!(partition_of_region("eu-west-1"), "aws");
        assert_eq!(partition_of_region("cn-north-1"), "aws-cn");
        assert_eq!(partition_of_region("us-gov-west-1"), "aws-us-gov");
        assert_eq!(
            partition_of_arn("arn:aws-cn:sts::111122223333:assumed-role/x/y"),
            Some("aws-cn")
        );
        assert_eq!(partition_of_arn("nonsense"), None);
    }

    #[test]
    fn reads_the_regions_of_an_answer() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>
  <regionInfo>
    <item><regionName>us-east-1</regionName><regionEndpoint>ec2.us-east-1.amazonaws.com</regionEndpoint><optInStatus>opt-in-not-required</optInStatus></item>
    <item><regionName>af-south-1</regionName><optInStatus>opted-in</optInStatus></item>
    <item><regionName>eu-west-3</regionName></item>
  </regionInfo>
</DescribeRegionsResponse>"#;
        let got = parse_regions(xml).expect("parses");
        let names: Vec<&str> = got.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["us-east-1", "af-south-1", "eu-west-3"]);
        assert_eq!(got[1].opt_in_status.as_deref(), Some("opted-in"));
        assert_eq!(got[2].opt_in_status, None);
    }

    #[test]
    fn refuses_an_answer_of_another_operation() {
        let err = parse_regions("<GetCallerIdentityResponse/>").expect_err("refused");
        assert!(err.to_string().contains("DescribeRegionsResponse"), "{err}");
        let err = parse_regions(
            "<DescribeRegionsResponse><regionInfo><item><optInStatus>opted-in</optInStatus></item></regionInfo></DescribeRegionsResponse>",
        )
        .expect_err("a region without a name");
        assert!(err.to_string().contains("regionName"), "{err}");
    }

    #[test]
    fn reads_the_code_and_message_of_an_error() {
        let xml = "<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation.</Message></Error></Errors><RequestID>abc</RequestID></Response>";
        let meta = parse_error(xml).expect("parses");
        assert_eq!(meta.code(), Some("UnauthorizedOperation"));
        assert_eq!(
            meta.message(),
            Some("You are not authorized to perform this operation.")
        );
    }

    #[test]
    fn public_endpoints_follow_the_partition() {
        assert_eq!(
            dns_suffix(partition_of_region("cn-northwest-1")),
            "amazonaws.com.cn"
        );
        assert_eq!(
            dns_suffix(partition_of_region("eu-central-1")),
            "amazonaws.com"
        );
        assert_eq!(
            dns_suffix(partition_of_region("us-gov-west-1")),
            "amazonaws.com"
        );
    }
}
