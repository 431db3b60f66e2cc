//! The decision procedure: for each concrete blocked action, is every key ARN of the universe
//! allowed? See the crate docs for the method.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::time::Instant;

use crate::catalog::kms_actions;
use crate::condition::{block_scope, Condition, Scope};
use crate::model::Effect;
use crate::pattern::{
    action_matches, compile_resource, padded, sure_in_not_resource, Reading, Tok,
};
use crate::universe::{known_regions, Universe, EXAMPLE_ACCOUNT, KEY_IDS, OTHER_ACCOUNT};
use crate::{Policy, QueryError, Statement};

/// Limits on the work one question may take; past them the verdict is [`Verdict::Unknown`].
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Product-automaton states explored per action.
    pub max_states: usize,
    /// Wall-clock limit per policy: a backstop only. The state limit is what bounds the
    /// work deterministically, so that a loaded machine does not turn answers into UNKNOWN.
    pub max_millis: u64,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            max_states: 200_000,
            max_millis: 5_000,
        }
    }
}

#[derive(Debug, Clone)]
pub struct QueryOptions {
    /// Blocked action patterns, e.g. `kms:Decrypt`, `kms:ReEncrypt*`.
    pub actions: Vec<String>,
    /// Narrow the key universe to one account's keys (all regions).
    pub account: Option<String>,
    /// The partition of the key ARNs (`aws`, `aws-cn`, `aws-us-gov`, ...).
    pub partition: String,
    pub budget: Budget,
}

impl Default for QueryOptions {
    fn default() -> Self {
        QueryOptions {
            actions: vec!["kms:Decrypt".into(), "kms:ReEncryptFrom".into()],
            account: None,
            partition: "aws".into(),
            budget: Budget::default(),
        }
    }
}

/// A compiled question, asked of many policies.
#[derive(Debug, Clone)]
pub struct Query {
    options: QueryOptions,
    /// The concrete KMS actions the patterns expand to.
    actions: Vec<String>,
    universe: Universe,
    /// Realistic key ARNs of the universe, tried first as witnesses and counterexamples:
    /// `arn_prefix`, a region of `regions`, `:`, an account of `accounts`, `:key/`, a key
    /// id of [`KEY_IDS`] (key id, then account, then region order).
    candidates: Vec<String>,
    arn_prefix: String,
    /// Real regions of the partition, the first preferred.
    regions: &'static [&'static str],
    /// The chosen account, or two example accounts.
    accounts: Vec<String>,
    /// Try the realistic candidates before the automaton search (on by default).
    shortcuts: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    /// No blocked action is allowed on all keys.
    Passed,
    /// Some blocked action is allowed on all keys.
    Failed,
    /// The question could not be decided within the budget.
    Unknown,
}

/// A statement named as evidence.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StatementRef {
    pub index: usize,
    pub sid: Option<String>,
    /// The positions of the entries of the statement's `Action` (or `NotAction`) element
    /// that match the action: the entries that grant it (for `NotAction`, none, which is
    /// why the statement grants).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub action_entries: Vec<usize>,
    /// The positions of the entries of `Resource` (or `NotResource`) that match the witness
    /// key (without a witness: the entries `*`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_entries: Vec<usize>,
}

impl StatementRef {
    /// A statement named without saying which of its entries matched.
    pub fn new(index: usize, sid: Option<String>) -> StatementRef {
        StatementRef {
            index,
            sid,
            action_entries: Vec::new(),
            resource_entries: Vec::new(),
        }
    }
}

/// The answer for one concrete blocked action.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ActionResult {
    pub action: String,
    /// `None` when undecided (over budget).
    pub allowed_on_all_keys: Option<bool>,
    /// The Allow statements that grant the action (on some key).
    pub statements: Vec<StatementRef>,
    /// A key ARN the policy allows (always present when FAILED).
    pub witness: Option<String>,
    /// A key ARN of the universe the policy does not allow (always present when PASSED).
    pub counterexample: Option<String>,
    /// Why the action is undecided.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub unknown_reason: Option<String>,
    /// How far the grant reaches when the action is allowed on all keys (`None` otherwise):
    /// the widest scope of the granting statements ([`Scope`]). Never changes the verdict.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub scope: Option<Scope>,
    /// When the action is allowed on all keys under conditions: one entry per granting
    /// statement with a `Condition` block, its tests (normalised) joined with ` and `; the
    /// action is allowed when any one entry holds. Empty when unconditional.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub conditions: Vec<String>,
    /// What limits the grant, as people read it (`only via s3.us-east-1.amazonaws.com`),
    /// when the scope is not unconditional.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub limit: Option<String>,
}

