//! Policy inclusion: does policy NEW grant any request (action, resource) that policy OLD does
//! not? For every action and every resource, not only KMS.
//!
//! # The question
//! A request is an action (`service:Name`, compared without case) and a resource (`*`, the
//! resource of actions without resource-level permissions, or any string starting with
//! `arn:`). A policy allows a request under an assignment σ of truth values to condition blocks
//! when some `Allow` statement matches it whose condition holds under σ and no `Deny` statement
//! matches it whose condition holds under σ (no `Condition`, or an empty one, always holds).
//!
//! Conditions are **opaque predicates**: two condition blocks are the same predicate when their
//! normalised JSON is equal (operator and condition-key names without case, as AWS reads them;
//! value lists as sets; see [`normalize_condition`]); every distinct block is an independent
//! boolean, shared by both policies. NEW is included in OLD when, for every request and every σ,
//! NEW allows ⇒ OLD allows. Treating blocks as independent considers more assignments than
//! real request contexts produce (two blocks that exclude each other may both hold), so an
//! inclusion proved here holds for every real context; a reported new access may need an
//! assignment no real context produces. In particular a conditional `Deny` of NEW that OLD does
//! not have may not apply, and a conditional `Deny` of OLD that NEW does not have may apply.
//!
//! # Readings
//! Where implementations read a resource pattern differently (a `*` ending one of the first
//! five segments, a wildcard in the resource type, letter case in the first five segments, a
//! short pattern read padded: see the crate docs), each difference is one unknown of the
//! implementation, read the same way in both policies; the inclusion must hold under every
//! combination of the differences that occur in the two policies. A resource pattern with a
//! policy variable (`arn:aws:s3:::b/${aws:username}/*`, `Version` `2012-10-17`) is, like a
//! condition block, an opaque set shared by both policies: whether it matches a resource is one
//! more independent boolean, which can only be true for resources the pattern matches with `*`
//! for its variables. A request that needs such a pattern to match is not confirmed by the
//! evaluator (it would need a value for the variable), and the answer is UNKNOWN. Statements
//! written identically in both policies are compared as text first.
//!
//! # The method
//! Actions: the action patterns of both policies run side by side as glob automata over the
//! action universe `[a-z0-9-]+:[a-z0-9]+` (case folded); a depth-first search visits every class
//! of actions that the patterns tell apart, each giving the set of statements whose `Action` or
//! `NotAction` matches. Per distinct set (memoised): the resource patterns of those statements
//! run the same way over the resource universe, and at every resource the question over σ is a
//! small propositional one, decided in closed form. A request found is confirmed by the
//! concrete evaluator ([`crate::eval`]) under one reading before it is reported; one it cannot
//! confirm (it needs a policy variable read as `*`, or a mix of readings) makes the answer
//! UNKNOWN. Work counts against a [`Budget`]: over it, the answer is UNKNOWN with the reason.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasherDefault;
use std::time::Instant;

use crate::analysis::Budget;
use crate::model::{Effect, Policy, Statement};
use crate::Glob;

/// The answer of [`check_no_new_access`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inclusion {
    /// NEW grants nothing OLD does not, for every action, resource and condition assignment.
    Included,
    /// A request NEW allows and OLD does not, confirmed by the concrete evaluator.
    NewAccess(NewAccess),
    /// Undecided: over budget, or a request found that the evaluator could not confirm.
    Unknown { reason: String },
}

/// A request that NEW allows and OLD does not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccess {
    pub action: String,
    pub resource: String,
    /// The index of NEW's `Allow` statement that grants it.
    pub statement: usize,
    pub sid: Option<String>,
    /// The condition blocks assumed to hold (normalised JSON); every other block is assumed
    /// not to hold. Empty: the request is allowed without any condition.
    pub conditions: Vec<String>,
    /// The reading of the resource patterns under which the evaluator confirmed it: `broad`
    /// or `narrow` (see the crate docs).
    pub reading: &'static str,
}

/// Does `new` grant any request that `old` does not? See the module docs.
pub fn check_no_new_access(old: &Policy, new: &Policy, budget: &Budget) -> Inclusion {
    let mut conds = CondTable::default();
    let mut stmts = Vec::new();
    for (side, policy) in [(Side::New, new), (Side::Old, old)] {
        for (i, s) in policy.statements.iter().enumerate() {
            stmts.push(St::new(side, policy, i, s, &mut conds));
        }
    }
    let mut keys: HashMap<String, u32> = HashMap::new();
    for st in &mut stmts {
        let key = format!(
            "{:?}|{}|{}|{:?}|{}",
            st.effect, st.cond, st.not_resource, st.resources, st.variables
        );
        let next = keys.len() as u32;
        st.resource_key = *keys.entry(key).or_insert(next);
    }
    let checker = Checker {
        old,
        new,
        stmts,
        conds,
    };
    let mut work = Work::new(budget);
    match checker.run(&mut work) {
        Ok(None) => Inclusion::Included,
        Ok(Some(found)) => checker.confirm(found),
        Err(reason) => Inclusion::Unknown { reason },
    }
}

/// A condition block normalised: operator names and condition-key names in lower case (AWS
/// compares them without case), members sorted, value lists as sorted sets without
/// duplicates; values compared as written. `None` for no condition (a missing or empty block).
pub fn normalize_condition(block: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    let obj = block.as_object()?;
    if obj.is_empty() {
        return None;
    }
    let mut ops: Vec<(String, Vec<KeyValues>)> = obj
        .iter()
        .map(|(op, keys)| {
            let mut entries: Vec<(String, Vec<String>)> = match keys {
                Value::Object(keys) => keys
                    .iter()
                    .map(|(k, v)| {
                        let mut values: Vec<String> = match v {
                            Value::Array(items) => items.iter().map(value_text).collect(),
                            other => vec![value_text(other)],
                        };
                        values.sort();
                        values.dedup();
                        (k.to_ascii_lowercase(), values)
                    })
                    .collect(),
                other => vec![(String::new(), vec![value_text(other)])],
            };
            entries.sort();
            (op.to_ascii_lowercase(), entries)
        })
        .collect();
    ops.sort();
    let mut out = String::from("{");
    for (i, (op, entries)) in ops.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::Value::String(op.clone()).to_string());
        out.push_str(":{");
        for (j, (k, values)) in entries.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            out.push_str(&serde_json::Value::String(k.clone()).to_string());
            out.push_str(":[");
            out.push_str(&values.join(","));
            out.push(']');
        }
        out.push('}');
    }
    out.push('}');
    Some(out)
}

/// A condition key (lower case) and its values (sorted, no repeats).
type KeyValues = (String, Vec<String>);

fn value_text(v: &serde_json::Value) -> String {
    v.to_string()
}

/// The normalised condition block of a statement (read from its source text).
pub(crate) fn statement_condition(s: &Statement) -> Option<String> {
    if !s.has_condition {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(&s.source).ok()?;
    // A statement with a non-empty block whose text cannot be read again keeps a block of its
    // own: its source text, which no other statement shares unless written the same.
    normalize_condition(v.get("Condition")?).or_else(|| Some(s.source.clone()))
}

// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Side {
    New,
    Old,
}

/// Condition blocks interned: 0 is "no condition" (always holds).
#[derive(Default)]
struct CondTable {
    ids: HashMap<String, u32>,
    texts: Vec<String>,
}

impl CondTable {
    fn id(&mut self, block: Option<String>) -> u32 {
        let Some(text) = block else { return 0 };
        if let Some(&id) = self.ids.get(&text) {
            return id;
        }
        self.texts.push(text.clone());
        let id = self.texts.len() as u32;
        self.ids.insert(text, id);
        id
    }

