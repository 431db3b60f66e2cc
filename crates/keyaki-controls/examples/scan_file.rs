//! The `keyaki scan --input PATH --format json` pipeline without the CLI around it:
//! read, evaluate with the default parameters, print the JSON report. Used by
//! `scripts/bench-scan.sh` when the release `keyaki` binary is not built
//! (`BENCH_BIN=example`), since it needs no AWS SDK to compile.
//!
//!     cargo run --release -p keyaki-controls --example scan_file -- snapshot.json [BUDGET_SECONDS]
//!
//! `BUDGET_SECONDS` is the time budget of the evaluation, as `keyaki scan --budget` (default 60).

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use keyaki_controls::finding::Status;
use keyaki_controls::{evaluate, input, Parameters};

// The allocator of the `keyaki` binary, so that the figures match.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: scan_file PATH");
        return ExitCode::from(2);
    };
    let budget = match std::env::args().nth(2).map(|b| b.parse::<f64>()) {
        None => Duration::from_secs(60),
        Some(Ok(seconds)) if seconds > 0.0 && seconds <= 86_400.0 => {
            Duration::from_secs_f64(seconds)
        }
        Some(_) => {
            eprintln!("usage: scan_file PATH [BUDGET_SECONDS]");
            return ExitCode::from(2);
        }
    };
    let mut params = Parameters::default();
    params.deadline = Some(Instant::now() + budget);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cannot read `{path}`: {e}");
            return ExitCode::from(2);
        }
    };
    let report = match input::read(&path, &text)
        .map_err(|e| e.to_string())
        .and_then(|i| evaluate(&i, &params).map_err(|e| e.to_string()))
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if serde_json::to_writer_pretty(&mut out, &report)
        .map_err(std::io::Error::from)
        .and_then(|()| writeln!(out))
        .and_then(|()| out.flush())
        .is_err()
    {
        return ExitCode::from(2);
    }
    if report.findings.iter().any(|f| f.status == Status::Failed) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
