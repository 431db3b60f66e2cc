//! The AWS Security Hub KMS controls (KMS.1–KMS.4) over an account snapshot.
//!
//! Data flow: [`snapshot::Snapshot`] (or a bare `GetAccountAuthorizationDetails`
//! document) → [`evaluate`] with the [`registry`] of controls → [`finding::Finding`]s
//! in a [`finding::ScanReport`]. The crate does no I/O beyond what its caller hands it.

pub mod control;
pub mod finding;
pub mod snapshot;
