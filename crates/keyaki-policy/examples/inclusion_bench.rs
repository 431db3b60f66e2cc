//! Times the inclusion check and the fix over the AWS managed policies corpus, one policy at a
//! time on one thread: `check_no_new_access` of every policy against itself and against a
//! narrowed copy (one statement per action, the last one left out), and `fix_policy` of every
//! failing policy. Prints p50/p99/max/total per operation; with `--pairs FILE`, writes the
//! pairs as JSON Lines (`{"id", "old", "new", "keyaki_ms"}`) for the z3 encoding.
//!
//! cargo run --release -p keyaki-policy --example inclusion_bench -- CORPUS.jsonl [--pairs FILE]

use std::io::Write;
use std::time::{Duration, Instant};

use keyaki_policy::{
    check_no_new_access, fix_policy, Budget, Inclusion, Policy, Query, QueryOptions, Verdict,
};
use serde_json::Value;

fn narrowed(doc: &Value) -> Value {
    let statements = match &doc["Statement"] {
        Value::Array(items) => items.clone(),
        one => vec![one.clone()],
    };
    let mut out = Vec::new();
    for s in statements {
        match s.get("Action") {
            Some(Value::Array(actions)) if actions.len() > 1 => {
                for a in actions {
                    let mut one = s.clone();
                    one["Action"] = a.clone();
                    if let Some(o) = one.as_object_mut() {
                        o.remove("Sid");
                    }
                    out.push(one);
                }
            }
            _ => out.push(s),
        }
    }
    // Leave out the last Allow.
    if let Some(i) = out.iter().rposition(|s| s["Effect"] == "Allow") {
        out.remove(i);
    }
    let mut d = doc.clone();
    d["Statement"] = Value::Array(out);
    d
}

fn report(what: &str, mut times: Vec<Duration>) {
    times.sort();
    let n = times.len();
    if n == 0 {
        return;
    }
    let pct = |p: f64| times[((n as f64 * p).ceil() as usize).clamp(1, n) - 1];
    let total: Duration = times.iter().sum();
    println!(
        "| {what} | {n} | {:.3} | {:.3} | {:.3} | {:.1} |",
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        times[n - 1].as_secs_f64() * 1e3,
        total.as_secs_f64() * 1e3
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let corpus = args
        .get(1)
        .expect("usage: inclusion_bench CORPUS.jsonl [--pairs FILE]");
    let pairs_path = args
        .iter()
        .position(|a| a == "--pairs")
        .and_then(|i| args.get(i + 1));
    let mut pairs = pairs_path.map(|p| std::fs::File::create(p).expect("pairs file"));
    let text = std::fs::read_to_string(corpus).expect("corpus");
    let query = Query::new(QueryOptions::default()).expect("query");
    let budget = Budget::default();
    let keys = vec![
        "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab".to_owned(),
    ];
    let (mut itself, mut narrow, mut fixes) = (Vec::new(), Vec::new(), Vec::new());
    let mut counts = [0usize; 6];
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).expect("JSON line");
        let doc = &v["document"];
        let name = v["name"].as_str().unwrap_or("");
        let old = Policy::parse_value(doc).expect("parses");
        let new_doc = narrowed(doc);
        let new = Policy::parse_value(&new_doc).expect("parses");

        let t = Instant::now();
        let a = check_no_new_access(&old, &old, &budget);
        let self_ms = t.elapsed().as_secs_f64() * 1e3;
        itself.push(t.elapsed());
        counts[0] += usize::from(a == Inclusion::Included);

        let t = Instant::now();
        let b = check_no_new_access(&old, &new, &budget);
        let narrowed_ms = t.elapsed().as_secs_f64() * 1e3;
        narrow.push(t.elapsed());
        if t.elapsed().as_millis() >= 10 {
            eprintln!("{name}: narrowed copy took {:?}", t.elapsed());
        }
        match b {
            Inclusion::Included => counts[1] += 1,
            Inclusion::Unknown { reason } => {
                counts[2] += 1;
                eprintln!("{name}: UNKNOWN {reason}");
            }
            Inclusion::NewAccess(n) => eprintln!("{name}: NEW ACCESS {n:?}"),
        }
        if let Some(f) = pairs.as_mut() {
            for (kind, new, ms) in [
                ("itself", doc, self_ms),
                ("narrowed", &new_doc, narrowed_ms),
            ] {
                let rec = serde_json::json!({
                    "id": format!("{name}/{kind}"), "old": doc, "new": new, "keyaki_ms": ms,
                });
                writeln!(f, "{rec}").expect("write pairs");
            }
        }

        if query.analyze(&old).verdict == Verdict::Failed {
            let t = Instant::now();
            let f = fix_policy(&old, &query, &keys, &budget);
            fixes.push(t.elapsed());
            if t.elapsed().as_millis() >= 10 {
                eprintln!("{name}: fix took {:?}", t.elapsed());
            }
            counts[3] += 1;
            counts[4] += usize::from(f.fixed.is_some());
            if f.fixed.is_none() {
                counts[5] += 1;
                eprintln!("{name}: no fix: {}", f.reason.unwrap_or_default());
            }
        }
    }
    println!("| operation | policies | p50 ms | p99 ms | max ms | total ms |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    report("check-no-new-access, policy against itself", itself);
    report("check-no-new-access, against a narrowed copy", narrow);
    report("fix, failing policies", fixes);
    println!();
    println!(
        "itself included: {}; narrowed included: {}, unknown: {}; failing: {}, fixed: {}, no fix: {}",
        counts[0], counts[1], counts[2], counts[3], counts[4], counts[5]
    );
}
