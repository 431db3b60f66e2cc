//! KMS.4 — AWS KMS key rotation should be enabled.
//!
//! ## What it checks
//! Customer managed symmetric encryption keys (`KeyManager` `CUSTOMER`, `KeySpec`
//! `SYMMETRIC_DEFAULT`, `Origin` `AWS_KMS`, no `CustomKeyStoreId`): FAILED when automatic
//! rotation is off; PASSED when on, with `RotationPeriodInDays` in the evidence.
//!
//! ## Choices
//! - Keys whose rotation cannot be enabled — AWS managed (rotated by AWS), asymmetric,
//!   HMAC, imported key material (`EXTERNAL`), custom key stores (CloudHSM, external) —
//!   and keys pending deletion (`PendingDeletion`, `PendingReplicaDeletion`) are
//!   NOT_AVAILABLE with reason code `NOT_APPLICABLE`, as Security Hub does; report
//!   writers leave them out of the default table by that code.
//! - Missing or unreadable metadata or rotation status (`GetKeyRotationStatus` denied,
//!   not collected) → NOT_AVAILABLE `READ_ERROR`; a region that could not be read →
//!   NOT_AVAILABLE `REGION_ERROR`. Never PASSED.
//! - A `KeyManager`, `Origin` or `KeySpec` outside the API's values, or another record
//!   that is ambiguous or contradicts the input → NOT_AVAILABLE `INVALID_INPUT`, never
//!   `NOT_APPLICABLE` (which would hide a key that may fail).

use crate::control::{ControlMeta, Schedule};
use crate::finding::{Evidence, Finding, Interner, Severity, Status};
use crate::reason::ReasonCode;

use super::{finding, for_each_key, Context, Control, DataSource};

pub static META: ControlMeta = ControlMeta {
    id: "KMS.4",
    title: "AWS KMS key rotation should be enabled",
    category: "Protect > Data protection > Encryption of data at rest",
    severity: Severity::Medium,
    resource_types: &["AWS::KMS::Key"],
    config_rule: "cmk-backing-key-rotation-enabled",
    config_rule_url: "https://docs.aws.amazon.com/config/latest/developerguide/cmk-backing-key-rotation-enabled.html",
    schedule: Schedule::Periodic,
    parameters: &[],
    related_requirements: &[
        "PCI DSS v3.2.1/3.6.4",
        "CIS AWS Foundations Benchmark v1.2.0/2.8",
        "CIS AWS Foundations Benchmark v1.4.0/3.8",
        "NIST.800-53.r5 SC-12",
        "NIST.800-53.r5 SC-12(2)",
        "NIST.800-53.r5 SC-28(3)",
    ],
    unsupported_regions: &["me-central-1"],
    description: "Checks whether automatic rotation of the backing key (the key material stored in AWS KMS and tied to the key ID) is enabled for customer managed symmetric encryption keys. Rotating encryption keys helps reduce the potential impact of a compromised key, because data encrypted with a new key cannot be accessed with a previous key that might have been exposed. CIS recommends that you enable KMS key rotation.",
    remediation: "Enable automatic rotation: open the AWS KMS console (https://console.aws.amazon.com/kms), choose the Region, choose Customer managed keys, choose the key's alias, choose Key rotation, select \"Automatically rotate this KMS key every year\", then choose Save.",
    remediation_url: "https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html",
};

pub struct Kms4;

impl Control for Kms4 {
    fn meta(&self) -> &'static ControlMeta {
        &META
    }

    fn source(&self) -> DataSource {
        DataSource::Kms
    }

    fn evaluate(&self, ctx: &mut Context<'_>, out: &mut Vec<Finding>) {
        // Key specs, origins and managers, held once for the keys that have each.
        let mut texts = Interner::default();
        for_each_key(ctx, &META, out, |key, resource, m, out| {
            let (Some(spec), Some(origin), Some(manager)) =
                (m.spec(), m.origin.as_deref(), m.key_manager.as_deref())
            else {
                out.push(finding(
                    &META,
                    Status::NotAvailable,
                    resource,
                    ReasonCode::ReadError,
                    format!(
                        "the key metadata at `{}` lacks `KeySpec`, `Origin` or `KeyManager`",
                        key.location
                    ),
                    None,
                ));
                return;
            };
            let (key_spec, key_origin, key_manager) =
                (texts.get(spec), texts.get(origin), texts.get(manager));
            let evidence = |enabled: Option<bool>, period: Option<i64>| Evidence::KeyRotation {
                rotation_enabled: enabled,
                rotation_period_in_days: period,
                key_spec,
                origin: key_origin,
                key_manager,
            };
            let not_applicable = if matches!(
                m.key_state.as_deref(),
                Some("PendingDeletion" | "PendingReplicaDeletion")
            ) {
                Some("the key is pending deletion".to_owned())
            } else if manager != "CUSTOMER" {
                Some(format!(
                    "`{manager}` managed keys are rotated by AWS; rotation cannot be configured"
                ))
            } else if spec != "SYMMETRIC_DEFAULT" {
                Some(format!(
                    "automatic rotation is not supported for `{spec}` keys"
                ))
            } else if origin != "AWS_KMS" {
                Some(format!(
                    "automatic rotation is not supported for keys with origin `{origin}`"
                ))
            } else if m.custom_key_store_id.is_some() {
                Some(
                    "automatic rotation is not supported for keys in a custom key store".to_owned(),
                )
            } else {
                None
            };
            if let Some(why) = not_applicable {
                out.push(finding(
                    &META,
                    Status::NotAvailable,
                    resource,
                    ReasonCode::NotApplicable,
                    format!("not applicable: {why}"),
                    Some(evidence(None, None)),
                ));
                return;
            }
            let rotation = match &key.rotation {
                Ok(Some(r)) => r,
                Ok(None) => {
                    let why = match key.error_for("GetKeyRotationStatus") {
                        Some(e) => {
                            format!("GetKeyRotationStatus failed: {}: {}", e.code, e.message)
                        }
                        None => "the rotation status was not collected".to_owned(),
                    };
                    out.push(finding(
                        &META,
                        Status::NotAvailable,
                        resource,
                        ReasonCode::ReadError,
                        why,
                        None,
                    ));
                    return;
                }
                Err(why) => {
                    out.push(finding(
                        &META,
                        Status::NotAvailable,
                        resource,
                        ReasonCode::ReadError,
                        why.clone(),
                        None,
                    ));
                    return;
                }
            };
            let ev = evidence(
                Some(rotation.key_rotation_enabled),
                rotation.rotation_period_in_days,
            );
            if rotation.key_rotation_enabled {
                let text = match rotation.rotation_period_in_days {
                    Some(days) => format!("automatic rotation is enabled, every {days} days"),
                    None => "automatic rotation is enabled".to_owned(),
                };
                out.push(finding(
                    &META,
                    Status::Passed,
                    resource,
                    ReasonCode::RotationEnabled,
                    text,
                    Some(ev),
                ));
            } else {
                out.push(finding(
                    &META,
                    Status::Failed,
                    resource,
                    ReasonCode::RotationDisabled,
                    "automatic rotation is disabled".into(),
                    Some(ev),
                ));
            }
        });
    }
}
