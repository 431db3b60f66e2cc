//! `keyaki policy check-no-new-access` and `keyaki policy check-access-not-granted`: the custom
//! policy checks of IAM Access Analyzer, offline, decided by the core's inclusion check
//! ([`keyaki_policy::check_no_new_access`]) for every action and resource.
//!
//! Exit status: 0 PASS; 1 FAIL or UNKNOWN (undecided is never a pass); 2 a policy that cannot
//! be read, or a usage error.

use std::io::Write;

use anyhow::Context;
use keyaki_policy::{check_no_new_access, Budget, Inclusion, NewAccess, Policy};
use keyaki_report::text::printable;
use serde::Serialize;
use serde_json::json;

use super::Global;
use crate::exit::Code;

#[derive(Debug, clap::Subcommand)]
pub enum PolicyCheck {
    /// Does POLICY grant any access that the reference policy does not? (Access Analyzer's
    /// CheckNoNewAccess, offline, for every action and resource.)
    CheckNoNewAccess(NoNewAccessArgs),
    /// Does POLICY grant any of these actions (on these resources)? (Access Analyzer's
    /// CheckAccessNotGranted, offline.)
    CheckAccessNotGranted(AccessNotGrantedArgs),
}

#[derive(Debug, clap::Args)]
pub struct NoNewAccessArgs {
    /// The reference policy (the access already granted); `-` for stdin.
    #[arg(long, value_name = "OLD.json")]
    pub reference: String,
    /// The policy to check; `-` for stdin.
    #[arg(value_name = "NEW.json")]
    pub policy: String,
    #[command(flatten)]
    pub common: CheckOptions,
}

#[derive(Debug, clap::Args)]
pub struct AccessNotGrantedArgs {
    /// Actions (comma-separated, `*` and `?` allowed, compared without case).
    #[arg(long, value_name = "A[,B...]", value_delimiter = ',', required = true)]
    pub action: Vec<String>,
    /// Resources (comma-separated or repeated; IAM resource patterns). Default: any resource.
    #[arg(long, value_name = "R", value_delimiter = ',')]
    pub resource: Vec<String>,
    /// The policy to check; `-` for stdin.
    #[arg(value_name = "POLICY")]
    pub policy: String,
    #[command(flatten)]
    pub common: CheckOptions,
}

#[derive(Debug, clap::Args)]
pub struct CheckOptions {
    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Table)]
    pub format: CheckFormat,
    /// Automaton states the check may explore before it answers UNKNOWN.
    #[arg(long, value_name = "N", default_value_t = Budget::default().max_states)]
    pub max_states: usize,
    /// Milliseconds the check may take before it answers UNKNOWN.
    #[arg(long, value_name = "MS", default_value_t = Budget::default().max_millis)]
    pub max_millis: u64,
}