    fn text(&self, id: u32) -> &str {
        &self.texts[id as usize - 1]
    }
}

/// One statement of either policy, as the checker reads it.
struct St {
    side: Side,
    index: usize,
    effect: Effect,
    cond: u32,
    not_action: bool,
    /// Action patterns, lower case.
    actions: Vec<String>,
    not_resource: bool,
    resources: Vec<String>,
    variables: bool,
    /// Identity of the statement's meaning as text (for the shortcut of identical statements).
    text_key: String,
    /// Identity of the statement's meaning once its action element has matched: effect,
    /// condition and resource element (interned by [`check_no_new_access`]).
    resource_key: u32,
}

impl St {
    fn new(side: Side, policy: &Policy, index: usize, s: &Statement, conds: &mut CondTable) -> St {
        let cond_text = statement_condition(s);
        let cond = conds.id(cond_text.clone());
        let mut actions: Vec<String> = policy
            .action_patterns(s)
            .map(|p| p.to_ascii_lowercase())
            .collect();
        actions.sort();
        actions.dedup();
        let mut resources: Vec<String> = policy.resource_patterns(s).map(str::to_owned).collect();
        resources.sort();
        resources.dedup();
        let variables = policy.uses_variables();
        let text_key = format!(
            "{:?}|{}|{:?}|{}|{:?}|{}|{}",
            s.effect,
            s.not_action(),
            actions,
            s.not_resource(),
            resources,
            variables,
            cond_text.unwrap_or_default()
        );
        St {
            side,
            index,
            effect: s.effect,
            cond,
            not_action: s.not_action(),
            actions,
            not_resource: s.not_resource(),
            resources,
            variables,
            text_key,
            resource_key: 0,
        }
    }

    fn is(&self, side: Side, effect: Effect) -> bool {
        self.side == side && self.effect == effect
    }
}

/// A request found by the search, before confirmation.
struct Found {
    action: String,
    resource: String,
    statement: usize,
    true_conds: Vec<u32>,
    /// A pattern with a policy variable that must match the resource.
    variable: Option<String>,
}

struct Work {
    states: usize,
    max_states: usize,
    start: Instant,
    max_millis: u64,
}

impl Work {
    fn new(b: &Budget) -> Work {
        Work {
            states: 0,
            max_states: b.max_states,
            start: Instant::now(),
            max_millis: b.max_millis,
        }
    }

    fn tick(&mut self) -> Result<(), String> {
        self.states += 1;
        if self.states > self.max_states {
            return Err(format!(
                "over budget: explored more than {} automaton states",
                self.max_states
            ));
        }
        if self.states % 256 == 0 && self.start.elapsed().as_millis() as u64 > self.max_millis {
            return Err(format!(
                "over budget: took longer than {} ms",
                self.max_millis
            ));
        }
        Ok(())
    }
}

struct Checker<'p> {
    old: &'p Policy,
    new: &'p Policy,
    stmts: Vec<St>,
    conds: CondTable,
}

/// An assignment found: NEW's granting statement, the condition blocks set true, a variable
/// pattern (atom) set true.
type Assignment = (usize, Vec<u32>, Option<usize>);

/// A request found for a set of statements: the resource, NEW's granting statement, the
/// condition blocks set true, a pattern with a policy variable the request needs to match.
type Hit = (String, usize, Vec<u32>, Option<String>);

