//! The whole key × principal matrix of `keyaki access` for one action, over a snapshot file:
//! the same reading and reasoning as `keyaki access --input FILE` without `--key` or
//! `--principal`, built without the AWS SDK. Writes the JSON answer to stdout and, on stderr,
//! the counts and the time taken by each step.
//!
//!   cargo run --release -p keyaki-controls --example access_matrix -- SNAPSHOT [ACTION]

use std::io::Write;
use std::time::Instant;

use keyaki_controls::access::{self, Selection};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: access_matrix SNAPSHOT [ACTION]");
        std::process::exit(2);
    };
    let action = args.next().unwrap_or_else(|| "kms:Decrypt".to_owned());
    let started = Instant::now();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        eprintln!("cannot read `{path}`: {e}");
        std::process::exit(2)
    });
    let input = keyaki_controls::input::read(&path, &text).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    });
    let org = keyaki_controls::input::organization_policies(&path, &text).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    });
    drop(text);
    let read = started.elapsed();
    let t = Instant::now();
    let report =
        access::evaluate(&input, org.as_ref(), &action, &Selection::All).unwrap_or_else(|e| {
            eprintln!("{e}");
            std::process::exit(2)
        });
    let decided = t.elapsed();
    let t = Instant::now();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    if serde_json::to_writer(&mut out, &report)
        .map_err(std::io::Error::from)
        .and_then(|()| writeln!(out))
        .and_then(|()| out.flush())
        .is_err()
    {
        std::process::exit(2);
    }
    let written = t.elapsed();
    let conditional = report.access.iter().filter(|a| a.conditional).count();
    eprintln!(
        "access_matrix: {} access ({} conditional), {} not available; read {:.3} s, decided {:.3} s, written {:.3} s, total {:.3} s",
        report.access.len(),
        conditional,
        report.not_available.len(),
        read.as_secs_f64(),
        decided.as_secs_f64(),
        written.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}
