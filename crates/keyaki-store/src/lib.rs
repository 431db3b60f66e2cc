//! The keyaki findings store: every scan recorded in SQLite, one finding per (control,
//! resource) with Security Hub's lifecycle, and suppressions as code.
//!
//! Data flow: a [`ScanReport`](keyaki_controls::finding::ScanReport) from the controls →
//! [`Suppressions::apply`] marks the findings a rule suppresses (with or without a store) →
//! [`Store::record_scan`] writes the run, updates each finding's workflow and record state
//! ([`lifecycle`], pure), archives what a complete scan no longer sees, and keeps every
//! change as history — all in one transaction.
//!
//! - [`store`]: the SQLite store (WAL, busy timeout, one `BEGIN IMMEDIATE` transaction per
//!   scan, so concurrent scans serialize and a scan killed mid-write leaves nothing).
//! - [`schema`]: versioned migrations (`PRAGMA user_version`); a newer store is refused.
//! - [`lifecycle`]: the workflow / record-state rules, without I/O.
//! - [`suppress`]: the TOML suppression rules and their application.
//! - [`Glob`] (from `keyaki-policy`): the ARN pattern language (`*`, `?`).
//! - [`location`]: the default store path.
//!
//! Finding ids are [`keyaki_controls::finding::finding_id`]: the same id the ASFF output
//! and the Security Hub export use.

pub mod error;
pub mod lifecycle;
pub mod location;
mod record;
pub mod schema;
pub mod store;
pub mod suppress;

pub use error::{StoreError, SuppressionError};
pub use keyaki_policy::Glob;
pub use location::{default_path, ENV_DB};
pub use store::{
    Diff, DiffEntry, Filter, GoneResource, HistoryEntry, PartialScope, RunFailures, RunInfo,
    RunRecord, RunSummary, Store, StoredFinding, WorkflowUpdate, SCAN_ACTOR,
};
pub use suppress::{
    is_suppressed, RuleOutcome, RuleState, SuppressionReport, Suppressions, DEFAULT_FILE,
};
