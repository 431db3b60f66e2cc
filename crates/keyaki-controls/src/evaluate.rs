//! Evaluating the selected controls over one account.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use keyaki_policy::{Budget, Query, QueryError, QueryOptions};
use rayon::prelude::*;
use thiserror::Error;

use crate::control::ParameterKind;
use crate::controls::{
    judge, Context, Control, DataSource, Job, Judged, Judging, PolicyOutcome, Queries,
};
use crate::finding::{Finding, InputProblem, NotEvaluated, ScanReport, Status, Summary};
use crate::input::{AccountInput, InputError, InputKind, RegionKeys, StagedAccount};
use crate::params::Parameters;
use crate::registry::CONTROLS;

/// Parameters that cannot be used (a usage error).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EvaluateError {
    #[error("`{parameter}` of {control}: {source}")]
    BlockedActions {
        control: &'static str,
        parameter: &'static str,
        #[source]
        source: QueryError,
    },
}

/// The question of every action-patterns parameter the controls declare, asked over
/// `partition` (a pattern that matches no KMS action is a usage error).
fn queries(
    controls: &[&dyn Control],
    params: &Parameters,
    partition: &str,
    budget: Budget,
) -> Result<Queries, EvaluateError> {
    let mut out = Queries::new();
    for control in controls {
        let meta = control.meta();
        for p in meta.parameters {
            if p.kind != ParameterKind::ActionPatterns {
                continue;
            }
            let query = Query::new(QueryOptions {
                actions: params.action_patterns(meta, p.name),
                account: None,
                partition: partition.to_owned(),
                budget,
            })
            .map_err(|source| EvaluateError::BlockedActions {
                control: meta.id,
                parameter: p.name,
                source,
            })?;
            out.insert((meta.id, p.name), query);
        }
    }
    Ok(out)
}

/// Evaluates the selected controls over `input`: one finding per (control, resource).
/// `generated_at` is the RFC 3339 time stamped on the report.
pub fn evaluate_at(
    input: &AccountInput,
    params: &Parameters,
    generated_at: String,
) -> Result<ScanReport, EvaluateError> {
    let plan = plan(input, params)?;
    let key_slots = input
        .kms
        .iter()
        .flatten()
        .map(|(_, region)| region.keys.len() + 1)
        .sum();
    let mut findings = Vec::with_capacity(expected_findings(input, key_slots, params));
    let all: Vec<Planned> = (0u16..).zip(plan.selected.iter().copied()).collect();
    let problems = run(
        input,
        params,
        &plan.queries,
        &all,
        &mut findings,
        &mut Vec::new(),
    );
    Ok(finish(input, plan, findings, problems, generated_at))
}

/// [`evaluate_at`] over an input it may consume: the IAM data is dropped once the controls
/// that read it are done, and the KMS controls judge one region at a time, each region's
/// keys dropped once judged, so that the account and all its findings are never held at
/// once. The report is the same, finding for finding and in the same order.
pub fn evaluate_owned_at(
    mut input: AccountInput,
    params: &Parameters,
    generated_at: String,
) -> Result<ScanReport, EvaluateError> {
    let regions = input.kms.as_mut().map(std::mem::take).unwrap_or_default();
    let key_slots = regions.values().map(|r| r.keys.len() + 1).sum();
    let mut owned = Owned {
        input,
        regions: regions.into_iter(),
        key_slots,
    };
    evaluate_parts(&mut owned, params, generated_at)
}