impl ActionResult {
    /// Fills [`ActionResult::scope`], [`ActionResult::conditions`] and
    /// [`ActionResult::limit`] from the granting statements of an action allowed on all keys.
    ///
    /// Several statements granting the action: the widest scope (an unconditional one makes
    /// the action unconditional). Several tests in one statement: the narrowest
    /// ([`crate::block_scope`]). A statement named without its conditions read (none named
    /// at all) counts as unconditional: the scope is never narrower than the grant.
    fn describe_scope(&mut self, policy: &Policy) {
        if self.allowed_on_all_keys != Some(true) {
            return;
        }
        let statements: Vec<&Statement> = self
            .statements
            .iter()
            .filter_map(|r| policy.statements.get(r.index))
            .collect();
        // A granting statement without conditions makes the action unconditional: no
        // condition block needs to be read (the common case).
        if statements.len() < self.statements.len()
            || statements.is_empty()
            || statements.iter().any(|s| !s.has_condition)
        {
            self.scope = Some(Scope::Unconditional);
            return;
        }
        let granting: Vec<Vec<Condition>> =
            statements.into_iter().map(Statement::conditions).collect();
        let scope = if granting.is_empty() {
            Scope::Unconditional
        } else {
            granting
                .iter()
                .map(|c| block_scope(c))
                .max()
                .unwrap_or(Scope::Unconditional)
        };
        self.scope = Some(scope);
        if scope == Scope::Unconditional {
            return;
        }
        for s in &granting {
            let text = s
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(" and ");
            if !text.is_empty() && !self.conditions.contains(&text) {
                self.conditions.push(text);
            }
        }
        self.limit = Some(match scope {
            Scope::Service => {
                let mut services: Vec<&str> = Vec::new();
                for c in granting.iter().flatten() {
                    for v in c.services() {
                        if !services.contains(&v.as_str()) {
                            services.push(v);
                        }
                    }
                }
                format!("only via {}", services.join(", "))
            }
            Scope::Caller => format!("only for pinned callers: {}", self.conditions.join(" or ")),
            Scope::Context => format!(
                "only with an encryption context: {}",
                self.conditions.join(" or ")
            ),
            _ => format!("only if {}", self.conditions.join(" or ")),
        });
    }
}

/// The answer for one policy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Analysis {
    pub verdict: Verdict,
    pub actions: Vec<ActionResult>,
}

/// The answer of [`Query::analyze_until`]: the analysis, and whether the deadline stopped any
/// of its searches (then an undecided action may be decided with more time, and a statement
/// named as evidence may have been named without its search finishing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounded {
    pub analysis: Analysis,
    pub deadline_reached: bool,
}

/// `unknown_reason` of an action whose search the deadline of [`Query::analyze_until`] stopped.
pub const DEADLINE_REASON: &str = "over budget: the time given to the whole scan ran out";

/// Expands blocked-action patterns against the KMS catalogue (catalogue order, no repeats).
pub fn expand_actions(patterns: &[String]) -> Result<Vec<String>, QueryError> {
    if patterns.is_empty() {
        return Err(QueryError::NoSuchAction(String::new()));
    }
    let mut picked = vec![false; kms_actions().len()];
    for p in patterns {
        let mut any = false;
        for (i, a) in kms_actions().iter().enumerate() {
            if action_matches(p, a) {
                picked[i] = true;
                any = true;
            }
        }
        if !any {
            return Err(QueryError::NoSuchAction(p.clone()));
        }
    }
    Ok(kms_actions()
        .iter()
        .zip(picked)
        .filter(|(_, p)| *p)
        .map(|(a, _)| a.to_string())
        .collect())
}

