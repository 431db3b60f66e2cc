//! One module per subcommand.

#[cfg(feature = "aws")]
pub mod aws_args;
#[cfg(feature = "aws")]
pub mod collect;
pub mod controls;
pub mod diff;
#[cfg(feature = "aws")]
pub mod export;
pub mod findings;
pub mod fix;
#[cfg(feature = "aws")]
pub mod organization;
pub mod policy;
pub mod policy_check;
pub mod predeploy;
pub mod record;
pub mod runs;
pub mod scan;
#[cfg(feature = "aws")]
pub mod watch;

// `keyaki access` and the organisation policies it reads from files.
pub mod access;
pub mod org_files;

/// Options every subcommand sees.
#[derive(Debug, Clone, Copy)]
pub struct Global {
    pub verbose: u8,
    pub quiet: bool,
}

impl Global {
    /// Logging on stderr. By default only keyaki's own warnings; `-v` adds keyaki's
    /// progress (each AWS API call of live commands) and the AWS SDK's warnings; `-vv`
    /// everything at debug level. `KEYAKI_LOG` (an `EnvFilter` directive) overrides.
    /// Colours only when stderr is a terminal.
    pub fn init_logging(&self) {
        use std::io::IsTerminal;

        let level = match self.verbose {
            0 => "off,keyaki=warn,keyaki_aws=warn,keyaki_store=warn",
            1 => "warn,keyaki=info,keyaki_aws=info,keyaki_store=info",
            _ => "debug",
        };
        let filter = tracing_subscriber::EnvFilter::try_from_env("KEYAKI_LOG")
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .with_target(false)
            .try_init();
    }
}

/// A severity on the command line (`--fail-on`, `--severity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SeverityArg {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

/// Reads one word of `--fail-on-scope` (`unconditional`, `other`, `context`, `caller`,
/// `service`).
pub fn parse_scope(text: &str) -> Result<keyaki_policy::Scope, String> {
    keyaki_policy::Scope::from_word(text).ok_or_else(|| {
        format!(
            "`{text}` is not a scope (expected `unconditional`, `other`, `context`, `caller` or `service`)"
        )
    })
}

/// The narrowest scope of a `--fail-on-scope` list: a grant fails the run when its scope is
/// this one or wider (`None`: every grant does).
pub fn scope_threshold(scopes: &[keyaki_policy::Scope]) -> Option<keyaki_policy::Scope> {
    scopes.iter().copied().min()
}

impl From<SeverityArg> for keyaki_controls::finding::Severity {
    fn from(s: SeverityArg) -> keyaki_controls::finding::Severity {
        use keyaki_controls::finding::Severity;
        match s {
            SeverityArg::Informational => Severity::Informational,
            SeverityArg::Low => Severity::Low,
            SeverityArg::Medium => Severity::Medium,
            SeverityArg::High => Severity::High,
            SeverityArg::Critical => Severity::Critical,
        }
    }
}
