//! Fills a findings store with synthetic scans, for the listing benchmarks
//! (`scripts/bench-store.sh`): `fill_store PATH ACCOUNTS` records one scan of 20,000 findings
//! (the store benchmark's, `benches/synthetic`) for each of ACCOUNTS accounts, through
//! `Store::record_scan`; 50 accounts make a 1,000,000-finding store.

use chrono::{TimeZone, Utc};
use keyaki_store::{RunInfo, Store};

#[path = "../benches/synthetic/mod.rs"]
mod synthetic;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(path), Some(accounts)) = (args.next(), args.next()) else {
        return Err("usage: fill_store PATH ACCOUNTS".into());
    };
    let accounts: usize = accounts.parse()?;
    let mut store = Store::open(std::path::Path::new(&path))?;
    let info = RunInfo {
        inputs: vec!["bench".to_owned()],
        regions: vec!["us-east-1".to_owned()],
        complete: true,
        ..RunInfo::default()
    };
    let start = std::time::Instant::now();
    let mut total = 0;
    for account in 0..accounts {
        let mut report = synthetic::scan(account, 0);
        let now = Utc
            .timestamp_opt(1_790_000_000 + account as i64, 0)
            .single()
            .unwrap_or_default();
        total += store.record_scan(&mut report, &info, now)?.created;
    }
    eprintln!(
        "{path}: {total} findings in {accounts} accounts, recorded in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
