//! `keyaki fix`: a least-privilege version of a policy that fails KMS.1/KMS.2, with its proof
//! ([`keyaki_policy::fix_policy`]): the statements that grant a blocked action on all keys are
//! narrowed to the keys given, the result passes the control, and it grants no access the
//! original does not (for every action and resource).
//!
//! The policy is a file, or (`--input SNAPSHOT --resource ARN`) the policy of a KMS.1/KMS.2
//! finding in a snapshot: a customer managed policy's default version, or the inline policy of
//! a user, role or group (`--policy-name` when it has more than one).
//!
//! Output: the new document on stdout and the report on stderr; `--format json` prints
//! `{"source", "fixed", "passes", "no_new_access", "removed", "reason"}` on stdout. `--write`
//! replaces the file atomically, only with a proved fix.
//!
//! Exit status: 0 a proved fix (or nothing to fix); 1 no proved fix (the reason says why);
//! 2 bad input or usage.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use keyaki_controls::snapshot::Snapshot;
use keyaki_policy::{fix_policy, Budget, Fix, Policy, Query, QueryOptions};
use keyaki_report::text::printable;
use serde_json::{json, Value};

use super::Global;
use crate::exit::Code;

#[derive(Debug, clap::Args)]
pub struct FixArgs {
    /// The policy document to fix (`-` for stdin). Not with `--input`.
    #[arg(
        value_name = "FILE",
        required_unless_present = "input",
        conflicts_with = "input"
    )]
    pub file: Option<String>,
    /// A snapshot (`keyaki-snapshot/1`) holding the policy of the finding (with `--resource`).
    #[arg(long, value_name = "SNAPSHOT", requires = "resource")]
    pub input: Option<String>,
    /// With `--input`: the finding's resource, a customer managed policy ARN (KMS.1) or the
    /// ARN of a user, role or group with inline policies (KMS.2).
    #[arg(long, value_name = "ARN", requires = "input")]
    pub resource: Option<String>,
    /// With `--input` and a principal: the inline policy to fix.
    #[arg(long, value_name = "NAME", requires = "input")]
    pub policy_name: Option<String>,
    /// The keys the blocked actions stay allowed on (comma-separated key ARNs). With
    /// `--input` and without `--keys`: the snapshot's keys (in `--regions`, when given).
    #[arg(long, value_name = "ARN,...", value_delimiter = ',')]
    pub keys: Vec<String>,
    /// With `--input`: the regions whose keys stay allowed (comma-separated).
    #[arg(
        long,
        value_name = "REGION,...",
        value_delimiter = ',',
        requires = "input"
    )]
    pub regions: Vec<String>,
    /// Blocked actions (as for `keyaki policy`).
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "kms:Decrypt,kms:ReEncryptFrom"
    )]
    pub actions: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FixFormat::Text)]
    pub format: FixFormat,
    /// Replace FILE with the fixed document (atomically; only with a proved fix).
    #[arg(long, requires = "file")]
    pub write: bool,
    /// Automaton states the inclusion proof may explore before it answers UNKNOWN.
    #[arg(long, value_name = "N", default_value_t = Budget::default().max_states)]
    pub max_states: usize,
    /// Milliseconds the inclusion proof may take before it answers UNKNOWN.
    #[arg(long, value_name = "MS", default_value_t = Budget::default().max_millis)]
    pub max_millis: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FixFormat {
    /// The new document on stdout, the report on stderr.
    Text,
    /// `{"source", "fixed", "passes", "no_new_access", "removed", "reason"}` on stdout.
    Json,
}

pub fn run(_global: &Global, args: FixArgs) -> anyhow::Result<Code> {
    let query = Query::new(QueryOptions {
        actions: args.actions.iter().map(|a| a.trim().to_owned()).collect(),
        ..QueryOptions::default()
    })?;
    let (source, policy, snapshot_keys) = match (&args.file, &args.input) {
        (Some(file), _) => (file.clone(), super::policy_check::read_policy(file)?, None),
        (None, Some(input)) => {
            let resource = args.resource.as_deref().unwrap_or_default();
            let (source, policy, keys) = from_snapshot(input, resource, &args)?;
            (source, policy, Some(keys))
        }
        (None, None) => anyhow::bail!("give a policy FILE, or `--input SNAPSHOT --resource ARN`"),
    };
    let keys: Vec<String> = if !args.keys.is_empty() {
        args.keys.iter().map(|k| k.trim().to_owned()).collect()
    } else {
        snapshot_keys.unwrap_or_default()
    };
    if let Some(bad) = keys.iter().find(|k| !k.starts_with("arn:")) {
        anyhow::bail!("`{bad}` in `--keys` is not a key ARN");
    }
    let budget = Budget {
        max_states: args.max_states,
        max_millis: args.max_millis,
    };
    let fix = fix_policy(&policy, &query, &keys, &budget);
    if args.write {
        if let (Some(doc), Some(file)) = (&fix.fixed, &args.file) {
            if file != "-" {
                crate::output::to_file_atomically(Path::new(file), |out: &mut dyn Write| {
                    serde_json::to_writer_pretty(&mut *out, doc)?;
                    writeln!(out)?;
                    Ok(())
                })?;
            }
        }
    }
    match args.format {
        FixFormat::Json => crate::output::to_stdout("report", |out: &mut dyn Write| {
            serde_json::to_writer_pretty(&mut *out, &report_json(&source, &fix))?;
            writeln!(out)?;
            Ok(())
        })?,
        FixFormat::Text => {
            if let Some(doc) = &fix.fixed {
                crate::output::to_stdout("fixed document", |out: &mut dyn Write| {
                    serde_json::to_writer_pretty(&mut *out, doc)?;
                    writeln!(out)?;
                    Ok(())
                })?;
            }
            eprint!("{}", report_text(&source, &fix, args.write));
        }
    }
    let nothing_to_fix =
        fix.fixed.is_none() && fix.passes == Some(true) && fix.no_new_access == Some(true);
    Ok(if fix.fixed.is_some() || nothing_to_fix {
        Code::Clean
    } else {
        Code::Findings
    })
}