impl Checker<'_> {
    fn run(&self, work: &mut Work) -> Result<Option<Found>, String> {
        let all: Vec<usize> = (0..self.stmts.len()).collect();
        if self.same_text(&all) {
            return Ok(None);
        }
        self.actions(work)
    }

    /// NEW's `Allow` statements are all written identically in OLD, and OLD's `Deny`
    /// statements all in NEW: then NEW allows nothing OLD does not, whatever the readings.
    fn same_text(&self, active: &[usize]) -> bool {
        let texts = |side: Side, effect: Effect| -> HashSet<&str> {
            active
                .iter()
                .map(|&i| &self.stmts[i])
                .filter(|s| s.is(side, effect))
                .map(|s| s.text_key.as_str())
                .collect()
        };
        texts(Side::New, Effect::Allow).is_subset(&texts(Side::Old, Effect::Allow))
            && texts(Side::Old, Effect::Deny).is_subset(&texts(Side::New, Effect::Deny))
    }

    /// [`Self::same_text`] for statements whose action elements all matched: NEW's `Allow`
    /// statements all have the condition and resources of one of OLD's, and OLD's `Deny`
    /// statements those of one of NEW's.
    fn same_resources(&self, active: &[usize]) -> bool {
        let keys = |side: Side, effect: Effect| -> HashSet<u32> {
            active
                .iter()
                .map(|&i| &self.stmts[i])
                .filter(|s| s.is(side, effect))
                .map(|s| s.resource_key)
                .collect()
        };
        keys(Side::New, Effect::Allow).is_subset(&keys(Side::Old, Effect::Allow))
            && keys(Side::Old, Effect::Deny).is_subset(&keys(Side::New, Effect::Deny))
    }

    /// Whatever action extends the search's path from these live positions, is the question
    /// settled by [`Self::same_resources`]? It is when it holds for the worst case: every
    /// `Allow` of NEW and `Deny` of OLD that may still match, and only the `Allow` statements of
    /// OLD and `Deny` statements of NEW that surely match (inclusion only gets easier with fewer
    /// of the former and more of the latter).
    fn subtree_included(
        &self,
        alive: &[u32],
        nfa: &Nfa,
        owners: &[Vec<usize>],
        not_action: &[u32],
    ) -> bool {
        let mut maybe: Vec<usize> = Vec::new();
        let mut sure: Vec<usize> = Vec::new();
        for &p in alive {
            let o = &owners[nfa.owner[p as usize] as usize];
            maybe.extend(o);
            if nfa.saturated[p as usize] {
                sure.extend(o);
            }
        }
        maybe.sort_unstable();
        maybe.dedup();
        sure.sort_unstable();
        sure.dedup();
        let mut worst: Vec<usize> = Vec::new();
        for &i in maybe.iter().filter(|&&i| !self.stmts[i].not_action) {
            let s = &self.stmts[i];
            let widens = s.is(Side::New, Effect::Allow) || s.is(Side::Old, Effect::Deny);
            if widens || sure.binary_search(&i).is_ok() {
                worst.push(i);
            }
        }
        for &i in not_action {
            let i = i as usize;
            let s = &self.stmts[i];
            let widens = s.is(Side::New, Effect::Allow) || s.is(Side::Old, Effect::Deny);
            let (hit_maybe, hit_sure) = (
                maybe.binary_search(&i).is_ok(),
                sure.binary_search(&i).is_ok(),
            );
            if (widens && !hit_sure) || (!widens && !hit_maybe) {
                worst.push(i);
            }
        }
        self.same_resources(&worst)
    }

    // -- actions ------------------------------------------------------------------------------

    fn actions(&self, work: &mut Work) -> Result<Option<Found>, String> {
        // One automaton per distinct pattern text; each pattern names its statements.
        let mut pattern_ids: HashMap<&str, usize> = HashMap::new();
        let mut owners: Vec<Vec<usize>> = Vec::new();
        let mut nfa = Nfa::default();
        for (si, s) in self.stmts.iter().enumerate() {
            for p in &s.actions {
                let id = *pattern_ids.entry(p.as_str()).or_insert_with(|| {
                    let toks: Vec<Tok> = p
                        .chars()
                        .map(|c| match c {
                            '*' => Tok::Star,
                            '?' => Tok::Any,
                            c => Tok::Lit(c),
                        })
                        .collect();
                    nfa.add(&toks, owners.len() as u32);
                    owners.push(Vec::new());
                    owners.len() - 1
                });
                owners[id].push(si);
            }
        }
        nfa.finish();
        nfa.set_groups(
            owners
                .iter()
                .map(|o| o.iter().map(|&si| si as u32).collect())
                .collect(),
        );
        // Statements of NEW's Allow side that an action can still make active.
        let new_allow_not_action = self
            .stmts
            .iter()
            .any(|s| s.is(Side::New, Effect::Allow) && s.not_action);
        let pattern_feeds_new_allow: Vec<bool> = owners
            .iter()
            .map(|o| {
                o.iter().any(|&si| {
                    let s = &self.stmts[si];
                    s.is(Side::New, Effect::Allow) && !s.not_action
                })
            })
            .collect();
        if !new_allow_not_action && !pattern_feeds_new_allow.iter().any(|&b| b) {
            return Ok(None);
        }
        let not_action: Vec<u32> = (0..self.stmts.len() as u32)
            .filter(|&si| self.stmts[si as usize].not_action)
            .collect();
        // The statements whose action element matches, sorted.
        let signature = |alive: &[u32]| -> Vec<u32> {
            let mut hit: Vec<u32> = Vec::new();
            for &p in alive {
                if nfa.toks[p as usize] == Tok::End {
                    hit.extend(
                        owners[nfa.owner[p as usize] as usize]
                            .iter()
                            .map(|&si| si as u32),
                    );
                }
            }
            hit.sort_unstable();
            hit.dedup();
            let mut active: Vec<u32> = hit
                .iter()
                .copied()
                .filter(|&si| !self.stmts[si as usize].not_action)
                .collect();
            active.extend(
                not_action
                    .iter()
                    .filter(|si| hit.binary_search(si).is_err()),
            );
            active.sort_unstable();
            active
        };
        let mut found: Option<Found> = None;
        // The resource question per set of statements whose action element matches, and per
        // question (statements alike once their action matched ask the same one).
        let mut memo: HashMap<Vec<u32>, Option<Hit>> = HashMap::new();
        let mut by_question: HashMap<Vec<(Side, u32)>, Option<Hit>> = HashMap::new();
        search(
            &nfa,
            &ActionUniverse,
            work,
            |alive, accepting, path: &dyn Fn() -> String, work| {
                if !new_allow_not_action
                    && !alive
                        .iter()
                        .any(|&p| pattern_feeds_new_allow[nfa.owner[p as usize] as usize])
                {
                    return Ok(Visit::Prune);
                }
                if self.subtree_included(alive, &nfa, &owners, &not_action) {
                    return Ok(Visit::Prune);
                }
                let settled = alive.iter().all(|&p| nfa.saturated[p as usize]);
                if !(accepting || settled) {
                    return Ok(Visit::Expand);
                }
                let action_text = if accepting {
                    path()
                } else {
                    // Every extension gives the same statements: complete it.
                    match ActionUniverse.completion_from(&path()) {
                        Some(full) => full,
                        None => return Ok(Visit::Expand),
                    }
                };
                let active = signature(alive);
                let answer = match memo.get(&active) {
                    Some(a) => a.clone(),
                    None => {
                        let mut question: Vec<(Side, u32)> = active
                            .iter()
                            .map(|&i| &self.stmts[i as usize])
                            .map(|s| (s.side, s.resource_key))
                            .collect();
                        question.sort_unstable();
                        question.dedup();
                        let a = match by_question.get(&question) {
                            Some(a) => a.clone(),
                            None => {
                                let a = self.resources(&active, work)?;
                                by_question.insert(question, a.clone());
                                a
                            }
                        };
                        // The granting statement as one of this action's statements.
                        let a = a.map(|(r, st, c, v)| {
                            let key = self.stmts[st].resource_key;
                            let st = active
                                .iter()
                                .map(|&i| &self.stmts[i as usize])
                                .find(|s| s.is(Side::New, Effect::Allow) && s.resource_key == key)
                                .map_or(st, |s| s.index);
                            (r, st, c, v)
                        });
                        memo.insert(active, a.clone());
                        a
                    }
                };
                if let Some((resource, statement, true_conds, variable)) = answer {
                    found = Some(Found {
                        action: action_text,
                        resource,
                        statement,
                        true_conds,
                        variable,
                    });
                    return Ok(Visit::Stop);
                }
                Ok(if settled { Visit::Prune } else { Visit::Expand })
            },
        )?;
        Ok(found)
    }

    // -- resources ----------------------------------------------------------------------------

    /// Is there a resource and an assignment under which NEW allows and OLD does not, among the
    /// statements `active` (those whose action element matches the action)?
    fn resources(&self, active: &[u32], work: &mut Work) -> Result<Option<Hit>, String> {
        let list: Vec<usize> = active.iter().map(|&i| i as usize).collect();
        if !list
            .iter()
            .any(|&i| self.stmts[i].is(Side::New, Effect::Allow))
        {
            return Ok(None);
        }
        if self.same_resources(&list) {
            return Ok(None);
        }
        let flags = relevant_flags(list.iter().map(|&i| &self.stmts[i]));
        let n = flags.len();
        for combo in 0..(1u32 << n) {
            let mut f = Features::default();
            for (k, flag) in flags.iter().enumerate() {
                f.set(*flag, combo >> k & 1 == 1);
            }
            if let Some(hit) = self.resources_under(&list, f, work)? {
                return Ok(Some(hit));
            }
        }
        Ok(None)
    }

    fn resources_under(
        &self,
        list: &[usize],
        f: Features,
        work: &mut Work,
    ) -> Result<Option<Hit>, String> {
        let mut nfa = Nfa::default();
        // Owners: `k` < `list.len()` for the patterns of the statement `list[k]`; `list.len() + j`
        // for the atom `j`: a pattern with a policy variable, an opaque set of resources shared
        // by both policies, within the pattern read with `*` for its variables.
        let mut atoms: Vec<&str> = Vec::new();
        let mut stmt_atoms: Vec<Vec<usize>> = vec![Vec::new(); list.len()];
        let mut toks = Vec::new();
        for (k, &si) in list.iter().enumerate() {
            let s = &self.stmts[si];
            for p in &s.resources {
                let owner = if has_variable(p, s.variables) {
                    let j = match atoms.iter().position(|a| *a == p.as_str()) {
                        Some(j) => j,
                        None => {
                            atoms.push(p.as_str());
                            atoms.len() - 1
                        }
                    };
                    if !stmt_atoms[k].contains(&j) {
                        stmt_atoms[k].push(j);
                    }
                    (list.len() + j) as u32
                } else {
                    k as u32
                };
                toks.clear();
                compile_resource(p, s.variables, f, &mut toks);
                nfa.add(&toks, owner);
                if f.pad {
                    if let Some(padded) = padded(p, s.variables) {
                        toks.clear();
                        compile_resource(&padded, s.variables, f, &mut toks);
                        nfa.add(&toks, owner);
                    }
                }
            }
        }
        nfa.finish();
        nfa.set_groups(
            (0..list.len() + atoms.len())
                .map(|o| vec![o as u32])
                .collect(),
        );
        let new_allow_not_resource = list.iter().any(|&si| {
            let s = &self.stmts[si];
            s.is(Side::New, Effect::Allow) && s.not_resource
        });
        let mut feeds_new_allow: Vec<bool> = vec![false; list.len() + atoms.len()];
        for (k, &si) in list.iter().enumerate() {
            let s = &self.stmts[si];
            if s.is(Side::New, Effect::Allow) && !s.not_resource {
                feeds_new_allow[k] = true;
                for &j in &stmt_atoms[k] {
                    feeds_new_allow[list.len() + j] = true;
                }
            }
        }
        let mut found = None;
        let mut hit = vec![false; list.len() + atoms.len()];
        search(
            &nfa,
            &ResourceUniverse,
            work,
            |alive, accepting, path: &dyn Fn() -> String, _| {
                if !new_allow_not_resource
                    && !alive
                        .iter()
                        .any(|&p| feeds_new_allow[nfa.owner[p as usize] as usize])
                {
                    return Ok(Visit::Prune);
                }
                let settled = accepting && alive.iter().all(|&p| nfa.saturated[p as usize]);
                if accepting {
                    hit.iter_mut().for_each(|h| *h = false);
                    for &p in alive {
                        if nfa.toks[p as usize] == Tok::End {
                            hit[nfa.owner[p as usize] as usize] = true;
                        }
                    }
                    let free_atoms: Vec<usize> =
                        (0..atoms.len()).filter(|&j| hit[list.len() + j]).collect();
                    let answer = if free_atoms.is_empty() {
                        let matched: Vec<usize> = list
                            .iter()
                            .enumerate()
                            .filter(|&(k, &si)| hit[k] != self.stmts[si].not_resource)
                            .map(|(_, &si)| si)
                            .collect();
                        self.assignment(&matched).map(|(st, c)| (st, c, None))
                    } else {
                        self.assignment_with_atoms(
                            list,
                            &hit[..list.len()],
                            &stmt_atoms,
                            &free_atoms,
                        )?
                        .map(|(st, c, atom)| (st, c, atom.map(|j| atoms[j].to_owned())))
                    };
                    if let Some((statement, true_conds, variable)) = answer {
                        found = Some((path(), statement, true_conds, variable));
                        return Ok(Visit::Stop);
                    }
                }
                Ok(if settled { Visit::Prune } else { Visit::Expand })
            },
        )?;
        Ok(found)
    }

    /// [`Self::assignment_with_atoms`] when every statement fires monotonically in the booleans
    /// (no `NotResource` holds a variable pattern that may match): then if any assignment works,
    /// one that sets true only what makes one `Allow` of NEW fire (and perhaps one `Deny` of
    /// OLD) and everything else false works too, so trying those is complete.
    fn assignment_monotone(
        &self,
        list: &[usize],
        hit: &[bool],
        stmt_atoms: &[Vec<usize>],
        free_atoms: &[usize],
    ) -> Option<Assignment> {
        // The ways a statement can match: by a plain pattern (no boolean) or by one variable
        // pattern (its atom).
        let ways = |k: usize| -> Vec<Option<usize>> {
            let s = &self.stmts[list[k]];
            if s.not_resource {
                return if hit[k] { vec![] } else { vec![None] };
            }
            let mut w: Vec<Option<usize>> = Vec::new();
            if hit[k] {
                w.push(None);
            }
            w.extend(
                stmt_atoms[k]
                    .iter()
                    .filter(|j| free_atoms.contains(j))
                    .map(|&j| Some(j)),
            );
            w
        };
        let fires = |k: usize, conds: &[u32], atoms: &[usize]| {
            let s = &self.stmts[list[k]];
            let cond = s.cond == 0 || conds.contains(&s.cond);
            let matches = if s.not_resource {
                !hit[k]
            } else {
                hit[k] || stmt_atoms[k].iter().any(|j| atoms.contains(j))
            };
            cond && matches
        };
        let none_fire = |side, effect, conds: &[u32], atoms: &[usize]| {
            (0..list.len())
                .all(|k| !self.stmts[list[k]].is(side, effect) || !fires(k, conds, atoms))
        };
        let with = |conds: &mut Vec<u32>, atoms: &mut Vec<usize>, k: usize, way: Option<usize>| {
            let c = self.stmts[list[k]].cond;
            if c != 0 && !conds.contains(&c) {
                conds.push(c);
            }
            if let Some(j) = way {
                if !atoms.contains(&j) {
                    atoms.push(j);
                }
            }
        };
        // Plain matches first, so that a request needing no variable is preferred.
        let mut tries: Vec<(usize, Option<usize>)> = Vec::new();
        for (k, &si) in list.iter().enumerate() {
            if self.stmts[si].is(Side::New, Effect::Allow) {
                tries.extend(ways(k).into_iter().map(|w| (k, w)));
            }
        }
        tries.sort_by_key(|(_, w)| w.is_some());
        for (k, way) in tries {
            let (mut conds, mut atoms) = (Vec::new(), Vec::new());
            with(&mut conds, &mut atoms, k, way);
            if !none_fire(Side::New, Effect::Deny, &conds, &atoms) {
                continue;
            }
            let result = |conds: Vec<u32>, atoms: &[usize]| {
                Some((self.stmts[list[k]].index, conds, atoms.first().copied()))
            };
            if none_fire(Side::Old, Effect::Allow, &conds, &atoms) {
                return result(conds, &atoms);
            }
            for (d, &sd) in list.iter().enumerate() {
                if !self.stmts[sd].is(Side::Old, Effect::Deny) {
                    continue;
                }
                for dway in ways(d) {
                    let (mut c2, mut a2) = (conds.clone(), atoms.clone());
                    with(&mut c2, &mut a2, d, dway);
                    if none_fire(Side::New, Effect::Deny, &c2, &a2) {
                        return result(c2, &a2);
                    }
                }
            }
        }
        None
    }

    /// [`Self::assignment`] when patterns with policy variables may match the request: each
    /// such pattern (`free_atoms`) is one more opaque boolean. Decided by trying the
    /// assignments, those with no variable pattern matching first. Returns NEW's granting
    /// statement, the condition blocks set true, and a variable pattern the answer needs.
    fn assignment_with_atoms(
        &self,
        list: &[usize],
        hit: &[bool],
        stmt_atoms: &[Vec<usize>],
        free_atoms: &[usize],
    ) -> Result<Option<Assignment>, String> {
        let non_monotone = (0..list.len()).any(|k| {
            self.stmts[list[k]].not_resource && stmt_atoms[k].iter().any(|j| free_atoms.contains(j))
        });
        if !non_monotone {
            return Ok(self.assignment_monotone(list, hit, stmt_atoms, free_atoms));
        }
        // Only the statements that can match this request: the others never fire, whatever
        // their condition.
        let can_match = |k: usize| {
            let s = &self.stmts[list[k]];
            let atoms = stmt_atoms[k].iter().any(|j| free_atoms.contains(j));
            if s.not_resource {
                !hit[k]
            } else {
                hit[k] || atoms
            }
        };
        let mut conds: Vec<u32> = (0..list.len())
            .filter(|&k| can_match(k))
            .map(|k| self.stmts[list[k]].cond)
            .collect();
        conds.retain(|&c| c != 0);
        conds.sort_unstable();
        conds.dedup();
        let n = conds.len() + free_atoms.len();
        if n > 20 {
            return Err(format!(
                "over budget: {n} condition blocks and patterns with policy variables meet at \
                 one request"
            ));
        }
        for atom_mask in 0u32..(1 << free_atoms.len()) {
            for cond_mask in 0u32..(1 << conds.len()) {
                let cond_true = |c: u32| {
                    c == 0
                        || conds
                            .iter()
                            .position(|&x| x == c)
                            .is_some_and(|i| cond_mask >> i & 1 == 1)
                };
                let atom_true = |j: usize| {
                    free_atoms
                        .iter()
                        .position(|&x| x == j)
                        .is_some_and(|i| atom_mask >> i & 1 == 1)
                };
                let fires = |k: usize| {
                    let s = &self.stmts[list[k]];
                    let matches = hit[k] || stmt_atoms[k].iter().any(|&j| atom_true(j));
                    cond_true(s.cond) && matches != s.not_resource
                };
                let any = |side, effect| {
                    (0..list.len()).any(|k| self.stmts[list[k]].is(side, effect) && fires(k))
                };
                let new_allows = any(Side::New, Effect::Allow) && !any(Side::New, Effect::Deny);
                let old_allows = any(Side::Old, Effect::Allow) && !any(Side::Old, Effect::Deny);
                if new_allows && !old_allows {
                    let statement = (0..list.len())
                        .find(|&k| self.stmts[list[k]].is(Side::New, Effect::Allow) && fires(k))
                        .map(|k| self.stmts[list[k]].index)
                        .unwrap_or(0);
                    let true_conds = conds
                        .iter()
                        .enumerate()
                        .filter(|&(i, _)| cond_mask >> i & 1 == 1)
                        .map(|(_, &c)| c)
                        .collect();
                    let atom = (0..free_atoms.len())
                        .find(|&i| atom_mask >> i & 1 == 1)
                        .map(|i| free_atoms[i]);
                    return Ok(Some((statement, true_conds, atom)));
                }
            }
        }
        Ok(None)
    }

    /// Given the statements matching one request, an assignment under which NEW allows it and
    /// OLD does not: NEW's granting statement and the condition blocks set true (all others
    /// false). See the module docs; decided in closed form.
    fn assignment(&self, matched: &[usize]) -> Option<(usize, Vec<u32>)> {
        let conds = |side, effect| -> Vec<u32> {
            matched
                .iter()
                .map(|&i| &self.stmts[i])
                .filter(|s| s.is(side, effect))
                .map(|s| s.cond)
                .collect()
        };
        let new_deny = conds(Side::New, Effect::Deny);
        let old_allow = conds(Side::Old, Effect::Allow);
        let old_deny = conds(Side::Old, Effect::Deny);
        if new_deny.contains(&0) {
            return None;
        }
        // An OLD Deny that can hold while NEW's Denies do not.
        let old_deny_free = old_deny.iter().find(|d| !new_deny.contains(d)).copied();
        for &i in matched {
            let s = &self.stmts[i];
            if !s.is(Side::New, Effect::Allow) || new_deny.contains(&s.cond) {
                continue;
            }
            let mut true_conds: Vec<u32> = Vec::new();
            if s.cond != 0 {
                true_conds.push(s.cond);
            }
            if !old_allow.contains(&0) && !old_allow.contains(&s.cond) {
                return Some((s.index, true_conds));
            }
            if let Some(d) = old_deny_free {
                if d != 0 && !true_conds.contains(&d) {
                    true_conds.push(d);
                }
                return Some((s.index, true_conds));
            }
        }
        None
    }

    // -- confirmation -------------------------------------------------------------------------

    /// Confirms a request with the concrete evaluator, under the broad and the narrow reading.
    fn confirm(&self, mut found: Found) -> Inclusion {
        if let Some(p) = &found.variable {
            return Inclusion::Unknown {
                reason: format!(
                    "may grant `{}` on resources that `{p}` matches for some value of its policy \
                     variables (such as `{}`), which the other policy does not grant",
                    found.action, found.resource
                ),
            };
        }
        // The action as a policy writes it, when one names it literally.
        if let Some(p) = [self.new, self.old]
            .iter()
            .flat_map(|p| p.statements.iter().flat_map(move |s| p.action_patterns(s)))
            .find(|p| !p.contains(['*', '?']) && p.eq_ignore_ascii_case(&found.action))
        {
            found.action = p.to_owned();
        } else if let Some(p) = self
            .new
            .statements
            .iter()
            .flat_map(|s| self.new.action_patterns(s))
            .find(|p| Glob::ignoring_case(p).is_match(&found.action))
        {
            // Written as the pattern that grants it writes its literal start (`s3:Get*` gives
            // `s3:Get…`).
            let head: Vec<char> = p.chars().take_while(|c| !matches!(c, '*' | '?')).collect();
            found.action = found
                .action
                .chars()
                .enumerate()
                .map(|(i, c)| match head.get(i) {
                    Some(h) if h.eq_ignore_ascii_case(&c) => *h,
                    _ => c,
                })
                .collect();
        }
        let holds = |s: &Statement, conds: &[u32]| -> bool {
            let id = self
                .conds
                .ids
                .get(&statement_condition(s).unwrap_or_default())
                .copied()
                .unwrap_or(0);
            !s.has_condition || conds.contains(&id)
        };
        for (broad, reading) in [(true, "broad"), (false, "narrow")] {
            let allows = |p: &Policy| {
                concrete_allows(p, &found.action, &found.resource, broad, &|s| {
                    holds(s, &found.true_conds)
                })
            };
            if allows(self.new) && !allows(self.old) {
                let sid = self
                    .new
                    .statements
                    .get(found.statement)
                    .and_then(|s| s.sid.clone());
                return Inclusion::NewAccess(NewAccess {
                    action: found.action,
                    resource: found.resource,
                    statement: found.statement,
                    sid,
                    conditions: found
                        .true_conds
                        .iter()
                        .map(|&c| self.conds.text(c).to_owned())
                        .collect(),
                    reading,
                });
            }
        }
        Inclusion::Unknown {
            reason: format!(
                "may grant `{}` on `{}`, which depends on a policy variable's value or on a \
                 mix of readings of the resource patterns",
                found.action, found.resource
            ),
        }
    }
}

