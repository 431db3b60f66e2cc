//! keyaki-aws: the only crate that talks to AWS, through the AWS SDK for Rust.
//!
//! - [`collect`]: reads an account (IAM authorization details, KMS keys per region) into
//!   a `keyaki-snapshot/1` snapshot, concurrently and politely; see the module docs.
//! - [`config`]: the SDK configuration (credential chain, profile, endpoint, role).
//! - [`securityhub`]: sends ASFF findings to Security Hub (`BatchImportFindings`).
//!
//! Everything here is async; the binary owns the tokio runtime. The reasoning core and
//! the controls never see the SDK: they get the snapshot.

pub mod collect;
pub mod config;
pub mod failure;
pub mod securityhub;
#[cfg(feature = "test-support")]
pub mod testing;

pub use collect::{collect, CollectError, CollectOptions, CollectStats, RegionSelection};
