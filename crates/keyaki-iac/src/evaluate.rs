//! Evaluating stacks: the controls judge the stack in their own model
//! ([`crate::stack::account_input`]); each finding is then given back its source (id,
//! type, place, the ARN only when known), and the rules of pre-deploy answers are
//! applied: a finding that is not FAILED while its resource has a problem is
//! NOT_AVAILABLE with that problem, and one that depends on values unknown before deploy is
//! NOT_AVAILABLE with reason code `UNRESOLVED_VALUE`, naming them — never PASSED.

use std::collections::HashMap;

use keyaki_controls::finding::{
    Evidence, Finding, InputProblem, NotEvaluated, PolicyEvidence, ScanReport, Severity,
    SourceLocation, Status, Summary,
};
use keyaki_controls::registry::CONTROLS;
use keyaki_controls::{EvaluateError, Parameters};

use crate::source::Pos;
use crate::stack::{account_input, Index, Known, Origin, Problem, Stack, Target};
use crate::value::{push_unique, Document};

/// The reason code of a finding that depends on values unknown before deploy.
pub const UNRESOLVED_VALUE: keyaki_controls::ReasonCode =
    keyaki_controls::ReasonCode::UnresolvedValue;

/// Evaluates one stack (one scenario of a template).
pub fn evaluate_stack(
    stack: &Stack,
    params: &Parameters,
    generated_at: &str,
) -> Result<ScanReport, EvaluateError> {
    let (input, index) = account_input(stack);
    let mut report = keyaki_controls::evaluate_at(&input, params, generated_at.to_owned())?;
    annotate(&mut report, stack, &index);
    report.summary = Summary::of(&report.findings);
    Ok(report)
}

/// Evaluates the scenarios of one source (the assignments of its undecidable conditions)
/// and keeps, per control and resource, the worst finding: an `Fn::If` that cannot be
/// decided takes its worst branch.
pub fn evaluate_scenarios(
    scenarios: &[Stack],
    params: &Parameters,
    generated_at: &str,
) -> Result<ScanReport, EvaluateError> {
    let mut reports = Vec::with_capacity(scenarios.len());
    for stack in scenarios {
        reports.push(evaluate_stack(stack, params, generated_at)?);
    }
    let mut iter = reports.into_iter();
    let Some(mut merged) = iter.next() else {
        return Ok(empty_report(generated_at));
    };
    let labels: Vec<Option<String>> = scenarios.iter().map(|s| s.scenario.clone()).collect();
    if labels.len() > 1 {
        let mut statuses: HashMap<(String, String), Vec<Status>> = HashMap::new();
        let mut label_of: HashMap<(String, String), Option<String>> = HashMap::new();
        for f in &merged.findings {
            let key = (f.control.clone(), f.resource.reference().into_owned());
            statuses.entry(key.clone()).or_default().push(f.status);
            label_of.insert(key, labels[0].clone());
        }
        for (n, report) in iter.enumerate() {
            for f in report.findings {
                let key = (f.control.clone(), f.resource.reference().into_owned());
                statuses.entry(key.clone()).or_default().push(f.status);
                match merged
                    .findings
                    .iter_mut()
                    .find(|g| g.control == key.0 && g.resource.reference() == key.1)
                {
                    Some(kept) if rank(f.status) > rank(kept.status) => {
                        *kept = f;
                        label_of.insert(key, labels[n + 1].clone());
                    }
                    Some(_) => {}
                    None => {
                        merged.findings.push(f);
                        label_of.insert(key, labels[n + 1].clone());
                    }
                }
            }
            for p in report.problems {
                if !merged.problems.contains(&p) {
                    merged.problems.push(p);
                }
            }
        }
        for f in &mut merged.findings {
            let key = (f.control.clone(), f.resource.reference().into_owned());
            let all_same = statuses
                .get(&key)
                .is_some_and(|s| s.iter().all(|x| *x == f.status) && s.len() == labels.len());
            if !all_same {
                if let Some(Some(label)) = label_of.get(&key) {
                    f.reason.text = format!("{} (when {label})", f.reason.text).into();
                }
            }
        }
        merged.summary = Summary::of(&merged.findings);
    }
    Ok(merged)
}

fn rank(s: Status) -> u8 {
    match s {
        Status::Failed => 3,
        Status::NotAvailable => 2,
        Status::Warning => 1,
        Status::Passed => 0,
    }
}

/// A report with no finding (a directory with no stack, a template with no resource).
pub fn empty_report(generated_at: &str) -> ScanReport {
    ScanReport {
        account: String::new(),
        partition: String::new(),
        collected_at: None,
        generated_at: generated_at.to_owned(),
        controls: Vec::new(),
        not_evaluated: Vec::new(),
        findings: Vec::new(),
        problems: Vec::new(),
        summary: Summary::default(),
    }
}