fn tri(v: Option<bool>) -> Value {
    v.map_or(Value::String("UNKNOWN".into()), Value::Bool)
}

fn report_json(source: &str, fix: &Fix) -> Value {
    let mut v = json!({
        "source": source,
        "fixed": fix.fixed,
        "passes": tri(fix.passes),
        "no_new_access": tri(fix.no_new_access),
        "removed": fix.removed,
        "reason": fix.reason,
    });
    if let Some(n) = &fix.new_access {
        v["new_access"] = json!({
            "action": n.action,
            "resource": n.resource,
            "statement": n.statement,
            "conditions": n.conditions,
            "reading": n.reading,
        });
    }
    v
}

fn report_text(source: &str, fix: &Fix, wrote: bool) -> String {
    let yes_no = |v: Option<bool>| match v {
        Some(true) => "yes",
        Some(false) => "no",
        None => "UNKNOWN",
    };
    let mut text = String::new();
    let head = if fix.fixed.is_some() {
        "FIXED"
    } else if fix.passes == Some(true) && fix.no_new_access == Some(true) {
        "NOTHING TO FIX"
    } else {
        "NO FIX"
    };
    text.push_str(&format!("{head}  {}\n", printable(source)));
    text.push_str(&format!(
        "  passes the control: {}; grants no new access: {}\n",
        yes_no(fix.passes),
        yes_no(fix.no_new_access)
    ));
    for r in &fix.removed {
        text.push_str(&format!("  removes {}\n", printable(r)));
    }
    if let Some(reason) = &fix.reason {
        text.push_str(&format!("  {}\n", printable(reason)));
    }
    if wrote && fix.fixed.is_some() {
        text.push_str(&format!("  written to {}\n", printable(source)));
    }
    text
}

/// The policy of a KMS.1/KMS.2 finding in a snapshot, and the snapshot's key ARNs.
fn from_snapshot(
    input: &str,
    resource: &str,
    args: &FixArgs,
) -> anyhow::Result<(String, Policy, Vec<String>)> {
    let text = std::fs::read_to_string(input).with_context(|| format!("cannot read `{input}`"))?;
    let snapshot: Snapshot = serde_json::from_str(&text)
        .with_context(|| format!("`{input}` is not a keyaki-snapshot/1 document"))?;
    let iam = snapshot
        .iam
        .as_ref()
        .with_context(|| format!("`{input}` holds no IAM data"))?;
    let parse = |doc: &keyaki_controls::snapshot::Document, what: &str| -> anyhow::Result<Policy> {
        let text = doc
            .text()
            .with_context(|| format!("{what} in `{input}` is not a policy document"))?;
        Policy::parse(&text).map_err(|e| anyhow::anyhow!("{what} in `{input}`: {}", e.message))
    };
    let (source, policy) = if let Some(p) = iam.policies.iter().find(|p| p.arn == resource) {
        let version = p
            .policy_version_list
            .iter()
            .find(|v| v.is_default_version)
            .and_then(|v| v.document.as_ref())
            .with_context(|| format!("`{resource}` has no default version in `{input}`"))?;
        (
            format!("{input}: {resource}"),
            parse(version, &format!("`{resource}`"))?,
        )
    } else {
        let inline = iam
            .user_detail_list
            .iter()
            .find(|u| u.arn == resource)
            .map(|u| &u.user_policy_list)
            .or_else(|| {
                iam.role_detail_list
                    .iter()
                    .find(|r| r.arn == resource)
                    .map(|r| &r.role_policy_list)
            })
            .or_else(|| {
                iam.group_detail_list
                    .iter()
                    .find(|g| g.arn == resource)
                    .map(|g| &g.group_policy_list)
            })
            .with_context(|| {
                format!("no managed policy, user, role or group `{resource}` in `{input}`")
            })?;
        let names: Vec<&str> = inline
            .iter()
            .filter_map(|p| p.policy_name.as_deref())
            .collect();
        let chosen = match &args.policy_name {
            Some(name) => inline
                .iter()
                .find(|p| p.policy_name.as_deref() == Some(name.as_str()))
                .with_context(|| {
                    format!("`{resource}` has no inline policy `{name}` (it has: {names:?})")
                })?,
            None if inline.len() == 1 => &inline[0],
            None => anyhow::bail!(
                "`{resource}` has {} inline policies; choose one with `--policy-name` ({names:?})",
                inline.len()
            ),
        };
        let name = chosen.policy_name.clone().unwrap_or_default();
        let doc = chosen
            .policy_document
            .as_ref()
            .with_context(|| format!("inline policy `{name}` of `{resource}` has no document"))?;
        (
            format!("{input}: {resource} inline policy {name}"),
            parse(doc, &format!("inline policy `{name}` of `{resource}`"))?,
        )
    };
    let mut keys = Vec::new();
    for (region, records) in snapshot.kms.iter().flatten() {
        if !args.regions.is_empty() && !args.regions.iter().any(|r| r == region) {
            continue;
        }
        for k in records {
            let arn = k
                .key_metadata
                .as_ref()
                .and_then(|m| m.get("Arn"))
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| k.key_arn.clone().filter(|a| a.starts_with("arn:")));
            if let Some(arn) = arn {
                keys.push(arn);
            }
        }
    }
    Ok((source, policy, keys))
}
