//! keyaki-aws: the only crate that talks to AWS, through the AWS SDK for Rust.
//!
//! - [`collect`]: reads an account (IAM authorization details, KMS keys per region) into
//!   a `keyaki-snapshot/1` snapshot, concurrently and politely; see the module docs.
//! - [`config`]: the SDK configuration (credential chain, profile, endpoint, role).
//! - [`limits`]: the size limit of every answer, per operation.
//! - [`organization`]: the accounts of an organization, each entered through a role and
//!   collected, several at a time; [`accounts`]: the same accounts read again and again by
//!   a long-running process, one kept configuration (and cached credentials) per account.
//! - [`securityhub`]: sends ASFF findings to Security Hub (`BatchImportFindings`).
//!
//! Everything here is async; the binary owns the tokio runtime. The reasoning core and
//! the controls never see the SDK: they get the snapshot.

pub mod accounts;
pub mod collect;
pub mod config;
pub mod events;
pub mod failure;
pub mod limits;
pub mod organization;
pub mod queue;
pub mod securityhub;
pub mod targeted;
/// Fixtures for the tests against the moto emulator (this crate's and the binary's). Always
/// compiled, so that tests and builds share one feature set of this crate; unused code is
/// left out of the binary by the linker.
#[doc(hidden)]
pub mod testing;

pub use collect::{collect, CollectError, CollectOptions, CollectStats, RegionSelection};
