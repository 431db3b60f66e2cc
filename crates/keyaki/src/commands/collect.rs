//! `keyaki collect`: reads an account live and writes a keyaki snapshot for offline,
//! repeatable evaluation (`keyaki scan --input`) and audit evidence.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::aws_args::{collect_live, AwsArgs};
use super::Global;
use crate::exit::Code;
use crate::output;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("assumes_role").args(["role_arn", "organization"]).multiple(true)))]
pub struct CollectArgs {
    /// Write the snapshot here (atomically: a temporary file in the same directory, then a
    /// rename); `-` or no option: standard output.
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub org_policies: super::org_files::OrgFileArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Every account of an organization: `-o DIR` gets one snapshot per account,
    /// `DIR/ACCOUNT.json`.
    #[command(flatten)]
    pub org: super::organization::OrgArgs,
}

pub fn run(global: &Global, args: CollectArgs) -> anyhow::Result<Code> {
    if args.org.organization {
        let Some(dir) = args.output.as_deref().filter(|p| *p != Path::new("-")) else {
            anyhow::bail!(
                "`--organization` writes one snapshot per account: give a directory with `-o DIR`"
            );
        };
        return super::organization::collect(global, &args.aws, &args.org, dir);
    }
    let snapshot = collect_live(global, &args.aws)?;
    let snapshot = args.org_policies.add_live(&args.aws, snapshot)?;
    let write = |out: &mut dyn Write| -> anyhow::Result<()> {
        serde_json::to_writer_pretty(&mut *out, &snapshot)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out))
            .context("could not write the snapshot")
    };
    match args.output.as_deref() {
        None => output::to_stdout("snapshot", write)?,
        Some(p) if p == Path::new("-") => output::to_stdout("snapshot", write)?,
        Some(path) => {
            output::to_file_atomically(path, write)?;
            if !global.quiet {
                eprintln!("keyaki: wrote `{}`", path.display());
            }
        }
    }
    Ok(Code::Clean)
}