impl Query {
    pub fn new(options: QueryOptions) -> Result<Query, QueryError> {
        let p = &options.partition;
        if p.is_empty()
            || p.len() > 64
            || !p
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(QueryError::BadPartition(p.clone()));
        }
        if let Some(a) = &options.account {
            if a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()) {
                return Err(QueryError::BadAccount(a.clone()));
            }
        }
        let actions = expand_actions(&options.actions)?;
        let universe = Universe::new(p, options.account.as_deref());
        let accounts: Vec<String> = match &options.account {
            Some(a) => vec![a.clone()],
            None => vec![EXAMPLE_ACCOUNT.into(), OTHER_ACCOUNT.into()],
        };
        let arn_prefix = format!("arn:{p}:kms:");
        let regions = known_regions(p);
        let mut candidates = Vec::new();
        for k in KEY_IDS {
            for a in &accounts {
                for r in regions {
                    candidates.push(format!("{arn_prefix}{r}:{a}:key/{k}"));
                }
            }
        }
        Ok(Query {
            arn_prefix,
            regions,
            accounts,
            actions,
            options,
            universe,
            candidates,
            shortcuts: true,
        })
    }

    pub fn options(&self) -> &QueryOptions {
        &self.options
    }

    /// The concrete KMS actions asked about.
    pub fn actions(&self) -> &[String] {
        &self.actions
    }

    /// Turns the realistic-candidate shortcut off (or on), so that every answer comes from the
    /// automaton search alone. Answers are the same either way; this exists for testing.
    #[doc(hidden)]
    pub fn set_shortcuts(&mut self, on: bool) {
        self.shortcuts = on;
    }

    /// Is `arn` a key ARN of this query's universe?
    pub fn in_universe(&self, arn: &str) -> bool {
        self.universe.accepts(arn)
    }

    pub fn analyze(&self, policy: &Policy) -> Analysis {
        self.analyze_bounded(policy, None).analysis
    }

    /// [`Query::analyze`] that also stops every search at `deadline` (a time shared by many
    /// policies, such as a scan's): an action whose decision it stops is undecided, with
    /// [`DEADLINE_REASON`]. What is decided before it is exact, as without a deadline; a
    /// decision that needs no search (a realistic key that is refused) is still made after it.
    pub fn analyze_until(&self, policy: &Policy, deadline: Instant) -> Bounded {
        self.analyze_bounded(policy, Some(deadline))
    }

    fn analyze_bounded(&self, policy: &Policy, deadline: Option<Instant>) -> Bounded {
        let start = Instant::now();
        let mut deadline_reached = false;
        // Actions about which the same statements speak get the same answer: asked once.
        let mut asked: Vec<(Vec<usize>, usize)> = Vec::new();
        let mut actions: Vec<ActionResult> = Vec::with_capacity(self.actions.len());
        for action in &self.actions {
            let relevant = relevant_statements(policy, action);
            let key: Vec<usize> = relevant.iter().map(|s| s.index).collect();
            let result = match asked.iter().find(|(k, _)| *k == key) {
                Some(&(_, earlier)) => ActionResult {
                    action: action.clone(),
                    ..actions[earlier].clone()
                },
                None => {
                    asked.push((key, actions.len()));
                    let (mut result, stopped) =
                        self.analyze_action(policy, &relevant, action, start, deadline);
                    deadline_reached |= stopped;
                    result.describe_scope(policy);
                    result
                }
            };
            actions.push(result);
        }
        let verdict = if actions.iter().any(|r| r.allowed_on_all_keys == Some(true)) {
            Verdict::Failed
        } else if actions.iter().any(|r| r.allowed_on_all_keys.is_none()) {
            Verdict::Unknown
        } else {
            Verdict::Passed
        };
        Bounded {
            analysis: Analysis { verdict, actions },
            deadline_reached,
        }
    }

    /// One action's answer, and whether `deadline` stopped one of its searches.
    fn analyze_action(
        &self,
        policy: &Policy,
        relevant: &[&Statement],
        action: &str,
        start: Instant,
        deadline: Option<Instant>,
    ) -> (ActionResult, bool) {
        let mut result = ActionResult {
            action: action.to_string(),
            allowed_on_all_keys: None,
            statements: Vec::new(),
            witness: None,
            counterexample: None,
            unknown_reason: None,
            scope: None,
            conditions: Vec::new(),
            limit: None,
        };
        if !relevant.iter().any(|s| s.effect == Effect::Allow) {
            result.allowed_on_all_keys = Some(false);
            result.counterexample = self.candidates.first().cloned();
            return (result, false);
        }
        let machine = Machine::new(policy, relevant, &self.universe);
        let mut work = Work {
            states: 0,
            max_states: self.options.budget.max_states,
            start,
            max_millis: self.options.budget.max_millis,
            deadline,
            deadline_reached: false,
        };
        // The realistic candidates, run through the automata when first needed.
        let mut runs = CandidateRuns::new(self, &machine);
        let candidates = if self.shortcuts {
            self.candidates.len()
        } else {
            0
        };

        // A realistic key that is not allowed settles the question at once.
        let refused =
            (0..candidates).find(|&c| runs.get(c).is_some_and(|acc| !machine.allowed(acc)));
        if let Some(c) = refused {
            result.allowed_on_all_keys = Some(false);
            result.counterexample = Some(self.candidates[c].clone());
        } else if self.shortcuts && self.covered_by_one_pattern(policy, relevant, deadline) {
            result.allowed_on_all_keys = Some(true);
            result.witness = self.candidates.first().cloned();
        } else {
            self.decide(&machine, &mut runs, &mut result, &mut work);
        }

        // Evidence: the Allow statements that grant the action on some key of the universe.
        // A statement no candidate hits is searched alone, on a budget of its own (the
        // decision above has been made); over budget it is named anyway.
        let decision_stopped = work.deadline_reached;
        let mut work = Work {
            states: 0,
            max_states: self.options.budget.max_states,
            start: Instant::now(),
            max_millis: self.options.budget.max_millis / 4 + 1,
            deadline,
            deadline_reached: false,
        };
        for (i, s) in relevant.iter().enumerate() {
            if s.effect != Effect::Allow {
                continue;
            }
            let grants = (self.shortcuts && self.names_a_key(policy, s))
                || (0..candidates).any(|c| runs.get(c).is_some_and(|acc| machine.contains(i, acc)))
                || {
                    let alone = Machine::new(policy, &[*s], &self.universe);
                    !matches!(
                        alone.search(&self.universe, Goal::Contains(0), &mut work),
                        Search::Exhausted
                    )
                };
            if grants {
                result.statements.push(entries_matched(
                    policy,
                    s,
                    &result.action,
                    result.witness.as_deref(),
                ));
            }
        }

        (result, decision_stopped || work.deadline_reached)
    }

    /// Does the statement's `Resource` list a key of the universe literally (no wildcard, no
    /// variable)? Such a statement grants the action on that key without a search.
    fn names_a_key(&self, policy: &Policy, s: &Statement) -> bool {
        let variables = policy.uses_variables();
        !s.not_resource()
            && policy.resource_patterns(s).any(|p| {
                let wildcard = p.contains(['*', '?']) || (variables && p.contains("${"));
                !wildcard && self.in_universe(p)
            })
    }

    /// One wildcard pattern of one Allow statement, with every Deny statement, that allows the
    /// action on all keys proves it for the whole policy (the other patterns and statements
    /// only add keys). Such a machine is far smaller than the whole policy's, whose states
    /// follow every literal key ARN of every statement. Each try has a small budget of its own;
    /// a try that runs out of it proves nothing.
    fn covered_by_one_pattern(
        &self,
        policy: &Policy,
        relevant: &[&Statement],
        deadline: Option<Instant>,
    ) -> bool {
        let denies: Vec<&Statement> = relevant
            .iter()
            .filter(|s| s.effect == Effect::Deny)
            .copied()
            .collect();
        for s in relevant.iter().filter(|s| s.effect == Effect::Allow) {
            let patterns: Vec<&str> = policy.resource_patterns(s).collect();
            // A NotResource statement's set is not a union of its patterns: whole or nothing.
            let tries: Vec<Option<usize>> = if s.not_resource() {
                if patterns.len() == 1 {
                    continue; // the whole policy's machine is hardly larger
                }
                vec![None]
            } else {
                let variables = policy.uses_variables();
                (0..patterns.len())
                    .filter(|&i| {
                        patterns[i].contains(['*', '?']) || padded(patterns[i], variables).is_some()
                    })
                    .map(Some)
                    .collect()
            };
            for only in tries {
                let mut parts = Vec::with_capacity(denies.len() + 1);
                parts.push(*s);
                parts.extend(denies.iter().copied());
                let machine =
                    Machine::with_patterns(policy, &parts, only.map(|p| (0, p)), &self.universe);
                let mut work = Work {
                    states: 0,
                    max_states: SUB_SEARCH_STATES,
                    start: Instant::now(),
                    max_millis: u64::MAX,
                    deadline,
                    deadline_reached: false,
                };
                let r = machine.search(&self.universe, Goal::NotAllowed, &mut work);
                if matches!(r, Search::Exhausted) {
                    return true;
                }
            }
        }
        false
    }

    /// The refused key `found` with a known region and a preferred account in place of its own
    /// where the key stays refused (its key id is kept): the first of the known regions and
    /// then its own, with the first preferred account, then the next.
    fn prefer_known(&self, machine: &Machine, found: String) -> String {
        let parts: Vec<&str> = found.splitn(6, ':').collect();
        let [_, _, _, region, account, resource] = parts[..] else {
            return found;
        };
        let accounts = self.accounts.iter().map(String::as_str).chain([account]);
        for a in accounts {
            for r in self.regions.iter().copied().chain([region]) {
                if (r, a) == (region, account) {
                    return found.clone();
                }
                let arn = format!("{}{r}:{a}:{resource}", self.arn_prefix);
                let refused = machine
                    .run_from(&machine.init, &arn)
                    .is_some_and(|acc| !machine.allowed(&acc));
                if refused {
                    return arn;
                }
            }
        }
        found
    }

    /// The automaton search for a key that is not allowed.
    fn decide(
        &self,
        machine: &Machine,
        runs: &mut CandidateRuns<'_>,
        result: &mut ActionResult,
        work: &mut Work,
    ) {
        match machine.search(&self.universe, Goal::NotAllowed, work) {
            Search::Found(arn) => {
                result.allowed_on_all_keys = Some(false);
                // Prefer a realistic counterexample when one is refused (runs already made
                // for the shortcuts are not made again).
                let realistic = (0..self.candidates.len())
                    .find(|&c| runs.get(c).is_some_and(|acc| !machine.allowed(acc)));
                result.counterexample = Some(match realistic {
                    Some(c) => self.candidates[c].clone(),
                    None => self.prefer_known(machine, arn),
                });
            }
            Search::Exhausted => {
                result.allowed_on_all_keys = Some(true);
                result.witness = self.candidates.first().cloned();
            }
            Search::OverBudget(reason) => {
                result.unknown_reason = Some(reason);
            }
        }
    }
}

