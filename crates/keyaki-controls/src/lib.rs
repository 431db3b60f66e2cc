//! The AWS Security Hub KMS controls (KMS.1–KMS.5) over an account snapshot.
//!
//! Data flow, one module per step:
//! 1. [`input`]: JSON text → [`input::AccountInput`]. A keyaki snapshot
//!    (`keyaki-snapshot/1`, [`snapshot`]) or a bare `GetAccountAuthorizationDetails`
//!    document, detected from the content. Elements are read one by one, so that a
//!    malformed user, policy or key becomes a NOT_AVAILABLE finding and an input
//!    problem, never a failed file.
//! 2. [`params`]: control parameters (`blockedActionsPatterns`,
//!    `excludePermissionBoundaryPolicy`) and the selection of controls, from defaults,
//!    a TOML file and the command line.
//! 3. [`evaluate()`]: every selected control of the [`registry`] (one module per control in
//!    [`controls`], metadata next to logic) appends one [`finding::Finding`] per
//!    resource; the result is a [`finding::ScanReport`] (the `--format json` schema).
//!    KMS.1 and KMS.2 ask the reasoning core (`keyaki-policy`) with one compiled
//!    question each; the documents are judged on all cores, within the scan's time
//!    budget ([`Parameters::deadline`]).
//! 4. [`docs`]: the controls page, generated from the registry.
//!
//! The crate does no I/O: callers read files and hand over their text.
//!
//! Rules every control follows: severity is the control's, INFORMATIONAL when PASSED;
//! anything that could not be read or decided is NOT_AVAILABLE with a reason code
//! (`READ_ERROR`, `INVALID_INPUT`, `REGION_ERROR`, `POLICY_PARSE_ERROR`, `UNDECIDED`,
//! `SCAN_BUDGET_EXHAUSTED`), never PASSED;
//! resources a control does not apply to are NOT_AVAILABLE with reason code
//! `NOT_APPLICABLE` (or `EXCLUDED_PERMISSIONS_BOUNDARY` for KMS.1), see
//! [`finding::Finding::is_not_applicable`].

pub mod account;
pub mod control;
pub mod controls;
pub mod docs;
mod evaluate;
pub mod finding;
pub mod input;
pub mod params;
pub mod reason;
pub mod registry;
pub mod snapshot;
mod strict;

/// Who can use a key: `keyaki access` (pure, over an [`AccountInput`]).
pub mod access;

pub use evaluate::{
    evaluate, evaluate_at, evaluate_owned, evaluate_owned_at, evaluate_staged, evaluate_staged_at,
    EvaluateError, ScanError,
};
pub use finding::PolicyVerdict;
pub use input::{AccountInput, InputError, StagedAccount};
pub use params::Parameters;
pub use reason::ReasonCode;
