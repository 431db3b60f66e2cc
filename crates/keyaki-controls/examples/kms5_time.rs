//! Time of KMS.5 alone over every key of a snapshot: the account is read once, then KMS.5 is
//! evaluated `RUNS` times (default 20) and the best and median times are printed, reading
//! excluded. Used by `scripts/bench-kms5.sh`.
//!
//!     cargo run --release -p keyaki-controls --example kms5_time -- snapshot.json [RUNS]

use std::process::ExitCode;
use std::time::Instant;

use keyaki_controls::finding::Status;
use keyaki_controls::{evaluate, input, Parameters};

// The allocator of the `keyaki` binary, so that the figures match.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: kms5_time SNAPSHOT [RUNS]");
        return ExitCode::from(2);
    };
    let runs: usize = args
        .next()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20)
        .max(1);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("kms5_time: {path}: {e}");
            return ExitCode::from(2);
        }
    };
    let account = match input::read(&path, &text) {
        Ok(account) => account,
        Err(e) => {
            eprintln!("kms5_time: {e}");
            return ExitCode::from(2);
        }
    };
    let mut params = Parameters::default();
    params.selected = Some(["KMS.5".to_owned()].into_iter().collect());
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        let report = match evaluate(&account, &params) {
            Ok(report) => report,
            Err(e) => {
                eprintln!("kms5_time: {e}");
                return ExitCode::from(2);
            }
        };
        times.push(start.elapsed());
        last = Some(report);
    }
    times.sort();
    let report = last.expect("at least one run");
    let count = |s: Status| report.findings.iter().filter(|f| f.status == s).count();
    println!(
        "KMS.5 over {} keys: best {:.1} ms, median {:.1} ms ({} runs; {} failed, {} passed, {} not available)",
        report.findings.len(),
        times[0].as_secs_f64() * 1e3,
        times[times.len() / 2].as_secs_f64() * 1e3,
        runs,
        count(Status::Failed),
        count(Status::Passed),
        count(Status::NotAvailable),
    );
    ExitCode::SUCCESS
}