/// The reports of several sources as one: findings and problems in order, controls in
/// registry order, each control that was not evaluated said once.
pub fn merge(reports: Vec<ScanReport>, generated_at: &str) -> ScanReport {
    let mut out = empty_report(generated_at);
    let mut evaluated: Vec<String> = Vec::new();
    let mut not_evaluated: Vec<NotEvaluated> = Vec::new();
    for r in reports {
        if out.account.is_empty() {
            out.account = r.account;
            out.partition = r.partition;
        }
        for c in r.controls {
            push_unique(&mut evaluated, &c);
        }
        for n in r.not_evaluated {
            if !not_evaluated.contains(&n) {
                not_evaluated.push(n);
            }
        }
        out.findings.extend(r.findings);
        out.problems.extend(r.problems);
    }
    out.controls = CONTROLS
        .iter()
        .map(|c| c.meta().id.to_owned())
        .filter(|id| evaluated.contains(id))
        .collect();
    // A control evaluated on some source is not said to be not evaluated.
    not_evaluated.retain(|n| !out.controls.contains(&n.control));
    out.not_evaluated = not_evaluated;
    out.summary = Summary::of(&out.findings);
    out
}

fn location(stack: &Stack, at: Pos) -> Box<SourceLocation> {
    Box::new(SourceLocation {
        file: stack.file.clone(),
        line: at.line as usize,
        column: at.column as usize,
    })
}

/// Gives every finding its source back and applies the pre-deploy rules.
fn annotate(report: &mut ScanReport, stack: &Stack, index: &Index) {
    // Problems the controls reported about their own model (JSON paths into it) are
    // replaced by the stack's, which name places in the source.
    let own = format!("{}: $", stack.file);
    report.problems.retain(|p| !p.location.starts_with(&own));
    report.problems.extend(stack.problems.iter().cloned());
    // A replaced key: KMS.3 judges the old key, KMS.4 the new one.
    report
        .findings
        .retain(|f| match index.get(f.resource.arn.as_str()) {
            Some(Target::Replacement(_)) => f.control != "KMS.3",
            Some(Target::Key(i)) => {
                f.control != "KMS.4"
                    || !stack.keys[*i].deletion.as_ref().is_some_and(|d| d.replaced)
            }
            _ => true,
        });
    for f in &mut report.findings {
        let Some(target) = index.get(f.resource.arn.as_str()).copied() else {
            continue;
        };
        match target {
            Target::Policy(i) => {
                let p = &stack.policies[i];
                set_origin(f, stack, &p.origin);
                let docs = [(None, p.document.as_ref())];
                locate_policies(f, stack, &p.origin, &docs);
                let mut unresolved = Vec::new();
                if let Ok(d) = &p.document {
                    unresolved.extend(d.unresolved.iter().cloned());
                }
                apply_rules(f, stack, p.document.as_ref().err(), &unresolved);
            }
            Target::Principal(i) => {
                let pr = &stack.principals[i];
                set_origin(f, stack, &pr.origin);
                let docs: Vec<(Option<&str>, Result<&Document, &Problem>)> = pr
                    .inline
                    .iter()
                    .map(|p| (Some(p.name.as_str()), p.document.as_ref()))
                    .collect();
                locate_policies(f, stack, &pr.origin, &docs);
                let mut unresolved = Vec::new();
                for p in &pr.inline {
                    if let Ok(d) = &p.document {
                        for u in &d.unresolved {
                            push_unique(&mut unresolved, u);
                        }
                    }
                }
                let problem = pr
                    .problem
                    .as_ref()
                    .or_else(|| pr.inline.iter().find_map(|p| p.document.as_ref().err()));
                apply_rules(f, stack, problem, &unresolved);
            }
            Target::Key(i) | Target::Replacement(i) => {
                let k = &stack.keys[i];
                set_origin(f, stack, &k.origin);
                let mut unresolved = Vec::new();
                if f.control == "KMS.3" {
                    if let Some(d) = &k.deletion {
                        f.resource.location = Some(location(stack, d.at));
                        f.reason.text = if d.deleted {
                            match d.window_days {
                                Some(days) => format!(
                                    "{}: the key's deletion will be scheduled, with a waiting period of {days} days",
                                    d.what
                                ),
                                None => format!("{}: the key's deletion will be scheduled", d.what),
                            }
                        } else {
                            d.what.clone()
                        }
                        .into();
                    }
                } else {
                    f.resource.location =
                        Some(location(stack, k.rotation_at.unwrap_or(k.origin.at)));
                    for known in [&k.spec, &k.key_origin] {
                        if let Known::Unknown(n) = known {
                            push_unique(&mut unresolved, n);
                        }
                    }
                    if let Known::Unknown(n) = &k.custom_key_store {
                        push_unique(&mut unresolved, n);
                    }
                    if let Some(Known::Unknown(n)) = &k.rotation {
                        push_unique(&mut unresolved, n);
                        if let Some(Evidence::KeyRotation {
                            rotation_enabled, ..
                        }) = &mut f.evidence
                        {
                            *rotation_enabled = None;
                        }
                    }
                }
                apply_rules(f, stack, k.problem.as_ref(), &unresolved);
            }
        }
    }
}