/// The concrete evaluator's reading of one request: some `Allow` whose condition `holds`
/// matches, no `Deny` whose condition holds matches. Patterns are matched by [`crate::eval`]'s
/// matcher (`broad` for every pattern, or narrow for every pattern) and [`Glob`].
pub(crate) fn concrete_allows(
    policy: &Policy,
    action: &str,
    resource: &str,
    broad: bool,
    holds: &dyn Fn(&Statement) -> bool,
) -> bool {
    let variables = policy.uses_variables();
    let mut allowed = false;
    for s in &policy.statements {
        if !holds(s) {
            continue;
        }
        let action_hit = policy
            .action_patterns(s)
            .any(|p| Glob::ignoring_case(p).is_match(action));
        if action_hit == s.not_action() {
            continue;
        }
        let resource_hit = policy
            .resource_patterns(s)
            .any(|p| crate::eval::resource_matches(p, resource, variables, broad));
        if resource_hit == s.not_resource() {
            continue;
        }
        match s.effect {
            Effect::Deny => return false,
            Effect::Allow => allowed = true,
        }
    }
    allowed
}

// ---------------------------------------------------------------------------------------------
// Glob automata: every pattern a chain of tokens ending in `End`; a state of the search is the
// sorted set of live positions of all patterns.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Lit(char),
    /// Any one character.
    Any,
    /// Any one character but `:`.
    AnyNoColon,
    /// Any run of characters.
    Star,
    /// Any run of characters without `:`.
    StarNoColon,
    End,
}

