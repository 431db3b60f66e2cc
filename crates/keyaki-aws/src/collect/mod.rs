//! The live collector: reads what the KMS controls need from an AWS account and
//! returns a `keyaki-snapshot/1` [`Snapshot`].
//!
//! Order of work: STS `GetCallerIdentity` (account id, partition; fails fast on missing
//! credentials or a dead endpoint), the region list, then IAM and every region's KMS
//! keys at the same time (regions in parallel, calls bounded per region). Calls that
//! fail for lack of permission, or a region that cannot be read, are recorded in the
//! snapshot (`Errors`, `regions`) and the collection goes on; the controls turn them
//! into NOT_AVAILABLE findings. When any call failed for another reason, the identity
//! call is repeated at the end: if AWS cannot be reached any more the collection fails
//! as a whole rather than returning an account that looks smaller than it is.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_config::{Region, SdkConfig};
use keyaki_controls::snapshot::{KeyRecord, RegionStatus, Snapshot, FORMAT};

mod error;
mod grants;
mod iam;
pub(crate) mod kms;
mod org_policies;
pub(crate) mod paging;
mod progress;
mod regions;
pub(crate) mod stats;

pub use error::{CallError, CollectError, FailureKind};
pub use iam::{decode_document, name_from_arn};
pub use org_policies::organization_policies;
pub use regions::{partition_of_arn, partition_of_region, RegionSelection};
pub use stats::{CollectStats, OperationCount};

use crate::config::{self, AwsOptions};
use crate::limits::{BodyLimit, NotRetried};
use error::FailureKind as Kind;
use progress::Progress;
use stats::{CallLog, Recorder};

/// Default bound on concurrent KMS calls per region.
pub const DEFAULT_MAX_CONCURRENCY: usize = 8;

/// What to collect and how.
#[derive(Debug, Clone)]
pub struct CollectOptions {
    pub aws: AwsOptions,
    pub regions: RegionSelection,
    /// Concurrent KMS calls per region (at least 1).
    pub max_concurrency: usize,
    /// One region after another, IAM before KMS: the one-call-at-a-time baseline
    /// (with `max_concurrency` 1) that the benchmark compares against.
    pub sequential: bool,
    /// Draw progress bars on stderr.
    pub progress: bool,
}

impl Default for CollectOptions {
    fn default() -> Self {
        CollectOptions {
            aws: AwsOptions::default(),
            regions: RegionSelection::Default,
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
            sequential: false,
            progress: false,
        }
    }
}

/// Collects a snapshot of the account the credentials belong to.
pub async fn collect(opts: &CollectOptions) -> Result<(Snapshot, CollectStats), CollectError> {
    let sdk = sdk_config(opts).await;
    collect_with(&sdk, opts).await
}

/// The SDK configuration a collection with `opts` uses: `opts.aws`, with the first region
/// asked for serving the global calls when none is configured. Credentials are resolved
/// lazily and cached in it (refreshed before they expire): a caller that collects the same
/// account again reuses it with [`collect_with`] instead of assuming its role again.
pub async fn sdk_config(opts: &CollectOptions) -> SdkConfig {
    let mut aws = opts.aws.clone();
    if aws.region.is_none() {
        if let RegionSelection::List(list) = &opts.regions {
            // the first region asked for serves the global calls when nothing else is set
            let probe = config::load(&AwsOptions {
                role_arn: None,
                ..aws.clone()
            })
            .await;
            if probe.region().is_none() {
                aws.region = list.first().cloned();
            }
        }
    }
    config::load(&aws).await
}

/// Where the credentials of an SDK configuration act: the region of its global calls, the
/// account (`GetCallerIdentity`) and its partition.
pub(crate) struct Whoami {
    /// The STS client that asked, to ask again (whether AWS is still there).
    pub sts: aws_sdk_sts::Client,
    pub home: String,
    pub account: String,
    pub partition: String,
}