/// The statements about `action`. A Deny that may not apply is ignored: one with a Condition,
/// and one whose `NotResource` holds a pattern that cannot be read for sure (a short pattern, a
/// policy variable).
fn relevant_statements<'p>(policy: &'p Policy, action: &str) -> Vec<&'p Statement> {
    let variables = policy.uses_variables();
    policy
        .statements
        .iter()
        .filter(|s| s.may_kms && !(s.effect == Effect::Deny && s.has_condition))
        .filter(|s| {
            let any = policy.action_patterns(s).any(|p| action_matches(p, action));
            any != s.not_action()
        })
        .filter(|s| {
            !(s.effect == Effect::Deny
                && s.not_resource()
                && policy
                    .resource_patterns(s)
                    .any(|p| !sure_in_not_resource(p, variables)))
        })
        .collect()
}

/// The realistic candidates of a query run through one machine, each when first asked
/// for. Candidates share their prefixes (`arn:P:kms:`, the region, the account), and each
/// prefix is read once: a policy that refuses the first candidate costs one ARN's steps.
struct CandidateRuns<'q> {
    query: &'q Query,
    machine: &'q Machine,
    /// After `arn:P:kms:`.
    base: Option<Option<Vec<u64>>>,
    /// After `arn:P:kms:R:A:key/`, by `region * accounts + account`.
    prefixes: Vec<Option<Option<Vec<u64>>>>,
    /// Each whole candidate, by candidate index.
    done: Vec<Option<Option<Vec<u64>>>>,
}