#[derive(Default)]
struct Nfa {
    toks: Vec<Tok>,
    /// The pattern (its owner id) of each position.
    owner: Vec<u32>,
    /// Positions from which every continuation matches (`Star`s then `End`), and `End` after
    /// such a run.
    saturated: Vec<bool>,
    /// Starting positions of the patterns (closed under empty `*` moves).
    starts: Vec<u32>,
    /// The groups (statements) each owner's match decides; a position whose groups all have a
    /// saturated position live already decides nothing more and is dropped.
    groups: Vec<Vec<u32>>,
    /// Scratch: groups already decided, by [`Nfa::reduce`].
    settled: std::cell::RefCell<Vec<bool>>,
}

impl Nfa {
    fn add(&mut self, toks: &[Tok], owner: u32) {
        let start = self.toks.len() as u32;
        self.toks.extend_from_slice(toks);
        self.toks.push(Tok::End);
        self.owner
            .extend(std::iter::repeat_n(owner, toks.len() + 1));
        self.starts.push(start);
    }

    fn finish(&mut self) {
        self.saturated = vec![false; self.toks.len()];
        let mut run = false;
        for i in (0..self.toks.len()).rev() {
            run = match self.toks[i] {
                Tok::End => true,
                Tok::Star => run,
                _ => false,
            };
            // `End` counts only after a star (it dies on the next character otherwise; after a
            // star, the star stays live and reaches it again).
            self.saturated[i] =
                run && (self.toks[i] == Tok::Star || (i > 0 && self.toks[i - 1] == Tok::Star));
        }
    }

