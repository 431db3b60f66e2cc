//! `keyaki access`: who can perform a KMS action on a key, or which keys a principal can
//! use, over a snapshot (`--input`) or the live account, with the statements that let them
//! (the reasoning: `keyaki_controls::access`).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use keyaki_controls::access::{self, AccessReport, Selection};
use keyaki_report::text::printable;

use super::org_files::OrgFileArgs;
use super::Global;
use crate::exit::Code;
use crate::output;

#[derive(Debug, clap::Args)]
#[cfg_attr(feature = "aws", command(group(clap::ArgGroup::new("assumes_role").args(["role_arn"]).multiple(true))))]
pub struct AccessArgs {
    /// A keyaki snapshot (`keyaki-snapshot/1`). Without it, the live account is read.
    #[arg(long, value_name = "PATH", required = cfg!(not(feature = "aws")))]
    pub input: Option<PathBuf>,
    /// The principals that can use this key (its ARN).
    #[arg(long, value_name = "ARN", conflicts_with = "principal")]
    pub key: Option<String>,
    /// The keys this principal (a user or role ARN) can use.
    #[arg(long, value_name = "ARN")]
    pub principal: Option<String>,
    /// The KMS action to answer for. Without `--key` or `--principal`, the answer is the
    /// whole key × principal matrix.
    #[arg(long, value_name = "ACTION", default_value = "kms:Decrypt")]
    pub action: String,
    /// Output format (default: `table` when stdout is a terminal, `json` otherwise); `html`
    /// is a key × principal matrix.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<AccessFormat>,
    /// Write the answer to FILE (atomically) instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub org: OrgFileArgs,
    #[cfg(feature = "aws")]
    #[command(flatten, next_help_heading = "Live account (without --input)")]
    pub aws: super::aws_args::AwsArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AccessFormat {
    Table,
    Json,
    /// A key × principal matrix, one self-contained page.
    Html,
}

pub fn run(global: &Global, args: AccessArgs) -> anyhow::Result<Code> {
    let (input, org) = match &args.input {
        Some(path) => {
            if args.org.organization_policies {
                anyhow::bail!("`--organization-policies` reads a live account: leave out `--input`, or give the policies as files with `--scp`/`--rcp`");
            }
            let name = path.display().to_string();
            let text =
                std::fs::read_to_string(path).with_context(|| format!("cannot read `{name}`"))?;
            let input = keyaki_controls::input::read(&name, &text)?;
            let org = keyaki_controls::input::organization_policies(&name, &text)?;
            (input, org)
        }
        None => live(global, &args)?,
    };
    let org = args.org.merge(org)?;
    let selection = match (&args.key, &args.principal) {
        (Some(k), _) => Selection::Key(k.clone()),
        (None, Some(p)) => Selection::Principal(p.clone()),
        (None, None) => Selection::All,
    };
    let report = access::evaluate(&input, org.as_ref(), &args.action, &selection)?;
    let action = access::canonical_action(&args.action)?;
    let format = args.format.unwrap_or_else(|| {
        use std::io::IsTerminal;
        if args.output.is_none() && std::io::stdout().is_terminal() {
            AccessFormat::Table
        } else {
            AccessFormat::Json
        }
    });
    let write = |out: &mut dyn Write| -> anyhow::Result<()> {
        match format {
            AccessFormat::Json => {
                serde_json::to_writer_pretty(&mut *out, &report)?;
                writeln!(out)?;
            }
            AccessFormat::Table => table(out, &report)?,
            AccessFormat::Html => keyaki_report::write_access_html(&report, action, out)?,
        }
        Ok(())
    };
    match &args.output {
        Some(path) if path.as_os_str() != "-" => output::to_file_atomically(path, write)?,
        _ => output::to_stdout("answer", write)?,
    }
    Ok(Code::Clean)
}

#[cfg(feature = "aws")]
fn live(
    global: &Global,
    args: &AccessArgs,
) -> anyhow::Result<(
    keyaki_controls::AccountInput,
    Option<keyaki_controls::snapshot::OrganizationPolicies>,
)> {
    let snapshot = super::aws_args::collect_live(global, &args.aws)?;
    let org = args.org.fetch(&args.aws, &snapshot.account_id)?;
    let input = keyaki_controls::input::from_snapshot("live account", &snapshot)?;
    Ok((input, org))
}

#[cfg(not(feature = "aws"))]
fn live(
    _global: &Global,
    _args: &AccessArgs,
) -> anyhow::Result<(
    keyaki_controls::AccountInput,
    Option<keyaki_controls::snapshot::OrganizationPolicies>,
)> {
    anyhow::bail!("this keyaki was built without AWS access (the `aws` feature): pass `--input`")
}

fn step_text(s: &access::PathStep) -> String {
    let mut t = format!("{} `{}`", s.kind.replace('_', " "), s.policy);
    if let Some(i) = s.statement {
        t.push_str(&format!(" statement {i}"));
    }
    if let Some(sid) = &s.sid {
        t.push_str(&format!(" ({sid})"));
    }
    if let Some(through) = &s.through {
        t.push_str(&format!(" via {through}"));
    }
    t
}

/// One block per access: principal, key, path; conditions below a conditional one.
fn table(out: &mut dyn Write, report: &AccessReport) -> std::io::Result<()> {
    let (plain, conditional): (Vec<_>, Vec<_>) = report.access.iter().partition(|a| !a.conditional);
    for (title, list) in [("ACCESS", plain), ("CONDITIONAL ACCESS", conditional)] {
        writeln!(out, "{title} ({})", list.len())?;
        for a in list {
            writeln!(
                out,
                "  {}  {}  {}",
                printable(&a.principal),
                printable(&a.action),
                printable(&a.key)
            )?;
            for s in &a.path {
                writeln!(out, "      path: {}", printable(&step_text(s)))?;
            }
            for c in &a.conditions {
                let must = if c.effect == "Allow" { "if" } else { "unless" };
                writeln!(
                    out,
                    "      {must}: {} {} {} ({} `{}`)",
                    printable(&c.operator),
                    printable(&c.key),
                    printable(&c.values.join(", ")),
                    c.kind.replace('_', " "),
                    printable(&c.policy)
                )?;
            }
        }
    }
    writeln!(out, "NOT AVAILABLE ({})", report.not_available.len())?;
    for n in &report.not_available {
        writeln!(
            out,
            "  {}  {}  {}",
            printable(n.subject()),
            n.reason.code(),
            printable(&n.message)
        )?;
    }
    Ok(())
}
