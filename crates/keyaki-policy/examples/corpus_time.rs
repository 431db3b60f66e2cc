//! Times parse + analysis over the AWS managed policy corpus (one core).
use keyaki_policy::{Policy, Query, QueryOptions, Verdict};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: corpus_time PATH")?;
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
    let mut best_total = f64::MAX;
    let mut best_parse = f64::MAX;
    let mut failed = 0;
    for _ in 0..20 {
        let t = Instant::now();
        let policies: Vec<Policy> = docs.iter().filter_map(|d| Policy::parse(d).ok()).collect();
        let parse = t.elapsed().as_secs_f64();
        failed = policies
            .iter()
            .filter(|p| q.analyze(p).verdict == Verdict::Failed)
            .count();
        best_total = best_total.min(t.elapsed().as_secs_f64());
        best_parse = best_parse.min(parse);
    }
    let mut best_serde = f64::MAX;
    for _ in 0..20 {
        let t = Instant::now();
        let n = docs
            .iter()
            .filter(|d| serde_json::from_str::<serde_json::Value>(d).is_ok())
            .count();
        assert_eq!(n, docs.len());
        best_serde = best_serde.min(t.elapsed().as_secs_f64());
    }
    println!("serde_json::Value baseline {:.2} ms", best_serde * 1e3);
    println!(
        "{} policies, {} FAILED, parse {:.2} ms, parse+analyze {:.2} ms",
        docs.len(),
        failed,
        best_parse * 1e3,
        best_total * 1e3
    );
    Ok(())
}