    /// Sets the groups of the owners (see `groups`).
    fn set_groups(&mut self, groups: Vec<Vec<u32>>) {
        let n = groups
            .iter()
            .flatten()
            .map(|&g| g as usize + 1)
            .max()
            .unwrap_or(0);
        self.groups = groups;
        self.settled = std::cell::RefCell::new(vec![false; n]);
    }

    /// Drops the positions whose groups are all decided by a saturated position.
    fn reduce(&self, mut alive: Vec<u32>) -> Vec<u32> {
        if self.groups.is_empty() {
            return alive;
        }
        let mut settled = self.settled.borrow_mut();
        let mut any = false;
        for &p in &alive {
            if self.saturated[p as usize] {
                for &g in &self.groups[self.owner[p as usize] as usize] {
                    settled[g as usize] = true;
                    any = true;
                }
            }
        }
        if any {
            alive.retain(|&p| {
                self.saturated[p as usize] || {
                    let g = &self.groups[self.owner[p as usize] as usize];
                    g.is_empty() || g.iter().any(|&g| !settled[g as usize])
                }
            });
            settled.iter_mut().for_each(|s| *s = false);
        }
        alive
    }

    fn close(&self, p: u32, out: &mut Vec<u32>) {
        let mut p = p;
        loop {
            match self.toks[p as usize] {
                Tok::Star | Tok::StarNoColon => {
                    out.push(p);
                    p += 1;
                }
                _ => {
                    out.push(p);
                    return;
                }
            }
        }
    }

    fn initial(&self) -> Vec<u32> {
        let mut out = Vec::new();
        for &s in &self.starts {
            self.close(s, &mut out);
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The positions after reading `c` from the wildcard positions `alive`, added to `out`
    /// (unsorted).
    fn step_into(&self, alive: &[u32], c: char, out: &mut Vec<u32>) {
        for &p in alive {
            match self.toks[p as usize] {
                Tok::Lit(x) if x == c => self.close(p + 1, out),
                Tok::Any => self.close(p + 1, out),
                Tok::AnyNoColon if c != ':' => self.close(p + 1, out),
                Tok::Star => self.close(p, out),
                Tok::StarNoColon if c != ':' => self.close(p, out),
                _ => {}
            }
        }
    }
}

trait Universe {
    fn start(&self) -> u8;
    fn step(&self, u: u8, c: char) -> Option<u8>;
    fn accepting(&self, u: u8) -> bool;
    /// The characters to try from `u`, given the literals the live positions can read.
    fn candidates(&self, u: u8, literals: &[char], out: &mut Vec<char>);
}

/// Actions, case folded: `[a-z0-9-]+:[a-z0-9]+`.
struct ActionUniverse;

impl ActionUniverse {
    /// The search path completed to an action with a realistic name.
    fn completion_from(&self, path: &str) -> Option<String> {
        let mut u = self.start();
        for c in path.chars() {
            u = self.step(u, c)?;
        }
        let tail = match u {
            0 => "example:action",
            1 => ":action",
            2 => "action",
            _ => "",
        };
        Some(format!("{path}{tail}"))
    }
}

impl Universe for ActionUniverse {
    fn start(&self) -> u8 {
        0
    }
    fn step(&self, u: u8, c: char) -> Option<u8> {
        let alnum = c.is_ascii_lowercase() || c.is_ascii_digit();
        match (u, c) {
            (0 | 1, c) if alnum || c == '-' => Some(1),
            (1, ':') => Some(2),
            (2 | 3, _) if alnum => Some(3),
            _ => None,
        }
    }
    fn accepting(&self, u: u8) -> bool {
        u == 3
    }
    fn candidates(&self, _u: u8, literals: &[char], out: &mut Vec<char>) {
        out.clear();
        out.extend_from_slice(literals);
        out.push(':');
        out.push('-');
        if let Some(f) = ('a'..='z').chain('0'..='9').find(|c| !literals.contains(c)) {
            out.push(f);
        }
    }
}

/// Resources: `*`, or `arn:` followed by anything.
struct ResourceUniverse;

impl Universe for ResourceUniverse {
    fn start(&self) -> u8 {
        0
    }
    fn step(&self, u: u8, c: char) -> Option<u8> {
        match (u, c) {
            (0, '*') => Some(5),
            (0, 'a') => Some(1),
            (1, 'r') => Some(2),
            (2, 'n') => Some(3),
            (3, ':') => Some(4),
            (4, _) => Some(4),
            _ => None,
        }
    }
    fn accepting(&self, u: u8) -> bool {
        u >= 4
    }
    fn candidates(&self, u: u8, literals: &[char], out: &mut Vec<char>) {
        out.clear();
        match u {
            0 => out.extend(['a', '*']),
            1 => out.push('r'),
            2 => out.push('n'),
            3 => out.push(':'),
            4 => {
                out.extend_from_slice(literals);
                out.push(':');
                if let Some(f) = ('a'..='z')
                    .chain('0'..='9')
                    .chain(['-', '/', '_', '.'])
                    .find(|c| !literals.contains(c))
                {
                    out.push(f);
                }
            }
            _ => {}
        }
    }
}

enum Visit {
    Expand,
    Prune,
    Stop,
}

/// Depth-first search of the product of a universe and an NFA; `visit` sees every state once
/// (its live positions, whether the universe accepts there, the path), and says whether to
/// expand it.
fn search<U: Universe>(
    nfa: &Nfa,
    universe: &U,
    work: &mut Work,
    mut visit: impl FnMut(&[u32], bool, &dyn Fn() -> String, &mut Work) -> Result<Visit, String>,
) -> Result<(), String> {
    /// A state: its live positions are `arena[start..start + len]`.
    struct Node {
        u: u8,
        start: u32,
        len: u32,
        parent: u32,
        c: char,
        /// The next node with the same hash (`u32::MAX`: none).
        same_hash: u32,
    }
    let hash = |u: u8, alive: &[u32]| {
        use std::hash::Hasher;
        let mut h = FxHasher::default();
        h.write_u8(u);
        for &p in alive {
            h.write_u32(p);
        }
        h.finish()
    };
    let mut arena: Vec<u32> = nfa.reduce(nfa.initial());
    let mut nodes: Vec<Node> = vec![Node {
        u: universe.start(),
        start: 0,
        len: arena.len() as u32,
        parent: u32::MAX,
        c: '\0',
        same_hash: u32::MAX,
    }];
    // The first node of each hash; the others chained through `same_hash`.
    let mut seen: HashMap<u64, u32, BuildHasherDefault<FxHasher>> = HashMap::default();
    seen.insert(hash(nodes[0].u, &arena), 0);
    let mut stack = vec![0u32];
    let mut literals: Vec<char> = Vec::new();
    let mut cands: Vec<char> = Vec::new();
    let mut next = Vec::new();
    let mut alive: Vec<u32> = Vec::new();
    let mut by_literal: Vec<Vec<u32>> = Vec::new();
    let mut wild: Vec<u32> = Vec::new();
    while let Some(id) = stack.pop() {
        work.tick()?;
        let node = &nodes[id as usize];
        let (u, from) = (node.u, node.start as usize);
        let live = &arena[from..from + node.len as usize];
        let path = || {
            let mut chars = Vec::new();
            let mut k = id;
            while k != 0 {
                chars.push(nodes[k as usize].c);
                k = nodes[k as usize].parent;
            }
            chars.iter().rev().collect::<String>()
        };
        match visit(live, universe.accepting(u), &path, work)? {
            Visit::Stop => return Ok(()),
            Visit::Prune => continue,
            Visit::Expand => {}
        }
        alive.clear();
        alive.extend_from_slice(live);
        literals.clear();
        literals.extend(alive.iter().filter_map(|&p| match nfa.toks[p as usize] {
            Tok::Lit(c) => Some(c),
            _ => None,
        }));
        literals.sort_unstable();
        literals.dedup();
        universe.candidates(u, &literals, &mut cands);
        cands.dedup();
        // The positions by the literal they read; the others read any character (or any but
        // a colon).
        by_literal.iter_mut().for_each(Vec::clear);
        if by_literal.len() < literals.len() {
            by_literal.resize_with(literals.len(), Vec::new);
        }
        wild.clear();
        for &p in &alive {
            match nfa.toks[p as usize] {
                Tok::Lit(c) => {
                    if let Ok(i) = literals.binary_search(&c) {
                        by_literal[i].push(p);
                    }
                }
                Tok::End => {}
                _ => wild.push(p),
            }
        }
        // Pushed in reverse so the first candidate is explored first.
        for &c in cands.iter().rev() {
            let Some(u2) = universe.step(u, c) else {
                continue;
            };
            next.clear();
            if let Ok(i) = literals.binary_search(&c) {
                for &p in &by_literal[i] {
                    nfa.close(p + 1, &mut next);
                }
            }
            nfa.step_into(&wild, c, &mut next);
            next.sort_unstable();
            next.dedup();
            next = nfa.reduce(std::mem::take(&mut next));
            let h = hash(u2, &next);
            let mut known = seen.get(&h).copied().unwrap_or(u32::MAX);
            let mut found = false;
            while known != u32::MAX {
                let n = &nodes[known as usize];
                let (a, b) = (n.start as usize, (n.start + n.len) as usize);
                if n.u == u2 && arena[a..b] == next[..] {
                    found = true;
                    break;
                }
                known = n.same_hash;
            }
            if found {
                continue;
            }
            let new_id = nodes.len() as u32;
            nodes.push(Node {
                u: u2,
                start: arena.len() as u32,
                len: next.len() as u32,
                parent: id,
                c,
                same_hash: seen.get(&h).copied().unwrap_or(u32::MAX),
            });
            arena.extend_from_slice(&next);
            seen.insert(h, new_id);
            stack.push(new_id);
        }
    }
    Ok(())
}

/// The Fx hash (rustc's): the search hashes many short vectors of positions.
#[derive(Default)]
struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(b));
        }
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }
    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