impl CheckOptions {
    fn budget(&self) -> Budget {
        Budget {
            max_states: self.max_states,
            max_millis: self.max_millis,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckFormat {
    /// A line with the result, then one line per reason.
    Table,
    /// `{"result": "PASS"|"FAIL"|"UNKNOWN", "message", "reasons": [...]}`.
    Json,
}

/// One reason of a check's answer, in Access Analyzer's shape with keyaki's evidence.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reason {
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement_index: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Condition blocks assumed to hold (normalised); every other one is assumed not to.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<String>,
}

/// The answer of a check.
#[derive(Debug, Serialize)]
pub struct CheckResult {
    pub result: &'static str,
    pub message: String,
    pub reasons: Vec<Reason>,
}

impl CheckResult {
    fn code(&self) -> Code {
        if self.result == "PASS" {
            Code::Clean
        } else {
            Code::Findings
        }
    }
}

pub fn run(_global: &Global, check: PolicyCheck) -> anyhow::Result<Code> {
    let (result, format) = match check {
        PolicyCheck::CheckNoNewAccess(args) => {
            let old = read_policy(&args.reference)?;
            let new = read_policy(&args.policy)?;
            let answer = check_no_new_access(&old, &new, &args.common.budget());
            (
                result_of(
                    answer,
                    "the policy grants no access that the reference does not",
                    |n| {
                        format!(
                            "the policy grants `{}` on `{}`, which the reference policy does not",
                            n.action, n.resource
                        )
                    },
                ),
                args.common.format,
            )
        }
        PolicyCheck::CheckAccessNotGranted(args) => {
            let policy = read_policy(&args.policy)?;
            let asked = asked_access(&args.action, &args.resource)?;
            let answer = check_no_new_access(&asked, &policy, &args.common.budget());
            (
                result_of(answer, "the policy grants none of the access given", |n| {
                    format!("the policy grants `{}` on `{}`", n.action, n.resource)
                }),
                args.common.format,
            )
        }
    };
    write_result(&result, format)?;
    Ok(result.code())
}

/// A policy that allows everything but the access asked about: the policy checked is included
/// in it exactly when it grants none of that access.
fn asked_access(actions: &[String], resources: &[String]) -> anyhow::Result<Policy> {
    let actions: Vec<&str> = actions.iter().map(|a| a.trim()).collect();
    if actions.iter().any(|a| a.is_empty()) {
        anyhow::bail!("empty action in `--action`");
    }
    let resources: Vec<&str> = resources.iter().map(|r| r.trim()).collect();
    if resources.iter().any(|r| r.is_empty()) {
        anyhow::bail!("empty resource in `--resource`");
    }
    let mut statements = vec![json!({"Effect": "Allow", "NotAction": actions, "Resource": "*"})];
    if !resources.is_empty() {
        statements.push(json!({"Effect": "Allow", "Action": "*", "NotResource": resources}));
    }
    let doc = json!({"Version": "2012-10-17", "Statement": statements});
    Policy::parse_value(&doc).map_err(|e| anyhow::anyhow!("the access given is not valid: {e}"))
}

fn result_of(answer: Inclusion, pass: &str, fail: impl Fn(&NewAccess) -> String) -> CheckResult {
    match answer {
        Inclusion::Included => CheckResult {
            result: "PASS",
            message: pass.to_owned(),
            reasons: Vec::new(),
        },
        Inclusion::NewAccess(n) => {
            let mut description = fail(&n);
            if !n.conditions.is_empty() {
                description.push_str(
                    ", if the conditions listed hold (keyaki does not evaluate conditions)",
                );
            }
            CheckResult {
                result: "FAIL",
                message: description.clone(),
                reasons: vec![Reason {
                    description,
                    statement_index: Some(n.statement),
                    statement_id: n.sid,
                    action: Some(n.action),
                    resource: Some(n.resource),
                    conditions: n.conditions,
                }],
            }
        }
        Inclusion::Unknown { reason } => CheckResult {
            result: "UNKNOWN",
            message: reason.clone(),
            reasons: vec![Reason {
                description: reason,
                statement_index: None,
                statement_id: None,
                action: None,
                resource: None,
                conditions: Vec::new(),
            }],
        },
    }
}

fn write_result(result: &CheckResult, format: CheckFormat) -> anyhow::Result<()> {
    crate::output::to_stdout("result", |out: &mut dyn Write| {
        match format {
            CheckFormat::Json => {
                serde_json::to_writer_pretty(&mut *out, result)?;
                writeln!(out)?;
            }
            CheckFormat::Table => {
                writeln!(out, "{}: {}", result.result, printable(&result.message))?;
                for r in &result.reasons {
                    if let Some(i) = r.statement_index {
                        let sid = r
                            .statement_id
                            .as_deref()
                            .map(|s| format!(" (`{}`)", printable(s)))
                            .unwrap_or_default();
                        writeln!(out, "  statement {i}{sid}")?;
                    }
                    for c in &r.conditions {
                        writeln!(out, "  assuming {}", printable(c))?;
                    }
                }
            }
        }
        Ok(())
    })
}

/// Reads and parses one policy document (`-`: stdin); errors name the file and the place.
pub fn read_policy(path: &str) -> anyhow::Result<Policy> {
    let text = if path == "-" {
        std::io::read_to_string(std::io::stdin()).context("cannot read standard input")?
    } else {
        std::fs::read_to_string(path).with_context(|| format!("cannot read `{path}`"))?
    };
    Policy::parse(&text).map_err(|e| {
        let place = match (e.line, e.column) {
            (Some(l), Some(c)) => format!("{path}:{l}:{c}"),
            _ => path.to_owned(),
        };
        let at = e
            .path
            .as_deref()
            .map(|p| format!(" at `{p}`"))
            .unwrap_or_default();
        anyhow::anyhow!("{place}: {}{at}", e.message)
    })
}