impl<'q> CandidateRuns<'q> {
    fn new(query: &'q Query, machine: &'q Machine) -> CandidateRuns<'q> {
        CandidateRuns {
            query,
            machine,
            base: None,
            prefixes: vec![None; query.regions.len() * query.accounts.len()],
            done: vec![None; query.candidates.len()],
        }
    }

    /// The final position set of candidate `i` (`None` when it leaves the alphabet).
    fn get(&mut self, i: usize) -> Option<&[u64]> {
        if self.done[i].is_none() {
            let (nr, na) = (self.query.regions.len(), self.query.accounts.len());
            let (k, a, r) = (i / (na * nr), (i / nr) % na, i % nr);
            let m = self.machine;
            let base = self
                .base
                .get_or_insert_with(|| m.run_from(&m.init, &self.query.arn_prefix));
            let prefix = self.prefixes[r * na + a].get_or_insert_with(|| {
                let account = &self.query.accounts[a];
                base.as_ref()
                    .and_then(|b| m.run_from(b, self.query.regions[r]))
                    .and_then(|v| m.run_from(&v, ":"))
                    .and_then(|v| m.run_from(&v, account))
                    .and_then(|v| m.run_from(&v, ":key/"))
            });
            self.done[i] = Some(prefix.as_ref().and_then(|p| m.run_from(p, KEY_IDS[k])));
        }
        self.done[i].as_ref().and_then(|d| d.as_deref())
    }
}

// ---------------------------------------------------------------------------------------------
// Budget.

/// States of one search in [`Query::covered_by_one_pattern`].
const SUB_SEARCH_STATES: usize = 2_000;

/// Memory bound of one search: the position sets it stores, in 64-bit words (64 MiB).
const MAX_STORED_WORDS: usize = 8 << 20;

struct Work {
    states: usize,
    max_states: usize,
    start: Instant,
    max_millis: u64,
    /// A time shared with other policies ([`Query::analyze_until`]).
    deadline: Option<Instant>,
    /// Set when `deadline` stopped the work.
    deadline_reached: bool,
}