fn set_origin(f: &mut Finding, stack: &Stack, origin: &Origin) {
    f.resource.kind = origin.kind.as_str().into();
    f.resource.id = Some(origin.id.clone());
    f.resource.name = Some(origin.name.as_deref().unwrap_or(&origin.id).into());
    f.resource.arn = origin.arn.as_deref().unwrap_or_default().into();
    f.resource.location = Some(location(stack, origin.at));
    if let Some(Evidence::Policies { policies }) = &mut f.evidence {
        for p in policies.iter_mut() {
            p.policy_arn = p
                .policy_arn
                .take()
                .filter(|a| !a.contains("keyaki-iac/"))
                .or_else(|| origin.arn.clone().filter(|_| f.control == "KMS.1"));
            if f.control == "KMS.1" {
                p.version_id = None;
                f.reason.text = f
                    .reason
                    .text
                    .replacen("the default version `v1` ", "the policy ", 1)
                    .into();
                p.policy_name = origin.name.clone().unwrap_or_else(|| origin.id.clone());
            }
        }
    }
}

/// Statement lines in the evidence become lines of the source, and a FAILED finding points
/// at the first statement that grants a blocked action on all keys.
fn locate_policies(
    f: &mut Finding,
    stack: &Stack,
    origin: &Origin,
    docs: &[(Option<&str>, Result<&Document, &Problem>)],
) {
    let mut first: Option<Pos> = None;
    let mut fallback: Option<Pos> = None;
    if let Some(Evidence::Policies { policies }) = &mut f.evidence {
        for p in policies.iter_mut() {
            let doc = docs
                .iter()
                .find(|(name, _)| name.is_none() || *name == Some(p.policy_name.as_str()))
                .and_then(|(_, d)| d.ok());
            let Some(doc) = doc else {
                continue;
            };
            if fallback.is_none() {
                fallback = Some(doc.at);
            }
            relocate(p, doc);
            if p.verdict == keyaki_controls::PolicyVerdict::Failed && first.is_none() {
                first = p
                    .actions
                    .iter()
                    .filter(|a| a.allowed_on_all_keys == Some(true))
                    .flat_map(|a| a.statements.iter())
                    .find_map(|s| doc.statements.get(s.index).copied());
            }
        }
    }
    let at = match f.status {
        Status::Failed => first.or(fallback).unwrap_or(origin.at),
        _ => origin.at,
    };
    f.resource.location = Some(location(stack, at));
}

fn relocate(p: &mut PolicyEvidence, doc: &Document) {
    for a in &mut p.actions {
        for s in &mut a.statements {
            s.line = doc.statements.get(s.index).map(|at| at.line as usize);
        }
    }
}

/// FAILED stays FAILED (it fails whatever the unknown values are); anything else on a
/// resource with a problem is NOT_AVAILABLE with it, and on a resource whose answer
/// depends on unknown values NOT_AVAILABLE `UNRESOLVED_VALUE`.
fn apply_rules(f: &mut Finding, stack: &Stack, problem: Option<&Problem>, unresolved: &[String]) {
    if f.status == Status::Failed {
        return;
    }
    if let Some(p) = problem {
        f.status = Status::NotAvailable;
        f.severity = severity_of(f);
        f.reason.code = p.code;
        f.reason.text = format!(
            "{} (at {}:{}:{})",
            p.message, stack.file, p.at.line, p.at.column
        )
        .into();
        return;
    }
    if unresolved.is_empty() {
        return;
    }
    let names: Vec<&str> = unresolved.iter().map(String::as_str).collect();
    f.status = Status::NotAvailable;
    f.severity = severity_of(f);
    f.reason.code = UNRESOLVED_VALUE;
    f.reason.text = format!(
        "depends on values unknown before deploy: {}; with the values that allow the least it does not fail, so it may pass or fail once deployed",
        names.join("; ")
    )
    .into();
}

fn severity_of(f: &Finding) -> Severity {
    keyaki_controls::registry::find(&f.control).map_or(f.severity, |m| m.severity)
}

/// An input problem at a place of a stack's file.
pub fn problem_at(file: &str, at: Pos, message: impl Into<String>) -> InputProblem {
    InputProblem {
        location: format!("{file}:{}:{}", at.line, at.column),
        message: message.into(),
    }
}