/// An evaluation that could not run.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScanError {
    /// The parameters cannot be used.
    #[error(transparent)]
    Evaluate(#[from] EvaluateError),
    /// The input could not be read (a file that changed while it was read).
    #[error(transparent)]
    Input(#[from] InputError),
}

/// [`evaluate_owned_at`] over an account handed over part by part: the controls that read
/// IAM run first and the IAM elements are dropped, and only then is each region's keys
/// read ([`StagedAccount::next_region`]), judged and dropped, so that IAM documents and key
/// records are never held together. The report is the one [`evaluate_at`] gives over the
/// whole account, finding for finding and problem for problem. Also returns the account as
/// read, without its IAM elements and keys (what it covers: [`AccountInput::coverage`]).
pub fn evaluate_staged_at(
    mut staged: StagedAccount<'_>,
    params: &Parameters,
    generated_at: String,
) -> Result<(ScanReport, AccountInput), ScanError> {
    let report = evaluate_parts(&mut staged, params, generated_at)?;
    Ok((report, staged.into_read()))
}

/// An account an evaluation consumes part by part.
trait Parts {
    type Error: From<EvaluateError>;
    /// The account but the keys of the regions not handed over yet.
    fn account(&self) -> &AccountInput;
    fn drop_iam_elements(&mut self);
    /// The number of keys, plus one for each region.
    fn key_slots(&self) -> usize;
    fn next_region(&mut self) -> Result<Option<(String, RegionKeys)>, Self::Error>;
}

impl Parts for StagedAccount<'_> {
    type Error = ScanError;
    fn account(&self) -> &AccountInput {
        StagedAccount::account(self)
    }
    fn drop_iam_elements(&mut self) {
        StagedAccount::drop_iam_elements(self);
    }
    fn key_slots(&self) -> usize {
        StagedAccount::key_slots(self)
    }
    fn next_region(&mut self) -> Result<Option<(String, RegionKeys)>, ScanError> {
        Ok(StagedAccount::next_region(self)?)
    }
}

/// An account already read, its regions taken out to be handed over.
struct Owned {
    input: AccountInput,
    regions: std::collections::btree_map::IntoIter<String, RegionKeys>,
    key_slots: usize,
}

impl Parts for Owned {
    type Error = EvaluateError;
    fn account(&self) -> &AccountInput {
        &self.input
    }
    fn drop_iam_elements(&mut self) {
        self.input.iam = None;
    }
    fn key_slots(&self) -> usize {
        self.key_slots
    }
    fn next_region(&mut self) -> Result<Option<(String, RegionKeys)>, EvaluateError> {
        Ok(self.regions.next())
    }
}

/// The evaluation of [`evaluate_owned_at`] and [`evaluate_staged_at`].
fn evaluate_parts<P: Parts>(
    parts: &mut P,
    params: &Parameters,
    generated_at: String,
) -> Result<ScanReport, P::Error> {
    let plan = plan(parts.account(), params)?;
    let (iam, kms): (Vec<Planned>, Vec<Planned>) = (0u16..)
        .zip(plan.selected.iter().copied())
        .partition(|(_, c)| c.source() == DataSource::Iam);
    let mut findings = Vec::with_capacity(expected_findings(
        parts.account(),
        parts.key_slots(),
        params,
    ));
    // The position of each finding's control in the plan: the order of the report.
    let mut positions: Vec<u16> = Vec::with_capacity(findings.capacity());
    let mut problems = run(
        parts.account(),
        params,
        &plan.queries,
        &iam,
        &mut findings,
        &mut positions,
    );
    parts.drop_iam_elements();
    while let Some((region, keys)) = parts.next_region()? {
        if kms.is_empty() {
            continue;
        }
        let input = parts.account();
        let view = AccountInput {
            source: input.source.clone(),
            kind: input.kind,
            account_id: input.account_id.clone(),
            partition: input.partition.clone(),
            collected_at: input.collected_at.clone(),
            iam: None,
            kms: Some(std::iter::once((region, keys)).collect()),
            problems: Vec::new(),
            not_evaluable: Vec::new(),
        };
        let mut more = run(
            &view,
            params,
            &plan.queries,
            &kms,
            &mut findings,
            &mut positions,
        );
        problems.append(&mut more);
    }
    in_plan_order(&mut findings, &positions);
    Ok(finish(
        parts.account(),
        plan,
        findings,
        problems,
        generated_at,
    ))
}