// ---------------------------------------------------------------------------------------------
// Resource patterns under explicit readings.

/// The differences between readings, each one unknown of the implementation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Features {
    /// A `*` ending one of the first five segments may cross colons.
    cross: bool,
    /// A wildcard in the resource type is a wildcard (else the literal character).
    type_wild: bool,
    /// The first five segments compare without case (the pattern's letters lowered).
    head_fold: bool,
    /// A short pattern also matches padded with `:*` segments.
    pad: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flag {
    Cross,
    TypeWild,
    HeadFold,
    Pad,
}

impl Features {
    fn set(&mut self, flag: Flag, on: bool) {
        match flag {
            Flag::Cross => self.cross = on,
            Flag::TypeWild => self.type_wild = on,
            Flag::HeadFold => self.head_fold = on,
            Flag::Pad => self.pad = on,
        }
    }
}

/// The differences of reading that change some resource pattern of the statements.
fn relevant_flags<'s>(stmts: impl Iterator<Item = &'s St>) -> Vec<Flag> {
    let mut flags = Vec::new();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for s in stmts {
        for p in &s.resources {
            for flag in [Flag::Cross, Flag::TypeWild, Flag::HeadFold] {
                if flags.contains(&flag) {
                    continue;
                }
                let mut on = Features::default();
                on.set(flag, true);
                a.clear();
                b.clear();
                compile_resource(p, s.variables, Features::default(), &mut a);
                compile_resource(p, s.variables, on, &mut b);
                if a != b {
                    flags.push(flag);
                }
            }
            if !flags.contains(&Flag::Pad) && padded(p, s.variables).is_some() {
                flags.push(Flag::Pad);
            }
        }
    }
    flags
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Lex {
    Lit(char),
    Star,
    Quest,
    Var,
}

fn lex(pattern: &str, variables: bool) -> Vec<Lex> {
    let mut out = Vec::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(c) = rest.chars().next() {
        if variables && c == '$' && rest[1..].starts_with('{') {
            if let Some(close) = rest[2..].find('}') {
                out.push(match &rest[2..2 + close] {
                    "*" => Lex::Lit('*'),
                    "?" => Lex::Lit('?'),
                    "$" => Lex::Lit('$'),
                    _ => Lex::Var,
                });
                rest = &rest[2 + close + 1..];
                continue;
            }
        }
        out.push(match c {
            '*' => Lex::Star,
            '?' => Lex::Quest,
            c => Lex::Lit(c),
        });
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// A pattern of fewer than six segments padded with `*` segments; `None` otherwise.
fn padded(pattern: &str, variables: bool) -> Option<String> {
    let n = lex(pattern, variables)
        .iter()
        .filter(|l| **l == Lex::Lit(':'))
        .count();
    (n < 5).then(|| format!("{pattern}{}", ":*".repeat(5 - n)))
}

/// Does the pattern hold a policy variable?
fn has_variable(pattern: &str, variables: bool) -> bool {
    variables && lex(pattern, true).contains(&Lex::Var)
}

/// Compiles a resource pattern under explicit readings (the rules of `pattern.rs`, one flag
/// per difference); a policy variable reads as `*` (any value).
fn compile_resource(pattern: &str, variables: bool, f: Features, out: &mut Vec<Tok>) {
    let lexed = lex(pattern, variables);
    let colons = lexed.iter().filter(|l| **l == Lex::Lit(':')).count();
    let n = lexed.len();
    let resource_part = (!f.type_wild && colons >= 5)
        .then(|| {
            lexed
                .iter()
                .enumerate()
                .filter(|(_, l)| **l == Lex::Lit(':'))
                .nth(4)
                .map(|(i, _)| i + 1)
        })
        .flatten();
    let type_end = resource_part.and_then(|start| {
        lexed[start..]
            .iter()
            .position(|l| matches!(l, Lex::Lit('/') | Lex::Lit(':')))
            .map(|j| start + j)
    });
    let in_type =
        |i: usize| resource_part.is_some_and(|s| i >= s) && type_end.is_some_and(|e| i < e);
    let mut seg = 0usize;
    for (i, l) in lexed.iter().enumerate() {
        let head = seg < 5;
        if in_type(i) {
            match *l {
                Lex::Star => {
                    out.push(Tok::Lit('*'));
                    continue;
                }
                Lex::Quest => {
                    out.push(Tok::Lit('?'));
                    continue;
                }
                _ => {}
            }
        }
        out.push(match *l {
            Lex::Lit(c) => {
                if c == ':' {
                    seg += 1;
                }
                if head && f.head_fold {
                    Tok::Lit(c.to_ascii_lowercase())
                } else {
                    Tok::Lit(c)
                }
            }
            Lex::Var => Tok::Star,
            Lex::Quest => {
                if head {
                    Tok::AnyNoColon
                } else {
                    Tok::Any
                }
            }
            Lex::Star => {
                let last = i + 1 == n;
                let ends_segment = last || lexed[i + 1] == Lex::Lit(':');
                if !head || (last && colons < 5) || (f.cross && ends_segment) {
                    Tok::Star
                } else {
                    Tok::StarNoColon
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(statements: &str) -> Policy {
        Policy::parse(&format!(
            r#"{{"Version": "2012-10-17", "Statement": [{statements}]}}"#
        ))
        .unwrap()
    }

    fn check(old: &str, new: &str) -> Inclusion {
        check_no_new_access(&policy(old), &policy(new), &Budget::default())
    }

    fn new_access(old: &str, new: &str) -> NewAccess {
        match check(old, new) {
            Inclusion::NewAccess(n) => n,
            other => panic!("expected new access, got {other:?}"),
        }
    }

    const ALL: &str = r#"{"Effect": "Allow", "Action": "*", "Resource": "*"}"#;

    #[test]
    fn a_policy_is_included_in_itself_and_in_a_wider_one() {
        let narrow = r#"{"Effect": "Allow", "Action": ["s3:GetObject", "kms:Decrypt"], "Resource": "arn:aws:s3:::b/*"}"#;
        assert_eq!(check(narrow, narrow), Inclusion::Included);
        assert_eq!(check(ALL, narrow), Inclusion::Included);
        assert_eq!(
            check(
                r#"{"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::*"}"#,
                r#"{"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::b/*"}"#
            ),
            Inclusion::Included
        );
    }

    #[test]
    fn a_wider_action_or_resource_is_new_access() {
        let n = new_access(
            r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}"#,
            r#"{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}"#,
        );
        assert!(
            n.action.starts_with("s3:Get"),
            "written as the pattern: {n:?}"
        );
        assert_ne!(n.action.to_ascii_lowercase(), "s3:getobject");
        let n = new_access(
            r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::a/*"}"#,
            r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::*"}"#,
        );
        assert!(!n.resource.starts_with("arn:aws:s3:::a/"), "{n:?}");
        assert!(n.resource.starts_with("arn:aws:s3:::"), "{n:?}");
        // A resource of `*` (actions without resource-level permissions) is a request too.
        let n = new_access(
            r#"{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "arn:*"}"#,
            r#"{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}"#,
        );
        assert_eq!(n.resource, "*");
    }

    #[test]
    fn not_action_and_not_resource_are_exact() {
        // NotAction s3:* on * is everything but S3: included in `*`, not in `iam:*`.
        let not_s3 = r#"{"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}"#;
        assert_eq!(check(ALL, not_s3), Inclusion::Included);
        let n = new_access(
            r#"{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}"#,
            not_s3,
        );
        assert!(!n.action.starts_with("iam:") && !n.action.starts_with("s3:"));
        // Allow * with Deny s3:* is the same as NotAction s3:*, both ways.
        let deny_s3 = format!(r#"{ALL}, {{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}}"#);
        assert_eq!(check(&deny_s3, not_s3), Inclusion::Included);
        assert_eq!(check(not_s3, &deny_s3), Inclusion::Included);
        let not_res =
            r#"{"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::secret/*"}"#;
        let n = new_access(
            not_res,
            r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::*"}"#,
        );
        assert!(n.resource.starts_with("arn:aws:s3:::secret/"), "{n:?}");
    }

    #[test]
    fn conditions_are_opaque_predicates_shared_by_both_policies() {
        let cond = r#"{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*", "Condition": {"StringEquals": {"kms:ViaService": ["s3.us-east-1.amazonaws.com", "s3.us-east-1.amazonaws.com"]}}}"#;
        let same = r#"{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*", "Condition": {"stringequals": {"KMS:VIASERVICE": "s3.us-east-1.amazonaws.com"}}}"#;
        let bare = r#"{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}"#;
        assert_eq!(check(same, cond), Inclusion::Included);
        assert_eq!(check(bare, cond), Inclusion::Included);
        let n = new_access(cond, bare);
        assert!(n.conditions.is_empty());
        let other = cond.replace("s3.", "sqs.");
        let n = new_access(cond, &other);
        assert_eq!(n.conditions.len(), 1, "{n:?}");
        // A conditional Deny of NEW that OLD lacks may not apply; OLD's may.
        let deny_c = r#"{"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}"#;
        assert_eq!(
            check(bare, &format!("{bare}, {deny_c}")),
            Inclusion::Included
        );
        let n = new_access(&format!("{bare}, {deny_c}"), bare);
        assert_eq!(n.conditions.len(), 1, "{n:?}");
        // The same conditional Deny in both: included both ways.
        let both = format!("{bare}, {deny_c}");
        assert_eq!(check(&both, &both), Inclusion::Included);
    }

    #[test]
    fn readings_are_shared_by_both_policies() {
        // Ambiguous patterns written alike in both, next to statements that differ.
        let old = r#"{"Effect": "Allow", "Action": ["s3:GetObject", "kms:Decrypt"], "Resource": "arn:aws:kms:*:key/*"}"#;
        let new = r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:kms:*:key/*"}, {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:us-east-1:key/k"}"#;
        assert_eq!(check(old, new), Inclusion::Included);
        // A full key ARN is in that pattern only when its `*` crosses colons.
        let new = new.replace("us-east-1:key", "us-east-1:111122223333:key");
        assert_eq!(new_access(old, &new).reading, "narrow");
        // Broad reading only: the segment-ending star crosses colons.
        let n = new_access(
            r#"{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:*:*:key/*"}"#,
            r#"{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:*:key/*"}"#,
        );
        assert_eq!(n.reading, "broad");
    }

    #[test]
    fn policy_variables_never_prove_inclusion_wrongly() {
        let var = r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/${aws:username}/*"}"#;
        assert_eq!(check(var, var), Inclusion::Included);
        assert!(!matches!(
            check(
                r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/alice/*"}"#,
                var
            ),
            Inclusion::Included
        ));
        // A Deny on a variable in OLD may hide anything.
        let old = r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/?"}, {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/${aws:username}"}"#;
        let new =
            r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/?"}"#;
        assert!(!matches!(check(old, new), Inclusion::Included));
    }

    #[test]
    fn over_budget_is_unknown() {
        let old = r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}"#;
        let new = r#"{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}"#;
        let b = Budget {
            max_states: 2,
            max_millis: 5_000,
        };
        assert!(matches!(
            check_no_new_access(&policy(old), &policy(new), &b),
            Inclusion::Unknown { .. }
        ));
    }
}
