//! The accounts of an organization as a long-running process reads them again and again
//! (`keyaki watch --organization`): one SDK configuration per account, loaded the first
//! time the account is read and kept. Its credentials — the role assumed in a member
//! account, the caller's own in the caller's account, exactly as
//! [`Plan::options_for`](crate::organization::Plan::options_for) chooses them — are resolved
//! on the first call and cached in it, and refreshed by the SDK's identity cache shortly
//! before they expire; a role that could not be assumed is tried again at the next read.

use std::collections::HashMap;

use aws_config::{Region, SdkConfig};
use keyaki_controls::snapshot::Snapshot;
use keyaki_controls::ReasonCode;

use crate::events::Resource;
use crate::organization::{classify, Organization, Plan};
use crate::targeted::Partial;
use crate::{CollectStats, RegionSelection};

/// Why an account could not be read: the reason code its findings would carry
/// (`ACCOUNT_NOT_ACCESSIBLE` when the role could not be assumed, else
/// `ACCOUNT_READ_ERROR`), one sentence, and the SDK's whole account for `-v`.
#[derive(Debug, Clone)]
pub struct AccountFailure {
    pub code: ReasonCode,
    pub why: String,
    pub detail: Option<String>,
}

/// The organization's chosen accounts and the configuration kept for each.
pub struct OrgAccounts {
    org: Organization,
    plan: Plan,
    configs: HashMap<String, SdkConfig>,
}

impl OrgAccounts {
    pub fn new(org: Organization, plan: Plan) -> OrgAccounts {
        OrgAccounts {
            org,
            plan,
            configs: HashMap::new(),
        }
    }

    /// The organization as last listed.
    pub fn organization(&self) -> &Organization {
        &self.org
    }

    /// How every account is entered and collected.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The organization listed again: the configurations of the accounts still chosen are
    /// kept, the others dropped.
    pub fn update(&mut self, org: Organization) {
        self.configs.retain(|account, _| org.has(account));
        self.org = org;
    }

    /// The configuration of `account`, loaded the first time.
    async fn config(&mut self, account: &str) -> &SdkConfig {
        if !self.configs.contains_key(account) {
            let opts = self.plan.options_for(&self.org, account);
            let config = crate::collect::sdk_config(&opts).await;
            self.configs.insert(account.to_string(), config);
        }
        &self.configs[account]
    }

    /// Collects `account` (the plan's options, with `regions` instead of its own) through
    /// its kept configuration.
    pub async fn collect(
        &mut self,
        account: &str,
        regions: RegionSelection,
    ) -> Result<(Snapshot, CollectStats), AccountFailure> {
        let mut opts = self.plan.options_for(&self.org, account);
        opts.regions = regions;
        let role = opts.aws.role_arn.clone();
        let config = self.config(account).await.clone();
        match crate::collect::collect_with(&config, &opts).await {
            Ok((snapshot, stats)) if snapshot.account_id == account => Ok((snapshot, stats)),
            Ok((snapshot, _)) => Err(AccountFailure {
                code: ReasonCode::AccountNotAccessible,
                why: format!(
                    "the credentials obtained for it act in account `{}`",
                    snapshot.account_id
                ),
                detail: None,
            }),
            Err(e) => {
                let (code, why) = classify(&e, role.as_deref());
                Err(AccountFailure {
                    code,
                    why,
                    detail: e.detail().map(str::to_string),
                })
            }
        }
    }

    /// Reads only the resources `wanted` names in `account` ([`crate::targeted`]) through
    /// its kept configuration: the same role, and the same cached credentials, as
    /// [`OrgAccounts::collect`].
    pub async fn read_resources(
        &mut self,
        account: &str,
        wanted: &[(String, Resource)],
    ) -> Result<Partial, AccountFailure> {
        let opts = self.plan.options_for(&self.org, account);
        let role = opts.aws.role_arn.clone();
        let config = self.config(account).await.clone();
        match crate::targeted::read_with(&config, &opts, wanted).await {
            Ok(partial) if partial.snapshot.account_id == account => Ok(partial),
            Ok(partial) => Err(AccountFailure {
                code: ReasonCode::AccountNotAccessible,
                why: format!(
                    "the credentials obtained for it act in account `{}`",
                    partial.snapshot.account_id
                ),
                detail: None,
            }),
            Err(e) => {
                let (code, why) = classify(&e, role.as_deref());
                Err(AccountFailure {
                    code,
                    why,
                    detail: e.detail().map(str::to_string),
                })
            }
        }
    }

    /// A Security Hub client acting in `account` (through its kept configuration, so its
    /// role's credentials) in `region`.
    pub async fn security_hub(
        &mut self,
        account: &str,
        region: &str,
    ) -> crate::securityhub::Client {
        let config = self
            .config(account)
            .await
            .to_builder()
            .region(Region::new(region.to_string()))
            .build();
        crate::securityhub::client(&config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CollectOptions;

    fn accounts() -> OrgAccounts {
        let org = Organization {
            caller: "111111111111".into(),
            partition: "aws".into(),
            members: ["111111111111", "222222222222"]
                .iter()
                .map(|id| crate::organization::Member {
                    id: (*id).into(),
                    name: None,
                    arn: None,
                })
                .collect(),
            warnings: vec![],
        };
        let plan = Plan {
            collect: CollectOptions::default(),
            role_name: "keyaki-audit".into(),
            external_id: None,
            max_in_flight: 1,
        };
        OrgAccounts::new(org, plan)
    }

    #[test]
    fn a_configuration_is_kept_per_account_while_the_account_is_chosen() {
        let mut a = accounts();
        a.configs
            .insert("222222222222".into(), SdkConfig::builder().build());
        a.configs
            .insert("111111111111".into(), SdkConfig::builder().build());
        let mut org = a.organization().clone();
        org.members.retain(|m| m.id == "111111111111");
        a.update(org);
        assert!(a.configs.contains_key("111111111111"));
        assert!(!a.configs.contains_key("222222222222"));
        assert!(!a.organization().has("222222222222"));
    }
}
