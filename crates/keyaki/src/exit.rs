//! Exit codes that scripts and CI can rely on.

use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// Everything checked and nothing failed.
    Clean = 0,
    /// Some finding failed (or was undecided, for `policy`).
    Findings = 1,
    /// The command could not run: bad input, usage, AWS unreachable.
    Error = 2,
}

impl From<Code> for ExitCode {
    fn from(code: Code) -> ExitCode {
        ExitCode::from(code as u8)
    }
}

/// Did the command fail only because standard output was closed by its reader
/// (`keyaki … | head`)? Other Unix tools end quietly then, and so does keyaki.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    let pipe = Some(std::io::ErrorKind::BrokenPipe);
    err.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().map(|io| io.kind()) == pipe
            || cause
                .downcast_ref::<serde_json::Error>()
                .and_then(|json| json.io_error_kind())
                == pipe
    })
}

/// More about an error than its message, for `-v`: the AWS SDK's whole account of a
/// failed call.
pub fn detail(err: &anyhow::Error) -> Option<String> {
    #[cfg(feature = "aws")]
    if let Some(collect) = err.downcast_ref::<keyaki_aws::CollectError>() {
        return collect.detail().map(str::to_string);
    }
    let _ = err;
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_reader_is_recognised_through_context() {
        let pipe = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        let err = anyhow::Error::new(pipe).context("could not write the report");
        assert!(is_broken_pipe(&err));
        let other = anyhow::anyhow!("could not write the report: disk full");
        assert!(!is_broken_pipe(&other));
    }
}