/// Asks STS who `sdk`'s credentials are, in its region (an error when it has none); the
/// partition from the caller's ARN, else from the region.
pub(crate) async fn whoami(
    sdk: &SdkConfig,
    recorder: &Arc<Recorder>,
) -> Result<Whoami, CollectError> {
    let home = sdk
        .region()
        .map(|r| r.to_string())
        .ok_or(CollectError::NoRegion)?;
    let sts = sts_client(sdk, &home, recorder);
    let identity = caller_identity(&sts)
        .await
        .map_err(CollectError::Identity)?;
    let partition = identity
        .arn
        .as_deref()
        .and_then(partition_of_arn)
        .unwrap_or_else(|| partition_of_region(&home))
        .to_string();
    Ok(Whoami {
        sts,
        home,
        account: identity.account,
        partition,
    })
}

/// Collects a snapshot of the account `sdk`'s credentials act in, with the regions,
/// concurrency and order of `opts` (its `aws` part is already in `sdk`).
pub async fn collect_with(
    sdk: &SdkConfig,
    opts: &CollectOptions,
) -> Result<(Snapshot, CollectStats), CollectError> {
    let started = Instant::now();
    let collected_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let recorder = Arc::new(Recorder::default());
    let mut phases: Vec<(String, Duration)> = Vec::new();

    // --- identity ------------------------------------------------------------------------
    let phase = Instant::now();
    let Whoami {
        sts,
        home,
        account,
        partition,
    } = whoami(sdk, &recorder).await?;
    tracing::info!(account = %account, partition = %partition, "caller identity");
    phases.push(("identity".into(), phase.elapsed()));

    // --- regions ----------------------------------------------------------------------
    let phase = Instant::now();
    let region_list = match &opts.regions {
        RegionSelection::Default => vec![home.clone()],
        RegionSelection::List(list) => distinct_in_order(list),
        RegionSelection::All => {
            regions::enabled_regions(sdk, &home, call_log(&home, &recorder)).await?
        }
    };
    phases.push(("regions".into(), phase.elapsed()));

    // --- IAM and KMS ------------------------------------------------------------------
    let progress = Progress::new(opts.progress, region_list.len() as u64);
    let iam_client = aws_sdk_iam::Client::from_conf(
        aws_sdk_iam::config::Builder::from(sdk)
            .interceptor(call_log("global", &recorder))
            .interceptor(BodyLimit)
            .retry_classifier(NotRetried)
            .build(),
    );
    let iam_phase = async {
        let t = Instant::now();
        progress.message("iam");
        let r = iam::collect(&iam_client).await;
        (r, t.elapsed())
    };
    let kms_phase = async {
        let t = Instant::now();
        let per_region = |region: String| {
            let client = aws_sdk_kms::Client::from_conf(
                aws_sdk_kms::config::Builder::from(sdk)
                    .region(Region::new(region.clone()))
                    .interceptor(call_log(&region, &recorder))
                    .interceptor(BodyLimit)
                    .retry_classifier(NotRetried)
                    .build(),
            );
            let progress = &progress;
            async move {
                let got =
                    kms::collect_region(&client, &region, opts.max_concurrency, progress).await;
                progress.region_done(&region);
                (region, got)
            }
        };
        let results = if opts.sequential {
            let mut out = Vec::new();
            for region in region_list.clone() {
                out.push(per_region(region).await);
            }
            out
        } else {
            futures::future::join_all(region_list.iter().cloned().map(per_region)).await
        };
        (results, t.elapsed())
    };
    let ((iam_result, iam_took), (kms_results, kms_took)) = if opts.sequential {
        let i = iam_phase.await;
        let k = kms_phase.await;
        (i, k)
    } else {
        futures::join!(iam_phase, kms_phase)
    };
    progress.finish();
    let iam_details = iam_result?;
    phases.push(("iam".into(), iam_took));
    phases.push(("kms".into(), kms_took));

    let mut kms_map: BTreeMap<String, Vec<KeyRecord>> = BTreeMap::new();
    let mut region_status: BTreeMap<String, RegionStatus> = BTreeMap::new();
    let mut needs_probe = false;
    for (region, got) in kms_results {
        needs_probe |= got.failures.iter().any(|f| f.kind != Kind::Access);
        kms_map.insert(region.clone(), got.keys);
        region_status.insert(region, got.status);
    }

    // --- still there? -------------------------------------------------------------------
    if needs_probe {
        let phase = Instant::now();
        caller_identity(&sts).await.map_err(CollectError::Lost)?;
        phases.push(("recheck".into(), phase.elapsed()));
    }

    let snapshot = Snapshot {
        format: FORMAT.to_string(),
        account_id: account,
        partition,
        collected_at,
        iam: Some(iam_details),
        kms: Some(kms_map),
        regions: region_status,
        organization_policies: None,
    };
    let stats = CollectStats {
        operations: recorder.snapshot(),
        phases,
        total: started.elapsed(),
    };
    Ok((snapshot, stats))
}

