//! `keyaki`: checks AWS accounts against the AWS Security Hub KMS controls.
//!
//! This binary is a thin layer: it parses arguments, reads files, talks to the
//! libraries, and maps outcomes to exit codes (0 clean, 1 findings, 2 could not run).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod commands;
mod exit;
mod input;
mod output;

#[derive(Debug, Parser)]
#[command(name = "keyaki", version, about, long_about = None)]
struct Cli {
    /// More detail on stderr; repeat for more (-vv: debug logging).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// No progress bars or informational messages on stderr.
    #[arg(short, long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decide whether IAM policy documents allow KMS decryption on all keys (KMS.1/KMS.2 core).
    Policy(commands::policy::PolicyArgs),
    /// Write a least-privilege version of a policy that fails KMS.1/KMS.2, with its proof.
    Fix(commands::fix::FixArgs),
    /// Evaluate the KMS controls over an account (live through AWS, or offline with --input).
    Scan(Box<commands::scan::ScanArgs>),
    #[cfg(feature = "aws")]
    /// Collect an account snapshot from AWS for offline evaluation.
    Collect(commands::collect::CollectArgs),
    /// Who can use a KMS key (or which keys a principal can use), with the statements that let them.
    Access(Box<commands::access::AccessArgs>),
    /// List the controls and their metadata.
    Controls(commands::controls::ControlsArgs),
    /// List and triage findings kept in the findings store.
    Findings(commands::findings::FindingsArgs),
    /// List the scans recorded in the findings store.
    Runs(commands::runs::RunsArgs),
    /// Show what changed between two recorded scans.
    Diff(commands::diff::DiffArgs),
    #[cfg(feature = "aws")]
    /// Export findings to other systems (Security Hub).
    Export(commands::export::ExportArgs),
    #[cfg(feature = "aws")]
    /// Keep the findings store current: re-evaluate on the IAM/KMS change events of an SQS queue.
    Watch(Box<commands::watch::WatchArgs>),
}

// A scan allocates many small, short-lived values (statements, position sets, findings):
// mimalloc is markedly faster at that than the system allocator (see the README's figures).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let global = commands::Global {
        verbose: cli.verbose,
        quiet: cli.quiet,
    };
    global.init_logging();
    let result = match cli.command {
        Command::Policy(args) => commands::policy::run(&global, args),
        Command::Fix(args) => commands::fix::run(&global, args),
        Command::Scan(args) => commands::scan::run(&global, *args),
        #[cfg(feature = "aws")]
        Command::Collect(args) => commands::collect::run(&global, args),
        Command::Access(args) => commands::access::run(&global, *args),
        Command::Controls(args) => commands::controls::run(&global, args),
        Command::Findings(args) => commands::findings::run(&global, args),
        Command::Runs(args) => commands::runs::run(&global, args),
        Command::Diff(args) => commands::diff::run(&global, args),
        #[cfg(feature = "aws")]
        Command::Export(args) => commands::export::run(&global, args),
        #[cfg(feature = "aws")]
        Command::Watch(args) => commands::watch::run(&global, *args),
    };
    match result {
        Ok(code) => code.into(),
        // a reader that stopped reading (`keyaki … | head`) is not an error
        Err(err) if exit::is_broken_pipe(&err) => exit::Code::Clean.into(),
        Err(err) => {
            eprintln!(
                "keyaki: error: {}",
                keyaki_report::text::printable_lines(&format!("{err:#}"))
            );
            if global.verbose > 0 {
                if let Some(detail) = exit::detail(&err) {
                    eprintln!(
                        "keyaki: detail: {}",
                        keyaki_report::text::printable_lines(&detail)
                    );
                }
            }
            exit::Code::Error.into()
        }
    }
}
