//! One module per subcommand.

pub mod aws_args;
pub mod collect;
pub mod controls;
pub mod diff;
pub mod export;
pub mod findings;
pub mod policy;
pub mod runs;
pub mod scan;

/// Options every subcommand sees.
#[derive(Debug, Clone, Copy)]
pub struct Global {
    pub verbose: u8,
    pub quiet: bool,
}

impl Global {
    pub fn init_logging(&self) {
        let level = match self.verbose {
            0 => "warn",
            1 => "keyaki=info,keyaki_aws=info",
            _ => "debug",
        };
        let filter = tracing_subscriber::EnvFilter::try_from_env("KEYAKI_LOG")
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_target(false)
            .try_init();
    }
}
