//! The AWS managed policy corpus (1,523 policies): parse every document and ask both default
//! questions (`kms:Decrypt`, `kms:ReEncryptFrom` on all keys). Goal: the whole corpus in under
//! 15 ms on one core. `scripts/bench-policy.sh` runs this together with the z3 comparison and
//! the 100,000-policy scaling run.
//!
//!     cargo bench -p keyaki-policy --bench corpus

use std::hint::black_box;

use criterion::{criterion_group, Criterion, Throughput};
use keyaki_policy::{Policy, Query, QueryOptions, Verdict};

#[path = "../tests/support/corpus.rs"]
mod corpus_support;
use corpus_support::corpus_path;

fn corpus() -> Vec<String> {
    let path = corpus_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read the policy corpus `{}` ({e}): the repository needs `../shared/corpus` beside it",
            path.display()
        )
    });
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let record: serde_json::Value = serde_json::from_str(line).expect("corpus line");
            record["document"].to_string()
        })
        .collect()
}

fn decide_all(query: &Query, docs: &[String]) -> usize {
    let mut failed = 0;
    for doc in docs {
        if let Ok(policy) = Policy::parse(doc) {
            if query.analyze(&policy).verdict == Verdict::Failed {
                failed += 1;
            }
        }
    }
    failed
}

fn bench(c: &mut Criterion) {
    let docs = corpus();
    let query = Query::new(QueryOptions::default()).expect("default query");
    eprintln!(
        "corpus: {} policies, {} FAILED",
        docs.len(),
        decide_all(&query, &docs)
    );
    let mut group = c.benchmark_group("corpus");
    group.throughput(Throughput::Elements(docs.len() as u64));
    group.sample_size(30);
    group.bench_function("parse", |b| {
        b.iter(|| {
            docs.iter()
                .filter(|d| Policy::parse(black_box(d)).is_ok())
                .count()
        })
    });
    group.bench_function("parse_and_decide", |b| {
        b.iter(|| decide_all(&query, black_box(&docs)))
    });
    group.finish();
}

/// CPU time of this process so far, in seconds (Linux `/proc/self/stat`, clock ticks of 10 ms),
/// or `None` elsewhere.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// The corpus time in CPU seconds rather than wall time: on a loaded machine wall time
/// measures the other processes too. Printed as `corpus cpu: X ms per corpus`.
fn cpu_figure() {
    let docs = corpus();
    let query = Query::new(QueryOptions::default()).expect("default query");
    let runs = 100;
    let Some(start) = cpu_seconds() else { return };
    for _ in 0..runs {
        black_box(decide_all(&query, black_box(&docs)));
    }
    if let Some(end) = cpu_seconds() {
        eprintln!(
            "corpus cpu: {:.2} ms per corpus ({runs} runs, {} policies)",
            (end - start) * 1000.0 / runs as f64,
            docs.len()
        );
    }
}

criterion_group!(benches, bench);

fn main() {
    cpu_figure();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