/// One line per thing that could not be read (region, key, IAM), for the summary.
pub fn unread(snapshot: &Snapshot) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(iam) = &snapshot.iam {
        for e in &iam.errors {
            out.push(format!("iam: {}: {}: {}", e.operation, e.code, e.message));
        }
    }
    for (region, status) in &snapshot.regions {
        if let RegionStatus::Error { code, message } = status {
            out.push(format!("region `{region}`: {code}: {message}"));
        }
    }
    if let Some(kms) = &snapshot.kms {
        for (region, keys) in kms {
            for key in keys {
                let name = key
                    .key_metadata
                    .as_ref()
                    .and_then(|m| m.get("Arn").or_else(|| m.get("KeyId")))
                    .and_then(|v| v.as_str())
                    .or(key.key_arn.as_deref())
                    .unwrap_or("unknown key");
                for e in &key.errors {
                    out.push(format!(
                        "key `{name}` ({region}): {}: {}: {}",
                        e.operation, e.code, e.message
                    ));
                }
            }
        }
    }
    out
}

pub(crate) struct Identity {
    pub(crate) account: String,
    pub(crate) arn: Option<String>,
}

pub(crate) async fn caller_identity(sts: &aws_sdk_sts::Client) -> Result<Identity, CallError> {
    let out = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| CallError::from_sdk("GetCallerIdentity", e))?;
    let account = out.account().map(str::to_string).ok_or_else(|| {
        CallError::new(
            "GetCallerIdentity",
            "MissingAccount",
            "the response carries no account id",
            Kind::Service,
        )
    })?;
    Ok(Identity {
        account,
        arn: out.arn().map(str::to_string),
    })
}

pub(crate) fn sts_client(
    sdk: &SdkConfig,
    region: &str,
    recorder: &Arc<Recorder>,
) -> aws_sdk_sts::Client {
    aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::config::Builder::from(sdk)
            .interceptor(call_log(region, recorder))
            .interceptor(BodyLimit)
            .retry_classifier(NotRetried)
            .build(),
    )
}

pub(crate) fn call_log(region: &str, recorder: &Arc<Recorder>) -> CallLog {
    CallLog {
        region: region.to_string(),
        recorder: Arc::clone(recorder),
    }
}

/// The regions of `list` in the order given, each once (`--region a --region b --region a`
/// reads `a` once).
fn distinct_in_order(list: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    list.iter()
        .filter(|region| seen.insert(region.as_str()))
        .cloned()
        .collect()
}

#[cfg(test)]
mod region_list_tests {
    use super::distinct_in_order;

    #[test]
    fn a_region_given_twice_is_read_once_in_its_first_place() {
        let given: Vec<String> = [
            "eu-west-1",
            "us-east-1",
            "eu-west-1",
            "us-east-1",
            "ap-south-1",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            distinct_in_order(&given),
            ["eu-west-1", "us-east-1", "ap-south-1"]
                .map(String::from)
                .to_vec()
        );
    }
}
