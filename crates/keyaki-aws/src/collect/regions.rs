//! Which regions to collect: the ones asked for, the account's enabled regions
//! (EC2 `DescribeRegions`, opted-in or not requiring opt-in), or the configured default.

use super::error::{CallError, CollectError};

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

pub(crate) async fn enabled_regions(
    client: &aws_sdk_ec2::Client,
) -> Result<Vec<String>, CollectError> {
    let out = client
        .describe_regions()
        .all_regions(false)
        .send()
        .await
        .map_err(|e| CollectError::Regions(CallError::from_sdk("DescribeRegions", e)))?;
    let mut regions: Vec<String> = out
        .regions()
        .iter()
        .filter(|r| {
            matches!(
                r.opt_in_status(),
                None | Some("opt-in-not-required") | Some("opted-in")
            )
        })
        .filter_map(|r| r.region_name().map(str::to_string))
        .collect();
    regions.sort();
    regions.dedup();
    Ok(regions)
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
}
