//! How to reach AWS: the options `collect` and live `scan` share.

use keyaki_aws::collect::{RegionSelection, DEFAULT_MAX_CONCURRENCY};
use std::time::Duration;

use keyaki_aws::config::{AwsOptions, DEFAULT_MAX_ATTEMPTS, DEFAULT_TIMEOUT};
use keyaki_aws::CollectOptions;

/// `--external-id` requires the group `assumes_role`, which each command that flattens these
/// options declares: `--role-arn`, and `--organization` where the command has it.
#[derive(Debug, Clone, clap::Args)]
pub struct AwsArgs {
    /// Named profile from the shared AWS config/credentials files (default: the default
    /// credential chain: environment, files, SSO, web identity, instance metadata).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Region to read KMS keys in; repeat for several (default: the configured region).
    #[arg(long = "region", value_name = "REGION", conflicts_with = "all_regions")]
    pub regions: Vec<String>,
    /// Read KMS keys in every region enabled for the account (EC2 DescribeRegions).
    #[arg(long)]
    pub all_regions: bool,
    /// Send every AWS call to this endpoint (emulators, VPC endpoints); the SDK also
    /// honours AWS_ENDPOINT_URL.
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Assume this role first (the usual way to scan another account).
    #[arg(long, value_name = "ARN")]
    pub role_arn: Option<String>,
    /// External id required by the role's trust policy (`--role-arn`, or each account's
    /// role with `--organization`).
    #[arg(long, value_name = "ID", requires = "assumes_role")]
    pub external_id: Option<String>,
    /// Session name for the assumed role.
    #[arg(
        long,
        value_name = "NAME",
        requires = "role_arn",
        default_value = "keyaki"
    )]
    pub role_session_name: String,
    /// Concurrent KMS calls per region (regions are read in parallel).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CONCURRENCY as u16,
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub max_concurrency: u16,
    /// Attempts per AWS call, retries with backoff included (standard retry mode).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_ATTEMPTS,
          value_parser = clap::value_parser!(u32).range(1..=20))]
    pub max_attempts: u32,
    /// Seconds one attempt of an AWS call may take, connecting included (at most 10 s of
    /// them to connect); a slower attempt fails as a timeout and is retried.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
    /// Read one region after another and IAM before KMS (with `--max-concurrency 1`: one
    /// call at a time, the baseline of the live benchmark).
    #[arg(long)]
    pub sequential: bool,
    /// Print API calls by operation, retries and wall time per phase on stderr.
    #[arg(long)]
    pub stats: bool,
}

impl AwsArgs {
    /// How to reach AWS. `region` is the region of the global calls (`None`: the configured
    /// one); the KMS regions are chosen apart, by [`AwsArgs::collect_options`].
    pub fn aws_options(&self, region: Option<String>) -> AwsOptions {
        AwsOptions {
            profile: self.profile.clone(),
            region,
            endpoint_url: self.endpoint_url.clone(),
            role_arn: self.role_arn.clone(),
            external_id: self.external_id.clone(),
            role_session_name: Some(self.role_session_name.clone()),
            max_attempts: self.max_attempts,
            timeout: Duration::from_secs(self.timeout),
        }
    }

    pub fn collect_options(&self, progress: bool) -> CollectOptions {
        CollectOptions {
            aws: self.aws_options(None),
            regions: if self.all_regions {
                RegionSelection::All
            } else if self.regions.is_empty() {
                RegionSelection::Default
            } else {
                RegionSelection::List(self.regions.clone())
            },
            max_concurrency: usize::from(self.max_concurrency),
            sequential: self.sequential,
            progress,
        }
    }
}

/// Collects a snapshot live, on a runtime of its own; reports progress, the stats when
/// asked, and what could not be read on stderr. Fatal problems are errors (exit 2).
pub fn collect_live(
    global: &super::Global,
    args: &AwsArgs,
) -> anyhow::Result<keyaki_controls::snapshot::Snapshot> {
    use std::io::IsTerminal;

    let progress = !global.quiet && std::io::stderr().is_terminal();
    let opts = args.collect_options(progress);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("could not start the async runtime: {e}"))?;
    let (snapshot, stats) = runtime.block_on(keyaki_aws::collect(&opts))?;
    if args.stats {
        eprintln!("{stats}");
    }
    let unread = keyaki_aws::collect::unread(&snapshot);
    if !global.quiet {
        let keys: usize = snapshot
            .kms
            .as_ref()
            .map(|k| k.values().map(Vec::len).sum())
            .unwrap_or(0);
        let iam = snapshot.iam.as_ref();
        eprintln!(
            "keyaki: collected account {} ({}): {} managed policies, {} users, {} groups, {} roles, {} keys in {} regions, {} API calls in {:.1} s",
            snapshot.account_id,
            snapshot.partition,
            iam.map_or(0, |i| i.policies.len()),
            iam.map_or(0, |i| i.user_detail_list.len()),
            iam.map_or(0, |i| i.group_detail_list.len()),
            iam.map_or(0, |i| i.role_detail_list.len()),
            keys,
            snapshot.regions.len(),
            stats.calls(),
            stats.total.as_secs_f64(),
        );
    }
    if !unread.is_empty() {
        // always said, even with --quiet: these resources will be NOT_AVAILABLE
        eprintln!(
            "keyaki: warning: {} item(s) could not be read (their findings are NOT_AVAILABLE):",
            unread.len()
        );
        for line in &unread {
            eprintln!("  {}", keyaki_report::text::printable(line));
        }
    }
    Ok(snapshot)
}