/// Puts the findings in the order of their controls in the plan (each control's findings in
/// the order found), in place: a stable sort by position without a second buffer of findings.
fn in_plan_order(findings: &mut [Finding], positions: &[u16]) {
    if positions.windows(2).all(|w| w[0] <= w[1]) {
        return;
    }
    // order[k]: the index of the finding that goes to place k.
    let mut order: Vec<u32> = (0..findings.len() as u32).collect();
    order.sort_unstable_by_key(|&i| (positions[i as usize], i));
    for start in 0..order.len() {
        let mut k = start;
        while order[k] as usize != k {
            let from = order[k] as usize;
            order[k] = k as u32;
            if from == start {
                break;
            }
            findings.swap(k, from);
            k = from;
        }
    }
}

/// A control of the plan, with its position (the order of its findings in the report).
type Planned = (u16, &'static dyn Control);

/// What an evaluation does, decided before any control runs: the controls evaluated (or
/// why not), and the reasoning core's questions (a usage error when one cannot be asked).
struct Plan {
    controls: Vec<String>,
    not_evaluated: Vec<NotEvaluated>,
    selected: Vec<&'static dyn Control>,
    queries: Queries,
}

fn plan(input: &AccountInput, params: &Parameters) -> Result<Plan, EvaluateError> {
    let mut controls = Vec::new();
    let mut not_evaluated = Vec::new();
    let mut selected: Vec<&'static dyn Control> = Vec::new();
    for &control in CONTROLS {
        let meta = control.meta();
        if !params.is_selected(meta.id) {
            continue;
        }
        if let Some(n) = input.not_evaluable.iter().find(|n| n.control == meta.id) {
            not_evaluated.push(n.clone());
            continue;
        }
        let missing = match control.source() {
            DataSource::Iam if input.iam.is_none() => Some(format!("the input `{}` holds no IAM data (`iam` is absent)", input.source)),
            DataSource::Kms if input.kms.is_none() => Some(match input.kind {
                InputKind::AuthorizationDetails => format!(
                    "the input `{}` is `aws iam get-account-authorization-details` output, which holds no KMS keys; scan a keyaki snapshot (or the live account) to evaluate {}",
                    input.source, meta.id
                ),
                InputKind::Snapshot | InputKind::PreDeploy => format!("the input `{}` holds no KMS data (`kms` is absent)", input.source),
            }),
            _ => None,
        };
        if let Some(reason) = missing {
            not_evaluated.push(NotEvaluated {
                control: meta.id.to_owned(),
                reason,
            });
            continue;
        }
        controls.push(meta.id.to_owned());
        selected.push(control);
    }
    let queries = queries(&selected, params, &input.partition, params.budget)?;
    Ok(Plan {
        controls,
        not_evaluated,
        selected,
        queries,
    })
}

/// Runs `controls` over `input`, appending their findings to `out` (control after control)
/// and each finding's control position to `positions`; returns the problems met. The
/// controls that read policies run twice, the second time with every document judged ahead
/// on all cores.
fn run(
    input: &AccountInput,
    params: &Parameters,
    queries: &Queries,
    controls: &[Planned],
    out: &mut Vec<Finding>,
    positions: &mut Vec<u16>,
) -> Vec<InputProblem> {
    let context = |judging| Context {
        input,
        params,
        queries,
        problems: Vec::new(),
        judging,
        texts: Default::default(),
    };
    // First run of the controls that read policies: which documents do they ask about?
    let mut ctx = context(Judging::Collect(Vec::new()));
    let mut dropped = Vec::new();
    for (_, control) in controls
        .iter()
        .filter(|(_, c)| c.source() == DataSource::Iam)
    {
        control.evaluate(&mut ctx, &mut dropped);
    }
    drop(dropped);
    let jobs = match ctx.judging {
        Judging::Collect(jobs) => jobs,
        Judging::Answer { .. } => Vec::new(),
    };
    // Every document judged on all cores, then the controls run with the answers.
    let answers = judge_all(&jobs, params.deadline);
    let mut ahead: Vec<(Job<'_>, Judged)> = jobs.into_iter().zip(answers).collect();
    ahead.reverse();
    let mut ctx = context(Judging::Answer {
        ahead,
        deadline: params.deadline,
    });
    for (position, control) in controls {
        let before = out.len();
        control.evaluate(&mut ctx, out);
        // Findings that give the same reason hold its text once.
        let mut texts = ctx.texts.borrow_mut();
        for f in &mut out[before..] {
            f.reason.text = texts.get(&f.reason.text);
        }
        drop(texts);
        positions.resize(positions.len() + out.len() - before, *position);
    }
    ctx.problems
}

/// The report: the findings (in plan order) with duplicates merged, counted.
fn finish(
    input: &AccountInput,
    plan: Plan,
    mut findings: Vec<Finding>,
    mut evaluation_problems: Vec<InputProblem>,
    generated_at: String,
) -> ScanReport {
    let mut problems = input.problems.clone();
    problems.append(&mut evaluation_problems);
    merge_duplicates(&mut findings, &mut problems, &input.source);
    let summary = Summary::of(&findings);
    ScanReport {
        account: input.account_id.clone(),
        partition: input.partition.clone(),
        collected_at: input.collected_at.clone(),
        generated_at,
        controls: plan.controls,
        not_evaluated: plan.not_evaluated,
        findings,
        problems,
        summary,
    }
}

/// How long each policy may take in the first pass of [`judge_all`] when the scan has a
/// deadline: long enough for nearly every real policy (a few milliseconds), short enough that
/// a few slow policies cannot keep the others from being decided.
const FIRST_PASS: Duration = Duration::from_millis(100);

/// Judges every document on all cores; the answers are in the order of `jobs`, and are the
/// ones a judgement of each document alone would give (without deadline, one pass). With a
/// `deadline` (the scan's time budget), every document first gets [`FIRST_PASS`] and the ones
/// it stopped are judged again with the time left; a document not decided by the deadline is
/// out of time ([`PolicyOutcome::OutOfTime`]), never PASSED.
fn judge_all(jobs: &[Job<'_>], deadline: Option<Instant>) -> Vec<Judged> {
    in_pool(|| judge_all_here(jobs, deadline))
}

/// At most this many documents are judged at once: one search may hold 64 MiB of states.
const MAX_THREADS: usize = 8;

/// Runs `f` in the rayon pool it is called from, or else in a pool of one thread per core,
/// at most [`MAX_THREADS`], each with a main thread's 8 MiB of stack.
fn in_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    static POOL: OnceLock<Option<rayon::ThreadPool>> = OnceLock::new();
    if rayon::current_thread_index().is_some() {
        return f();
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // On one core, the main thread (with its 8 MiB of stack) judges itself: what a worker
    // thread would allocate stays out of that thread's heap, which keeps memory it freed
    // from being handed back for a while (a large account's scan peaks lower).
    if cores == 1 && std::thread::current().name() == Some("main") {
        return f();
    }
    let pool = POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(cores.min(MAX_THREADS))
            .thread_name(|i| format!("keyaki-judge-{i}"))
            // The stack of a main thread, on which the documents were judged before.
            .stack_size(8 << 20)
            .build()
            .ok()
    });
    match pool {
        Some(pool) => pool.install(f),
        None => f(),
    }
}

fn judge_all_here(jobs: &[Job<'_>], deadline: Option<Instant>) -> Vec<Judged> {
    let Some(deadline) = deadline else {
        return jobs.par_iter().map(|&job| judge(job, None)).collect();
    };
    let mut answers: Vec<Judged> = jobs
        .par_iter()
        .map(|&job| judge(job, Some(deadline.min(Instant::now() + FIRST_PASS))))
        .collect();
    let again: Vec<usize> = (0..answers.len())
        .filter(|&i| answers[i].deadline_reached)
        .collect();
    let redone: Vec<Option<Judged>> = again
        .par_iter()
        .map(|&i| (Instant::now() < deadline).then(|| judge(jobs[i], Some(deadline))))
        .collect();
    for (i, judged) in again.into_iter().zip(redone) {
        match judged {
            Some(judged) => answers[i] = judged,
            // Not started again: a FAILED (or PASSED) of the first pass is exact and stays.
            None => {
                if let PolicyOutcome::Unknown(why) = &answers[i].outcome {
                    answers[i].outcome = PolicyOutcome::OutOfTime(why.clone());
                }
            }
        }
    }
    answers
}

/// One finding per (control, resource): a resource listed twice in the input (two users
/// with one ARN, a key in two records) would otherwise get two findings with one id, and
/// whoever kept only one of them could keep a PASSED one beside a FAILED or unreadable one.
/// The findings are merged into the worst (FAILED, then NOT_AVAILABLE, then WARNING, then
/// PASSED), at the place of the first, and the duplicate is reported as an input problem.
fn merge_duplicates(findings: &mut Vec<Finding>, problems: &mut Vec<InputProblem>, source: &str) {
    let rank = |s: Status| match s {
        Status::Failed => 3,
        Status::NotAvailable => 2,
        Status::Warning => 1,
        Status::Passed => 0,
    };
    fn key(f: &Finding) -> (&str, &str) {
        (f.control.as_str(), f.resource.arn.as_str())
    }
    // The places of the findings, ordered by (control, resource) and then by place: the
    // findings of one resource are neighbours, the first first. No key is copied and no
    // finding moves, so that a scan of a large account holds its findings once.
    let mut order: Vec<usize> = (0..findings.len()).collect();
    order.sort_unstable_by(|&a, &b| key(&findings[a]).cmp(&key(&findings[b])).then(a.cmp(&b)));
    let mut dropped = vec![false; findings.len()];
    // (place of the second, place of the first, place of the worst) of each resource listed
    // more than once.
    let mut merged: Vec<(usize, usize, usize)> = Vec::new();
    for group in order.chunk_by(|&a, &b| key(&findings[a]) == key(&findings[b])) {
        let [first, second, ..] = *group else {
            continue;
        };
        let mut worst = first;
        for &i in &group[1..] {
            dropped[i] = true;
            if rank(findings[i].status) > rank(findings[worst].status) {
                worst = i;
            }
        }
        merged.push((second, first, worst));
    }
    // Reported in the order the repetitions appear in the findings.
    merged.sort_unstable();
    for &(second, first, worst) in &merged {
        let f = &findings[second];
        problems.push(InputProblem {
            location: format!("{source}: $"),
            message: format!(
                "`{}` appears more than once in the input; its {} findings were merged, keeping the worst status",
                f.resource.arn, f.control
            ),
        });
        findings.swap(first, worst);
    }
    let mut place = 0;
    findings.retain(|_| {
        place += 1;
        !dropped[place - 1]
    });
}

/// At most how many findings the selected controls give over `input` with `key_slots`
/// (its keys, plus one for each region), reserved at once: a vector grown by doubling holds
/// up to twice the room the findings need, and both copies while it grows.
fn expected_findings(input: &AccountInput, key_slots: usize, params: &Parameters) -> usize {
    CONTROLS
        .iter()
        .filter(|c| params.is_selected(c.meta().id))
        .map(|c| c.most_findings(input, key_slots))
        .sum()
}

/// [`evaluate_owned_at`], stamped with the current time.
pub fn evaluate_owned(
    input: AccountInput,
    params: &Parameters,
) -> Result<ScanReport, EvaluateError> {
    evaluate_owned_at(
        input,
        params,
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
}

/// [`evaluate_staged_at`], stamped with the current time.
pub fn evaluate_staged(
    staged: StagedAccount<'_>,
    params: &Parameters,
) -> Result<(ScanReport, AccountInput), ScanError> {
    evaluate_staged_at(
        staged,
        params,
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
}

/// [`evaluate_at`], stamped with the current time.
pub fn evaluate(input: &AccountInput, params: &Parameters) -> Result<ScanReport, EvaluateError> {
    evaluate_at(
        input,
        params,
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Remediation, Resource, Severity};

    #[test]
    fn plan_order_is_a_stable_sort_by_position_in_place() {
        // positions as an owned evaluation appends them: IAM controls, then regions
        // interleaving the KMS controls
        let cases: &[&[u16]] = &[
            &[0, 0, 1, 2, 3, 2, 2, 3, 3, 2],
            &[3, 2, 1, 0],
            &[],
            &[1, 1, 0],
        ];
        for &positions in cases {
            let mut items: Vec<(u16, usize)> =
                positions.iter().copied().zip(0..positions.len()).collect();
            let mut expected = items.clone();
            expected.sort_by_key(|&(p, _)| p);
            let mut findings: Vec<Finding> = items
                .drain(..)
                .map(|(p, i)| at("KMS.1", &format!("{p}:{i}"), Status::Passed, ""))
                .collect();
            in_plan_order(&mut findings, positions);
            let got: Vec<String> = findings
                .into_iter()
                .map(|f| f.resource.arn.to_string())
                .collect();
            let want: Vec<String> = expected.iter().map(|(p, i)| format!("{p}:{i}")).collect();
            assert_eq!(got, want, "{positions:?}");
        }
    }

    fn at(control: &str, arn: &str, status: Status, tag: &str) -> Finding {
        let meta = crate::registry::find(control).unwrap_or_else(|| panic!("no {control}"));
        Finding {
            control: meta.id.into(),
            title: meta.title.into(),
            status,
            severity: Severity::Medium,
            resource: Resource {
                kind: "AWS::KMS::Key".into(),
                arn: arn.into(),
                region: "us-east-1".into(),
                account: "111122223333".into(),
                partition: "aws".into(),
                name: None,
                id: None,
                location: None,
            },
            reason: serde_json::from_value(serde_json::json!({
                "code": "ROTATION_ENABLED",
                "text": tag,
            }))
            .unwrap_or_else(|e| panic!("reason: {e}")),
            evidence: None,
            remediation: Remediation {
                text: meta.remediation.into(),
                url: meta.remediation_url.into(),
            },
            workflow: None,
            lifecycle: None,
        }
    }

    #[test]
    fn repeated_resources_keep_the_first_worst_finding_at_the_first_place() {
        use Status::*;
        let mut findings = vec![
            at("KMS.3", "k1", Warning, "k1 a"),
            at("KMS.3", "k2", Passed, "k2 a"),
            at("KMS.4", "k1", Passed, "other control"),
            at("KMS.3", "k2", NotAvailable, "k2 b"),
            at("KMS.3", "k1", Failed, "k1 b"),
            at("KMS.3", "k3", Passed, "single"),
            at("KMS.3", "k1", NotAvailable, "k1 c"),
            at("KMS.3", "k1", Failed, "k1 d"),
        ];
        let mut problems = Vec::new();
        merge_duplicates(&mut findings, &mut problems, "s.json");
        let kept: Vec<&str> = findings.iter().map(|f| f.reason.text.as_str()).collect();
        assert_eq!(kept, ["k1 b", "k2 b", "other control", "single"]);
        let said: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(
            said,
            [
                "`k2` appears more than once in the input; its KMS.3 findings were merged, keeping the worst status",
                "`k1` appears more than once in the input; its KMS.3 findings were merged, keeping the worst status",
            ]
        );
        assert!(problems.iter().all(|p| p.location == "s.json: $"));
    }
}
