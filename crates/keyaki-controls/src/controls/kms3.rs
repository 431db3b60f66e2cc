//! KMS.3 — AWS KMS keys should not be deleted unintentionally.
//!
//! ## What it checks
//! Every KMS key (customer and AWS managed): FAILED when its `KeyState` is
//! `PendingDeletion`, with the `DeletionDate` in the evidence; PASSED otherwise.
//!
//! ## Choices
//! - `PendingReplicaDeletion` (a multi-Region primary key whose deletion was scheduled
//!   and that waits for its replica keys to be deleted) is FAILED too, with reason code
//!   `KEY_PENDING_REPLICA_DELETION`: its deletion has been scheduled and will follow,
//!   and it can still be cancelled — exactly what the control wants to catch.
//! - A key without readable metadata (`DescribeKey` failed, a malformed record) is
//!   NOT_AVAILABLE `READ_ERROR`; a record that is ambiguous or contradicts the input (a
//!   key written twice, a `KeyState` outside the API's values such as `pendingdeletion`,
//!   an ARN of another region or account) is NOT_AVAILABLE `INVALID_INPUT`; a region that
//!   could not be read gets one NOT_AVAILABLE `REGION_ERROR` finding for all its keys.

use crate::control::{ControlMeta, Schedule};
use crate::finding::{Evidence, Finding, Interner, Severity, Status};
use crate::reason::ReasonCode;

use super::{finding, for_each_key, Context, Control, DataSource};

pub static META: ControlMeta = ControlMeta {
    id: "KMS.3",
    title: "AWS KMS keys should not be deleted unintentionally",
    category: "Protect > Data protection > Data deletion protection",
    severity: Severity::Critical,
    resource_types: &["AWS::KMS::Key"],
    config_rule: "kms-cmk-not-scheduled-for-deletion",
    config_rule_url: "https://docs.aws.amazon.com/config/latest/developerguide/kms-cmk-not-scheduled-for-deletion.html",
    schedule: Schedule::Periodic,
    parameters: &[],
    related_requirements: &["NIST.800-53.r5 SC-12", "NIST.800-53.r5 SC-12(2)"],
    unsupported_regions: &["ap-northeast-3", "eu-south-1"],
    description: "Checks whether KMS keys are scheduled for deletion. The control fails if a KMS key is scheduled for deletion. KMS keys cannot be recovered once deleted, and data encrypted under a deleted KMS key is permanently unrecoverable. During the mandatory waiting period (7 to 30 days, 30 by default) the scheduled deletion can be canceled.",
    remediation: "Cancel the scheduled key deletion unless you are intentionally performing a cryptographic erasure: see \"To cancel key deletion\" under \"Scheduling and canceling key deletion (console)\" in the AWS Key Management Service Developer Guide.",
    remediation_url: "https://docs.aws.amazon.com/kms/latest/developerguide/deleting-keys.html#deleting-keys-scheduling-key-deletion",
};

pub struct Kms3;

impl Control for Kms3 {
    fn meta(&self) -> &'static ControlMeta {
        &META
    }

    fn source(&self) -> DataSource {
        DataSource::Kms
    }

    fn evaluate(&self, ctx: &mut Context<'_>, out: &mut Vec<Finding>) {
        // The states, held once for the keys in each.
        let mut states = Interner::default();
        for_each_key(ctx, &META, out, |key, resource, metadata, out| {
            let Some(state) = metadata.key_state.as_deref() else {
                out.push(finding(
                    &META,
                    Status::NotAvailable,
                    resource,
                    ReasonCode::ReadError,
                    format!("the key metadata at `{}` has no `KeyState`", key.location),
                    None,
                ));
                return;
            };
            let evidence = Evidence::KeyDeletion {
                key_state: states.get(state),
                deletion_date: metadata.deletion_date_rfc3339(),
                pending_deletion_window_in_days: metadata.pending_deletion_window_in_days,
            };
            let (status, code, text) = match state {
                "PendingDeletion" => (
                    Status::Failed,
                    ReasonCode::KeyPendingDeletion,
                    match metadata.deletion_date_rfc3339() {
                        Some(date) => format!("the key is scheduled for deletion on {date}"),
                        None => "the key is scheduled for deletion".to_owned(),
                    },
                ),
                "PendingReplicaDeletion" => (
                    Status::Failed,
                    ReasonCode::KeyPendingReplicaDeletion,
                    match metadata.pending_deletion_window_in_days {
                        Some(days) => format!("the key is scheduled for deletion {days} days after its replica keys are deleted"),
                        None => "the key is scheduled for deletion after its replica keys are deleted".to_owned(),
                    },
                ),
                other => (
                    Status::Passed,
                    ReasonCode::KeyNotPendingDeletion,
                    format!("the key is not scheduled for deletion (state `{other}`)"),
                ),
            };
            out.push(finding(&META, status, resource, code, text, Some(evidence)));
        });
    }
}
