//! Times parse + analysis over the AWS managed policy corpus on one core:
//! `cargo run --release -p keyaki-policy --example corpus_time -- PATH [MODE]`, MODE one of
//! `policy` (parse + both questions, the default), `serde` (`serde_json::Value` parsing, for
//! comparison) or `top` (the slowest analyses). Prints the best of 20 rounds; on a busy machine
//! `perf stat -e instructions:u` on one mode gives a load-independent figure.
use keyaki_policy::{Policy, Query, QueryOptions, Verdict};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: corpus_time PATH [MODE]")?;
    let mode = std::env::args().nth(2).unwrap_or_else(|| "policy".into());
    let text = std::fs::read_to_string(path)?;
    let docs: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| -> Result<String, serde_json::Error> {
            let v: serde_json::Value = serde_json::from_str(l)?;
            serde_json::to_string(&v["document"])
        })
        .collect::<Result<_, _>>()?;
    let q = Query::new(QueryOptions::default())?;
    let rounds = 20;
    let mut best = f64::MAX;
    match mode.as_str() {
        "policy" => {
            let mut failed = 0;
            for _ in 0..rounds {
                let t = Instant::now();
                failed = 0;
                for d in &docs {
                    if let Ok(p) = Policy::parse(d) {
                        if q.analyze(&p).verdict == Verdict::Failed {
                            failed += 1;
                        }
                    }
                }
                best = best.min(t.elapsed().as_secs_f64());
            }
            println!(
                "{} policies, {failed} FAILED: parse + analysis {:.2} ms",
                docs.len(),
                best * 1e3
            );
        }
        "serde" => {
            for _ in 0..rounds {
                let t = Instant::now();
                let n = docs
                    .iter()
                    .filter(|d| serde_json::from_str::<serde_json::Value>(d).is_ok())
                    .count();
                assert_eq!(n, docs.len());
                best = best.min(t.elapsed().as_secs_f64());
            }
            println!("serde_json::Value parsing {:.2} ms", best * 1e3);
        }
        "top" => {
            let mut times: Vec<(f64, usize)> = docs
                .iter()
                .enumerate()
                .filter_map(|(i, d)| Policy::parse(d).ok().map(|p| (i, p)))
                .map(|(i, p)| {
                    let best = (0..rounds)
                        .map(|_| {
                            let t = Instant::now();
                            q.analyze(&p);
                            t.elapsed().as_secs_f64()
                        })
                        .fold(f64::MAX, f64::min);
                    (best, i)
                })
                .collect();
            times.sort_by(|a, b| b.0.total_cmp(&a.0));
            for (t, i) in times.iter().take(8) {
                println!("{:8.1} us  line {}", t * 1e6, i + 1);
            }
            let total: f64 = times.iter().map(|t| t.0).sum();
            println!("analysis alone, total {:.2} ms", total * 1e3);
        }
        other => return Err(format!("unknown mode `{other}`").into()),
    }
    Ok(())
}
