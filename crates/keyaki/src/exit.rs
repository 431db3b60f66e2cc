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
