//! The findings store benchmark: recording a scan of 20,000 findings into a store that
//! already holds 1,000,000, and listing the failed findings of one control from it.
//!
//! `cargo bench -p keyaki-store --bench record` (release). The store is built first with
//! the same `record_scan`: 50 accounts × 20,000 findings (4 controls, 10 % FAILED, each
//! finding with about 700 bytes of evidence, like a KMS.1 finding naming its statement).
//! Then five scans of account 0 are recorded, alternating between two versions of it that
//! differ by 1,000 status changes, 500 new and 500 gone resources; then the failed findings
//! of KMS.1 are listed (1 in 5 KMS.1 findings fails: 50,000 rows over all accounts, 1,000 in
//! one account) 20 times. Prints min / median.

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use keyaki_controls::finding::Status;
use keyaki_store::{Filter, RunInfo, Store};

// The allocator of the `keyaki` binary, so that the figures match.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod synthetic;
use synthetic::{scan, PER_SCAN};

fn info() -> RunInfo {
    RunInfo {
        inputs: vec!["bench".to_owned()],
        regions: vec!["us-east-1".to_owned()],
        complete: true,
        ..RunInfo::default()
    }
}

fn stats(name: &str, mut times: Vec<Duration>, goal: Duration) {
    times.sort();
    let min = times[0];
    let median = times[times.len() / 2];
    println!(
        "{name}: min {:.1} ms, median {:.1} ms over {} runs (goal < {} ms)",
        min.as_secs_f64() * 1e3,
        median.as_secs_f64() * 1e3,
        times.len(),
        goal.as_millis()
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // KEYAKI_BENCH_ACCOUNTS scales the store down (each account adds 20,000 findings, about
    // 35 MB); the default 50 gives 1,000,000 findings and needs about 3.5 GB of disk.
    let accounts: usize = std::env::var("KEYAKI_BENCH_ACCOUNTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR"))?;
    // KEYAKI_BENCH_KEEP=PATH keeps the store there (for looking into it afterwards).
    let path = match std::env::var_os("KEYAKI_BENCH_KEEP") {
        Some(p) => std::path::PathBuf::from(p),
        None => dir.path().join("bench.db"),
    };
    let mut store = Store::open(&path)?;
    let t0 = Instant::now();
    let mut fill = Vec::new();
    let mut total = 0;
    for account in 0..accounts {
        let mut r = scan(account, 0);
        let now = Utc
            .timestamp_opt(1_790_000_000 + account as i64, 0)
            .single()
            .unwrap_or_default();
        let t = Instant::now();
        total += store.record_scan(&mut r, &info(), now)?.created;
        fill.push(t.elapsed());
    }
    println!(
        "built a store of {total} findings ({accounts} scans of {PER_SCAN} new findings) in {:.1} s; {:.0} MB",
        t0.elapsed().as_secs_f64(),
        std::fs::metadata(&path)?.len() as f64 / 1e6
    );
    stats(
        "recording a scan of 20,000 new findings (while filling)",
        fill,
        Duration::from_secs(2),
    );

    let mut record = Vec::new();
    for round in 0..6 {
        let mut r = scan(0, (round + 1) % 2);
        let now = Utc
            .timestamp_opt(1_800_000_000 + round as i64 * 3600, 0)
            .single()
            .unwrap_or_default();
        let t = Instant::now();
        let s = store.record_scan(&mut r, &info(), now)?;
        record.push(t.elapsed());
        if round == 0 {
            println!(
                "  changes in the first re-scan: {} new, {} resolved, {} reopened, {} archived",
                s.created,
                s.resolved,
                s.reopened + s.reactivated,
                s.archived
            );
        }
    }
    stats(
        &format!("recording a scan of 20,000 findings into the {total}-finding store"),
        record,
        Duration::from_secs(2),
    );

    let filter = Filter {
        controls: vec!["KMS.1".to_owned()],
        statuses: vec![Status::Failed],
        ..Filter::actionable()
    };
    let mut list = Vec::new();
    let mut rows = 0;
    for _ in 0..20 {
        let t = Instant::now();
        rows = store.findings(&filter)?.len();
        list.push(t.elapsed());
    }
    stats(
        &format!("listing the failed findings of KMS.1 ({rows} rows)"),
        list,
        Duration::from_millis(100),
    );
    let one_account = Filter {
        account: Some(format!("{:012}", 100_000_000_000usize + accounts / 2)),
        ..filter.clone()
    };
    let mut list = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        rows = store.findings(&one_account)?.len();
        list.push(t.elapsed());
    }
    stats(
        &format!("listing the failed findings of KMS.1 in one account ({rows} rows)"),
        list,
        Duration::from_millis(100),
    );
    drop(store);
    Ok(())
}
