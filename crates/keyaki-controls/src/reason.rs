//! The reason codes of findings (`Finding.reason.code`): stable, machine-readable, written
//! as their SCREAMING_SNAKE_CASE names in every output.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! reason_codes {
    ($($(#[doc = $doc:literal])* $variant:ident = $name:literal,)*) => {
        /// Why a finding has its status.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum ReasonCode {
            $($(#[doc = $doc])* #[serde(rename = $name)] $variant,)*
        }

        impl ReasonCode {
            /// Every reason code, in the order they are documented.
            pub const ALL: &'static [ReasonCode] = &[$(ReasonCode::$variant,)*];

            /// The code as written in the outputs (`READ_ERROR`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ReasonCode::$variant => $name,)*
                }
            }

            /// What the code means, as documented.
            pub fn description(self) -> &'static str {
                match self {
                    $(ReasonCode::$variant => concat!($($doc),*).trim(),)*
                }
            }

            /// The code written as `name`, if there is one.
            pub fn parse(name: &str) -> Option<ReasonCode> {
                match name {
                    $($name => Some(ReasonCode::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

reason_codes! {
    /// A blocked action is allowed on all KMS keys (KMS.1, KMS.2).
    AllowsBlockedActionsOnAllKeys = "ALLOWS_BLOCKED_ACTIONS_ON_ALL_KEYS",
    /// No blocked action is allowed on all KMS keys (KMS.1, KMS.2).
    NoBlockedActionsOnAllKeys = "NO_BLOCKED_ACTIONS_ON_ALL_KEYS",
    /// The principal has no inline policy (KMS.2).
    NoInlinePolicies = "NO_INLINE_POLICIES",
    /// The reasoning core could not decide within its budget (KMS.5: a statement is open to
    /// arbitrary principals, but no caller was found that its conditions let in).
    Undecided = "UNDECIDED",
    /// The scan's time budget (`--budget`) ran out before the policy was decided.
    ScanBudgetExhausted = "SCAN_BUDGET_EXHAUSTED",
    /// A policy document could not be parsed.
    PolicyParseError = "POLICY_PARSE_ERROR",
    /// KMS.1: the policy is a permissions boundary and `excludePermissionBoundaryPolicy` is true.
    ExcludedPermissionsBoundary = "EXCLUDED_PERMISSIONS_BOUNDARY",
    /// The control does not apply to the resource (KMS.4: rotation cannot be enabled, or the
    /// key is pending deletion). Kept out of the default table.
    NotApplicable = "NOT_APPLICABLE",
    /// The resource's data could not be read (API error, malformed input element).
    ReadError = "READ_ERROR",
    /// The resource's input element is ambiguous or contradicts the input: a key written
    /// twice, a value outside the API's enumeration, an ARN of another partition, region,
    /// account or key, an ambiguous default policy version, an unreadable `Errors` list.
    InvalidInput = "INVALID_INPUT",
    /// The region could not be read.
    RegionError = "REGION_ERROR",
    /// KMS.3: the key is scheduled for deletion.
    KeyPendingDeletion = "KEY_PENDING_DELETION",
    /// KMS.3: the key is a multi-Region primary waiting for its replicas to be deleted.
    KeyPendingReplicaDeletion = "KEY_PENDING_REPLICA_DELETION",
    /// KMS.3: the key is not scheduled for deletion.
    KeyNotPendingDeletion = "KEY_NOT_PENDING_DELETION",
    /// KMS.4: automatic rotation is enabled.
    RotationEnabled = "ROTATION_ENABLED",
    /// KMS.4: automatic rotation is disabled.
    RotationDisabled = "ROTATION_DISABLED",
    /// KMS.5: the key policy allows a KMS action to arbitrary principals of arbitrary
    /// accounts, and no condition pins them to known accounts, organisations or VPC endpoints.
    KeyPolicyPublic = "KEY_POLICY_PUBLIC",
    /// KMS.5: every statement of the key policy that allows a KMS action is limited to known
    /// principals, pinned by a condition, or restricted by a Deny.
    KeyPolicyNotPublic = "KEY_POLICY_NOT_PUBLIC",
    /// Before deploy: the finding depends on values not known before deploy.
    UnresolvedValue = "UNRESOLVED_VALUE",
    /// Organization scans: the account could not be entered (the role named by
    /// `--role-name` could not be assumed in it: missing, not trusting the caller, or
    /// refused), so none of its resources were read.
    AccountNotAccessible = "ACCOUNT_NOT_ACCESSIBLE",
    /// Organization scans: the account was entered but could not be read (its identity,
    /// region list or IAM could not be read, or AWS stopped answering during its
    /// collection), so none of its resources were evaluated.
    AccountReadError = "ACCOUNT_READ_ERROR",
}

impl ReasonCode {
    /// Whether the code says the control does not apply to the resource (such findings are
    /// NOT_AVAILABLE and stay out of the default table).
    pub fn is_not_applicable(self) -> bool {
        matches!(
            self,
            ReasonCode::NotApplicable | ReasonCode::ExcludedPermissionsBoundary
        )
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for ReasonCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<str> for ReasonCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

#[cfg(test)]
mod tests {
    use super::ReasonCode;

    #[test]
    fn every_code_reads_back_from_its_name_and_json() {
        for &code in ReasonCode::ALL {
            assert_eq!(ReasonCode::parse(code.as_str()), Some(code));
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{code}\""));
            assert_eq!(serde_json::from_str::<ReasonCode>(&json).unwrap(), code);
        }
        assert_eq!(ReasonCode::parse("read_error"), None);
        assert!(serde_json::from_str::<ReasonCode>("\"NO_SUCH_CODE\"").is_err());
    }
}
