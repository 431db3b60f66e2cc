//! Exact reasoning over IAM identity policies for the AWS KMS controls.
//!
//! The one question this crate answers: *does an IAM policy allow a KMS action
//! (by default `kms:Decrypt` and `kms:ReEncryptFrom`) on every KMS key?* — the
//! question behind Security Hub controls KMS.1 and KMS.2. The answer is exact
//! (wildcards, `NotAction`, `NotResource`, `Deny`) and carries its evidence.
//!
//! Data flow: policy text → [`Policy`] (parse) → [`Query::analyze`] → [`Analysis`].
//! The crate does no I/O.
//!
//! # Modules
//! - `json`: a JSON reader that keeps byte offsets and rejects duplicate keys.
//! - `model`: [`Policy::parse`] — decoding (percent-encoding, CLI wrappers), validation with
//!   line/column and JSON path in every error, and the compact policy model (all pattern text
//!   of a policy in one arena).
//! - `pattern`: action globs, the compilation of resource patterns to glob tokens under a
//!   reading, short patterns padded.
//! - `universe`: the key ARNs that can exist, as a DFA with realistic completions.
//! - `analysis`: [`Query`] — the decision procedure.
//! - [`eval`]: the plain concrete evaluator used as the oracle in tests.
//! - `condition`: `Condition` blocks — every operator typed ([`Condition`], [`Operator`]) and
//!   checked at parse, and how far a grant reaches under them ([`Scope`]; never a verdict).
//! - `inclusion`: [`check_no_new_access`] — does one policy grant any request (action,
//!   resource) that another does not, for every action and resource, conditions as opaque
//!   predicates shared by both?
//! - `fix`: [`fix_policy`] — narrows the statements that grant a blocked action on all keys to
//!   given keys, and proves the result passes and grants nothing new.
//! - `catalog`: the KMS actions ([`kms_actions`]).
//! - `key_policy`: [`KeyPolicy::parse`] — key policies (resource policies with `Principal`
//!   and their `Condition` blocks), on the same JSON reader.
//! - `public`: [`KeyPolicy::public_access`] — does a key policy let arbitrary principals of
//!   arbitrary accounts call a KMS action (Security Hub KMS.5)? With the statement, a concrete
//!   caller, and what limits every other statement.
//!
//! # The question
//! The universe U is the set of key ARNs that can exist:
//! `arn:<partition>:kms:<region>:<account>:key/<key-id>` with region
//! `[a-z]{2,}(-[a-z]+)+-[1-9][0-9]*` (`us-east-1`, `us-gov-west-1`, `eusc-de-east-1`), account 12
//! digits (or the one account of [`QueryOptions::account`]) and key id a lowercase UUID
//! (`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`) or a multi-Region key id
//! (`mrk-[0-9a-f]{32}`). A policy that grants every key that can exist FAILS, even when it
//! leaves out strings no key can be (`key/*-*` covers every key id). Every witness and
//! counterexample is a member of U. A policy allows action a on ARN r when some Allow statement matches (a, r)
//! and no applicable Deny statement does. A Deny with a non-empty `Condition` is not applicable
//! (it might not hold); an Allow with a `Condition` counts (its scope says how far it reaches:
//! [`ActionResult::scope`]). The policy FAILS when some blocked
//! action is allowed on every ARN of U.
//!
//! # The method
//! Per concrete blocked action the action dimension is fixed, so the statements whose
//! `Action`/`NotAction` match it are selected first (most statements of real policies are not
//! about KMS and drop out here). What remains is a regular-language inclusion:
//! U ⊆ (∪ Allow sets) \ (∪ applicable Deny sets), each set a union of resource globs or the
//! complement of one (`NotResource`).
//!
//! Every resource pattern is compiled to a glob NFA (one position per token; `*` and `?` carry
//! whether they may read a colon). All NFAs of the relevant statements sit side by side in one
//! bitset and step together bit-parallel (shift-and). The alphabet is partitioned: each
//! character literal in some pattern is a symbol of its own, the other characters of key ARNs
//! fall into the classes U's DFA reads alike (e.g. the hex letters `b`–`f` that are no literal
//! of U, the other lowercase letters, `1`–`9`), with one representative each; characters no key
//! ARN contains (uppercase letters, `_`, ...) are no symbol at all. A depth-first search over the
//! product of U's DFA and the NFA subset states, trying digits, then letters, looks for a string
//! of U where the statement combination is "not allowed"; it is the counterexample. If none is reachable, the action is allowed on all keys. Visited states are
//! kept side by side in one arena (no allocation per state). Pruning: positions that can no
//! longer reach acceptance (a policy variable or a character outside the key alphabet lies
//! ahead) are dropped, and a state whose outcome no longer depends on the rest of the string is
//! not expanded (an Allow pattern at a position followed only by `*` with no live Deny:
//! everything below is allowed; no live Allow: nothing below is). Statements whose `Action`
//! cannot match any `kms:` action are set aside when the policy is parsed.
//!
//! Fast path: a dozen realistic key ARNs (real regions of the partition, example accounts, UUID
//! and multi-Region key ids) are run through the same automata first; one that is not allowed
//! settles the action as not allowed on all keys, with a realistic counterexample.
//!
//! Evidence: `statements` are the Allow statements whose own resource set meets U (checked with
//! the candidates, else by a search of that statement alone); a FAILED action's witness is a
//! realistic key of U (all of U is allowed); a PASSED action's counterexample is a refused
//! realistic candidate where one exists, else the refused key the search found (a member of U,
//! completed towards `us-east-1`, `111122223333` and a realistic key id once the rest no longer
//! matters), with a known region of the partition and the preferred account put in where the
//! key stays refused.
//!
//! Bounded work: every search counts product states against [`Budget::max_states`] (per action),
//! checks the clock against [`Budget::max_millis`] (per policy) at every state, and stops at
//! 64 MiB of stored states. Evidence searches run after the decision, on a budget of their own
//! (same state limit, a quarter of the time); one that runs out names its statement anyway.
//! [`Query::analyze_until`] adds a deadline shared by many policies (a scan's time budget),
//! checked at the same places, and says whether it stopped a search. Over budget, the action is
//! undecided (`allowed_on_all_keys: None`, `unknown_reason` says what ran out) and the verdict
//! is UNKNOWN — unless another action is FAILED: that answer is certain, so the verdict is
//! FAILED. An undecided question never yields PASSED.
//!
//! # Readings chosen where AWS is ambiguous
//! Where implementations read a resource pattern differently, Allow with `Resource` and Deny
//! with `NotResource` take the broad reading (the larger set), Deny with `Resource` and Allow
//! with `NotResource` the narrow one, so the allowed set is the largest of the readings and an
//! ambiguity can never turn a possible FAILED into PASSED:
//! - A `*` ending one of the first five ARN segments: AWS documents that it "can expand to match
//!   beyond the colon boundaries", other implementations keep it inside its segment. Broad: it
//!   may cross colons; narrow: it stays in its segment.
//! - A pattern of fewer than six segments: some implementations read it in an identity policy as
//!   padded with `*` segments (`arn:aws:kms` as `arn:aws:kms:*:*:*`). Broad: it matches as
//!   written or padded; narrow: as written.
//! - A wildcard in the resource type (the resource part up to its first `/` or `:`): AWS does
//!   not allow one, and some implementations compare the resource type literally. Broad: a
//!   wildcard; narrow: the literal character, which no key ARN contains.
//! - Letter case in the first five segments: key ARNs have them in lower case, and some
//!   implementations compare them without case. Broad: without case; narrow: with case. The
//!   resource part always compares with case.
//! - A Deny whose `NotResource` holds a short pattern or `${` is not applicable (it may not
//!   apply to a key: a variable's value could name any key), like a Deny with a `Condition`.
//! - Policy variables (`Version` `2012-10-17`): `${aws:username}` and the like are unknown literal
//!   values, never wildcards. Each is one symbol that equals no character of a key ARN, so a
//!   pattern containing one matches no key. This is the exact answer for a principal whose
//!   variable values are no key id, and it cannot widen a Deny (see `NotResource` above); `${*}`, `${?}`, `${$}` are the literal `*`, `?`, `$`. Version
//!   `2008-10-17` (or none) keeps `${...}` as text, where `*` and `?` are wildcards as usual.
//! - A Deny with a non-empty `Condition` is ignored; an empty `Condition` object is no condition.
//! - Unknown policy or statement elements are errors rather than ignored: AWS rejects them, and
//!   a misspelled `Condition` or `Resource` silently ignored could change the answer.

mod analysis;
mod catalog;
mod condition;
mod error;
pub mod eval;
mod fix;
mod glob;
mod inclusion;
mod json;
mod key_policy;
mod model;
mod pattern;
mod public;
mod universe;

pub use analysis::{
    expand_actions, ActionResult, Analysis, Bounded, Budget, Query, QueryOptions, StatementRef,
    Verdict, DEADLINE_REASON,
};
pub use catalog::kms_actions;
pub use condition::{
    block_scope, Condition, ConditionError, ErrorPlace, Operator, OperatorKind, Scope,
    SetQualifier, ValueKind, CALLER_KEYS, SINGLE_VALUED_KEYS,
};
pub use error::{ParseError, ParseErrorKind, QueryError};
pub use fix::{fix_policy, Fix};
pub use glob::Glob;
pub use inclusion::{check_no_new_access, normalize_condition, Inclusion, NewAccess};
pub use key_policy::{
    ConditionEntry, KeyPolicy, KeyStatement, Patterns, PrincipalEntry, PrincipalKind, Principals,
};
pub use model::{Effect, Location, Policy, Statement, MAX_DOCUMENT_BYTES};
pub use public::{Caller, Exposure, GrantRef, KeyContext, Limit, PublicAccess, PINNING_KEYS};
