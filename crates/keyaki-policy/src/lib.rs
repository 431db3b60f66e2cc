//! Exact reasoning over IAM identity policies for the AWS KMS controls.
//!
//! The one question this crate answers: *does an IAM policy allow a KMS action
//! (by default `kms:Decrypt` and `kms:ReEncryptFrom`) on every KMS key?* — the
//! question behind Security Hub controls KMS.1 and KMS.2. The answer is exact
//! (wildcards, `NotAction`, `NotResource`, `Deny`) and carries its evidence.
//!
//! Data flow: policy text → [`Policy`] (parse) → [`Query::analyze`] → [`Analysis`].
//! The crate does no I/O.

mod analysis;
mod error;
mod model;

pub use analysis::{ActionResult, Analysis, Budget, Query, QueryOptions, StatementRef, Verdict};
pub use error::{ParseError, QueryError};
pub use model::{Effect, Location, Policy, Statement};