impl Work {
    /// Counts one explored state; `Err` with the reason when the budget is spent.
    fn tick(&mut self) -> Result<(), String> {
        self.states += 1;
        if self.states > self.max_states {
            return Err(format!(
                "over budget: explored more than {} automaton states",
                self.max_states
            ));
        }
        let now = Instant::now();
        if self.deadline.is_some_and(|d| now >= d) {
            self.deadline_reached = true;
            return Err(DEADLINE_REASON.to_owned());
        }
        if now.duration_since(self.start).as_millis() as u64 > self.max_millis {
            return Err(format!(
                "over budget: took longer than {} ms",
                self.max_millis
            ));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// The statement automata: every resource pattern of the relevant statements compiled to a glob
// NFA; all NFAs side by side in one bitset (one bit per pattern position, bit-parallel steps).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Goal {
    /// A key of the universe that the policy does not allow.
    NotAllowed,
    /// A key of the universe in the resource set of relevant statement `i`.
    Contains(usize),
}

enum Search {
    Found(String),
    Exhausted,
    OverBudget(String),
}

struct StmtSets {
    allow: bool,
    negated: bool,
    /// Its patterns occupy positions `lo..hi`.
    lo: usize,
    hi: usize,
}

struct Machine {
    words: usize,
    /// Alphabet symbols (one representative character per class).
    syms: Vec<char>,
    /// For each symbol: literal positions that read it and move on.
    lit: Vec<u64>,
    /// `?` positions (any character / any but `:`).
    any: Vec<u64>,
    any_nc: Vec<u64>,
    /// `*` positions (any character / any but `:`); they read and stay, or are skipped.
    star: Vec<u64>,
    star_nc: Vec<u64>,
    /// `star | star_nc`.
    skip: Vec<u64>,
    /// Positions from which every suffix is accepted (only `*` tokens remain).
    univ: Vec<u64>,
    /// Accepting positions.
    accept: Vec<u64>,
    /// Positions from which acceptance is still reachable; the others are dropped.
    live: Vec<u64>,
    init: Vec<u64>,
    stmts: Vec<StmtSets>,
    /// The symbol index of `:`.
    colon: usize,
    /// Symbols in the order the search tries them (digits, lowercase, `-`, `/`, `:`), so that
    /// found keys look like `arn:aws:kms:aa-a-1:000000000000:key/00000000-0000-...`.
    order: Vec<usize>,
    /// Symbol index of an ASCII character, `u8::MAX` when it is not in the key alphabet.
    sym_of: [u8; 128],
}

fn bit(v: &mut [u64], i: usize) {
    v[i / 64] |= 1 << (i % 64);
}

/// Is some bit of `a & b` (or of `a` when `b` is `None`) set in positions `lo..hi`?
fn any_in(a: &[u64], b: Option<&[u64]>, lo: usize, hi: usize) -> bool {
    if lo >= hi {
        return false;
    }
    let (wl, wh) = (lo / 64, (hi - 1) / 64);
    for w in wl..=wh {
        let mut x = a[w];
        if let Some(b) = b {
            x &= b[w];
        }
        if w == wl {
            x &= u64::MAX << (lo % 64);
        }
        if w == wh {
            let top = (hi - 1) % 64;
            if top < 63 {
                x &= (1u64 << (top + 1)) - 1;
            }
        }
        if x != 0 {
            return true;
        }
    }
    false
}

impl Machine {
    fn new(policy: &Policy, relevant: &[&Statement], universe: &Universe) -> Machine {
        Machine::with_patterns(policy, relevant, None, universe)
    }

    /// The machine of `relevant`; with `only = Some((i, p))`, statement `i` keeps only its
    /// `p`-th resource pattern.
    fn with_patterns(
        policy: &Policy,
        relevant: &[&Statement],
        only: Option<(usize, usize)>,
        universe: &Universe,
    ) -> Machine {
        let variables = policy.uses_variables();
        let mut toks: Vec<Tok> = Vec::new();
        let mut stmts = Vec::with_capacity(relevant.len());
        // (first position, accept position) per pattern.
        let mut pats: Vec<(usize, usize)> = Vec::new();
        for (si, s) in relevant.iter().enumerate() {
            let reading = match (s.effect, s.not_resource()) {
                (Effect::Allow, false) | (Effect::Deny, true) => Reading::Broad,
                (Effect::Allow, true) | (Effect::Deny, false) => Reading::Narrow,
            };
            let lo = toks.len();
            for (pi, p) in policy.resource_patterns(s).enumerate() {
                if only.is_some_and(|(oi, op)| oi == si && op != pi) {
                    continue;
                }
                // The broad reading of a short pattern is also its padded form (`arn:aws:kms`
                // as `arn:aws:kms:*:*:*`): one more pattern of the statement.
                let padded = (reading == Reading::Broad)
                    .then(|| padded(p, variables))
                    .flatten();
                for text in std::iter::once(p).chain(padded.as_deref()) {
                    let first = toks.len();
                    compile_resource(text, variables, reading, &mut toks);
                    let accept = toks.len();
                    // The accept position holds a token that never reads anything.
                    toks.push(Tok::Never);
                    pats.push((first, accept));
                }
            }
            stmts.push(StmtSets {
                allow: s.effect == Effect::Allow,
                negated: s.not_resource(),
                lo,
                hi: toks.len(),
            });
        }
        let n = toks.len();
        let words = n.div_ceil(64).max(1);

        // The alphabet: `:` (symbol 0), then every character literal in a pattern gets a symbol of
        // its own; the other characters of key ARNs get one symbol per class of the universe
        // (characters the universe reads alike), with a representative each.
        let mut sym_of = [u8::MAX; 128];
        let mut syms: Vec<char> = Vec::new();
        let literals = toks.iter().filter_map(|t| match t {
            Tok::Lit(c) => Some(*c),
            _ => None,
        });
        for c in std::iter::once(':').chain(literals) {
            if universe.class(c).is_some() && sym_of[c as usize] == u8::MAX {
                sym_of[c as usize] = syms.len() as u8;
                syms.push(c);
            }
        }
        let mut rep_of_class = [u8::MAX; 128];
        for &(c, k) in universe.alphabet() {
            if sym_of[c as usize] != u8::MAX {
                continue;
            }
            if rep_of_class[k as usize] == u8::MAX {
                rep_of_class[k as usize] = syms.len() as u8;
                syms.push(c);
            }
            sym_of[c as usize] = rep_of_class[k as usize];
        }

        let zero = vec![0u64; words];
        let mut lit = vec![0u64; syms.len() * words];
        let (mut any, mut any_nc, mut star, mut star_nc) =
            (zero.clone(), zero.clone(), zero.clone(), zero.clone());
        for (i, t) in toks.iter().enumerate() {
            match *t {
                Tok::Lit(c) => {
                    if let Some(&k) = sym_of.get(c as usize) {
                        if k != u8::MAX {
                            let row = k as usize * words;
                            bit(&mut lit[row..row + words], i);
                        }
                    }
                }
                Tok::Any => bit(&mut any, i),
                Tok::AnyNoColon => bit(&mut any_nc, i),
                Tok::Star => bit(&mut star, i),
                Tok::StarNoColon => bit(&mut star_nc, i),
                Tok::Never => {}
            }
        }
        let skip: Vec<u64> = star.iter().zip(&star_nc).map(|(a, b)| a | b).collect();
        let mut univ = zero.clone();
        let mut accept = zero.clone();
        let mut live = zero.clone();
        let mut init = zero;
        for &(first, acc) in &pats {
            bit(&mut init, first);
            bit(&mut accept, acc);
            // Live positions: no token that reads nothing of the key alphabet lies between
            // them and acceptance (a variable, or a literal like `_`).
            let mut i = acc;
            bit(&mut live, i);
            while i > first {
                let dead = match toks[i - 1] {
                    Tok::Never => true,
                    Tok::Lit(c) => sym_of.get(c as usize).is_none_or(|&k| k == u8::MAX),
                    _ => false,
                };
                if dead {
                    break;
                }
                i -= 1;
                bit(&mut live, i);
            }
            // Universal positions: from the end backwards while only `Star` remains.
            let mut i = acc;
            while i > first && toks[i - 1] == Tok::Star {
                i -= 1;
                bit(&mut univ, i);
            }
        }
        let rank = |c: char| match c {
            '0'..='9' => 0,
            'a'..='z' => 1,
            '-' => 2,
            '/' => 3,
            _ => 4,
        };
        let mut order: Vec<usize> = (0..syms.len()).collect();
        order.sort_by_key(|&k| (rank(syms[k]), syms[k]));
        let mut m = Machine {
            live,
            order,
            words,
            syms,
            lit,
            any,
            any_nc,
            star,
            star_nc,
            skip,
            univ,
            accept,
            init,
            stmts,
            colon: 0,
            sym_of,
        };
        let mut init = std::mem::take(&mut m.init);
        m.close(&mut init);
        for (x, l) in init.iter_mut().zip(&m.live) {
            *x &= l;
        }
        m.init = init;
        m
    }

    /// Adds the positions reachable by skipping stars.
    fn close(&self, v: &mut [u64]) {
        loop {
            let mut changed = false;
            let mut carry = 0u64;
            for (w, s) in v.iter_mut().zip(&self.skip) {
                let from = *w & s;
                let add = (from << 1) | carry;
                carry = from >> 63;
                if add & !*w != 0 {
                    *w |= add;
                    changed = true;
                }
            }
            if !changed {
                return;
            }
        }
    }

    fn step(&self, cur: &[u64], sym: usize, out: &mut [u64]) {
        let row = sym * self.words;
        let lit = &self.lit[row..row + self.words];
        let colon = sym == self.colon;
        let mut carry = 0u64;
        for i in 0..self.words {
            let (adv, stay) = if colon {
                (lit[i] | self.any[i], self.star[i])
            } else {
                (
                    lit[i] | self.any[i] | self.any_nc[i],
                    self.star[i] | self.star_nc[i],
                )
            };
            let a = cur[i] & adv;
            out[i] = (a << 1) | carry | (cur[i] & stay);
            carry = a >> 63;
        }
        self.close(out);
        for (x, l) in out.iter_mut().zip(&self.live) {
            *x &= l;
        }
    }

    /// Runs a concrete string from the position set `from`; the final position set, or
    /// `None` if a character is outside the key alphabet.
    fn run_from(&self, from: &[u64], s: &str) -> Option<Vec<u64>> {
        let mut cur = from.to_vec();
        let mut next = vec![0u64; self.words];
        for c in s.chars() {
            let k = *self.sym_of.get(c as usize)?;
            if k == u8::MAX {
                return None;
            }
            self.step(&cur, k as usize, &mut next);
            std::mem::swap(&mut cur, &mut next);
        }
        Some(cur)
    }

    fn contains(&self, i: usize, acc: &[u64]) -> bool {
        let s = &self.stmts[i];
        any_in(acc, Some(&self.accept), s.lo, s.hi) != s.negated
    }

    fn allowed(&self, acc: &[u64]) -> bool {
        let mut allow = false;
        for (i, s) in self.stmts.iter().enumerate() {
            if self.contains(i, acc) {
                if !s.allow {
                    return false;
                }
                allow = true;
            }
        }
        allow
    }

    /// Statement `i` contains every completion of a string in this state.
    fn always(&self, i: usize, cur: &[u64]) -> bool {
        let s = &self.stmts[i];
        if s.negated {
            !any_in(cur, None, s.lo, s.hi)
        } else {
            any_in(cur, Some(&self.univ), s.lo, s.hi)
        }
    }

    /// Statement `i` contains no completion of a string in this state.
    fn never(&self, i: usize, cur: &[u64]) -> bool {
        let s = &self.stmts[i];
        if s.negated {
            any_in(cur, Some(&self.univ), s.lo, s.hi)
        } else {
            !any_in(cur, None, s.lo, s.hi)
        }
    }

    /// What every completion of this state yields for the goal: `Some(true)` all reach it,
    /// `Some(false)` none does, `None` not known from here.
    fn settled(&self, goal: Goal, cur: &[u64]) -> Option<bool> {
        match goal {
            Goal::Contains(i) => {
                if self.always(i, cur) {
                    Some(true)
                } else if self.never(i, cur) {
                    Some(false)
                } else {
                    None
                }
            }
            Goal::NotAllowed => {
                let denied =
                    (0..self.stmts.len()).any(|i| !self.stmts[i].allow && self.always(i, cur));
                let no_allow =
                    (0..self.stmts.len()).all(|i| !self.stmts[i].allow || self.never(i, cur));
                if denied || no_allow {
                    return Some(true);
                }
                let allowed =
                    (0..self.stmts.len()).any(|i| self.stmts[i].allow && self.always(i, cur));
                let no_deny =
                    (0..self.stmts.len()).all(|i| self.stmts[i].allow || self.never(i, cur));
                if allowed && no_deny {
                    Some(false)
                } else {
                    None
                }
            }
        }
    }

    fn reached(&self, goal: Goal, acc: &[u64]) -> bool {
        match goal {
            Goal::Contains(i) => self.contains(i, acc),
            Goal::NotAllowed => !self.allowed(acc),
        }
    }

    /// Depth-first search of the product of the universe DFA and the subset states of the
    /// pattern NFAs for a key of the universe that reaches the goal.
    fn search(&self, universe: &Universe, goal: Goal, work: &mut Work) -> Search {
        let w = self.words;
        // The visited set without an allocation per state: position sets live side by side
        // in `arena` (`w` words each); `table` maps a hash to the first node with it and
        // `chain` links nodes whose hashes collide.
        let mut arena: Vec<u64> = Vec::new();
        let mut table: HashMap<u64, u32, BuildHasherDefault<FxHasher>> = HashMap::default();
        let mut chain: Vec<u32> = Vec::new();
        // (universe state, parent node, symbol read)
        let mut nodes: Vec<(u16, u32, char)> = Vec::new();
        let hash = |u: usize, bits: &[u64]| {
            let mut h = FxHasher::default();
            h.write_u64(u as u64);
            for &x in bits {
                h.write_u64(x);
            }
            h.finish()
        };
        arena.extend_from_slice(&self.init);
        table.insert(hash(0, &self.init), 0);
        chain.push(u32::MAX);
        nodes.push((0, u32::MAX, '\0'));
        let mut cur = vec![0u64; w];
        let mut next = vec![0u64; w];
        // Depth first: a member is usually found after a few dozen states; a proof that none
        // exists visits every reachable state either way.
        let mut stack: Vec<u32> = vec![0];
        while let Some(id) = stack.pop() {
            let id = id as usize;
            if let Err(reason) = work.tick() {
                return Search::OverBudget(reason);
            }
            if arena.len() > MAX_STORED_WORDS {
                return Search::OverBudget(format!(
                    "over budget: automaton states need more than {} MiB",
                    (MAX_STORED_WORDS * 8) >> 20
                ));
            }
            let u = nodes[id].0 as usize;
            cur.copy_from_slice(&arena[id * w..(id + 1) * w]);
            match self.settled(goal, &cur) {
                Some(true) => {
                    let mut s = self.path(&nodes, id);
                    universe.complete(u, &mut s);
                    return Search::Found(s);
                }
                Some(false) => continue,
                None => {}
            }
            if universe.accepting(u) && self.reached(goal, &cur) {
                return Search::Found(self.path(&nodes, id));
            }
            // Children are stored in the order of preference (a child reached again keeps its
            // first, preferred path) and pushed so that the most preferred is explored first.
            let first_child = stack.len();
            for &k in &self.order {
                let c = self.syms[k];
                let Some(u2) = universe.step(u, c) else {
                    continue;
                };
                self.step(&cur, k, &mut next);
                // A state whose every completion misses the goal is not stored: most children
                // die on the first character that leaves every pattern.
                if self.settled(goal, &next) == Some(false) {
                    continue;
                }
                let h = hash(u2, &next);
                let mut at = table.get(&h).copied().unwrap_or(u32::MAX);
                let mut known = false;
                while at != u32::MAX {
                    let i = at as usize;
                    if nodes[i].0 as usize == u2 && arena[i * w..(i + 1) * w] == next[..] {
                        known = true;
                        break;
                    }
                    at = chain[i];
                }
                if known {
                    continue;
                }
                let nid = nodes.len() as u32;
                arena.extend_from_slice(&next);
                chain.push(table.insert(h, nid).unwrap_or(u32::MAX));
                nodes.push((u2 as u16, id as u32, c));
                stack.push(nid);
            }
            stack[first_child..].reverse();
        }
        Search::Exhausted
    }

    fn path(&self, nodes: &[(u16, u32, char)], mut id: usize) -> String {
        let mut chars = Vec::new();
        while nodes[id].1 != u32::MAX {
            chars.push(nodes[id].2);
            id = nodes[id].1 as usize;
        }
        chars.iter().rev().collect()
    }
}

/// A small fast hasher for the visited set (the keys are short word vectors).
#[derive(Default)]
struct FxHasher {
    hash: u64,
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(w));
        }
    }
    fn write_u64(&mut self, i: u64) {
        self.hash = (self.hash.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u16(&mut self, i: u16) {
        self.write_u64(i as u64);
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// Names a granting statement with the entries that match: its action entries that match
/// `action`, and its resource entries that match the witness key (the broad reading, as for
/// an Allow), so that a report can show them without deciding again.
fn entries_matched(
    policy: &Policy,
    s: &Statement,
    action: &str,
    witness: Option<&str>,
) -> StatementRef {
    let variables = policy.uses_variables();
    StatementRef {
        index: s.index,
        sid: s.sid.clone(),
        action_entries: policy
            .action_patterns(s)
            .enumerate()
            .filter(|(_, p)| crate::pattern::action_matches(p, action))
            .map(|(i, _)| i)
            .collect(),
        resource_entries: policy
            .resource_patterns(s)
            .enumerate()
            .filter(|(_, p)| match witness {
                Some(w) => crate::eval::resource_matches(p, w, variables, true),
                None => *p == "*",
            })
            .map(|(i, _)| i)
            .collect(),
    }
}
