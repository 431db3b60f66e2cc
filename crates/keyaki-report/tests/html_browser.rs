//! The HTML report in a real headless browser: Debian's `chromium` driven by
//! `tests/browser/report.test.mjs` (playwright-core). The page must load without console or
//! page errors, its filters and search must change what is shown, injected markup must stay
//! inert, and a screenshot is written to `target/tmp/browser/report.png`.
//!
//! `scripts/test.sh` installs chromium and the npm packages and sets `KEYAKI_REQUIRE_BROWSER=1`;
//! with it (or `CI` set) a missing browser or package fails this test. Without it, in a plain
//! `cargo test` on a machine without them, the test says what is missing and returns.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use keyaki_controls::finding::ScanReport;
use keyaki_report::{Format, Options, RunPoint};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn required() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
        || std::env::var("KEYAKI_REQUIRE_BROWSER").is_ok_and(|v| v == "1")
}

/// Returns what is missing to run the browser test, if anything.
fn missing(root: &Path) -> Option<String> {
    let chromium = std::env::var("KEYAKI_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        return Some(format!(
            "chromium not found at `{chromium}` (apt-get install -y chromium)"
        ));
    }
    if Command::new("node").arg("--version").output().is_err() {
        return Some("node not found (apt-get install -y nodejs npm)".into());
    }
    let pkg = root.join("tests/browser/node_modules/playwright-core");
    if !pkg.exists() {
        return Some(format!(
            "`{}` missing (run `npm ci` in tests/browser)",
            pkg.display()
        ));
    }
    None
}

/// Renders `report` to `<target>/tmp/browser/<name>.html` (and its JSON beside it), then runs
/// the browser checks on it; the screenshot goes to `<name>.png`.
fn check_in_browser(name: &str, report: &ScanReport, history: Vec<RunPoint>) {
    let root = repo_root();
    if let Some(what) = missing(&root) {
        assert!(
            !required(),
            "the browser test cannot run: {what}; scripts/test.sh installs it"
        );
        eprintln!("browser test not run: {what}; scripts/test.sh installs it");
        return;
    }
    let expect_chart = !history.is_empty();
    let options = Options {
        history,
        ..Options::default()
    };
    let mut html = Vec::new();
    keyaki_report::write(report, Format::Html, &options, &mut html).expect("renders");

    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&out_dir).expect("output directory");
    let html_path = out_dir.join(format!("{name}.html"));
    let json_path = out_dir.join(format!("{name}.json"));
    let png_path = out_dir.join(format!("{name}.png"));
    std::fs::write(&html_path, &html).expect("write the report");
    std::fs::write(
        &json_path,
        serde_json::to_vec(report).expect("report as JSON"),
    )
    .expect("write the JSON report");
    let _ = std::fs::remove_file(&png_path);

    let mut cmd = Command::new("node");
    cmd.current_dir(root.join("tests/browser"))
        .arg("report.test.mjs")
        .arg(&html_path)
        .arg(&json_path)
        .arg(&png_path);
    if expect_chart {
        cmd.arg("--expect-chart");
    }
    let output = cmd.output().expect("run node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(
        output.status.success(),
        "browser checks failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
    let png = std::fs::read(&png_path).expect("screenshot written");
    assert!(png.starts_with(b"\x89PNG"), "the screenshot is a PNG");
}

/// A report with hostile names and policy text, and a history of runs.
#[test]
fn html_report_works_in_headless_chromium() {
    let fixture = repo_root().join("crates/keyaki-report/tests/fixtures/html-report.json");
    let text = std::fs::read_to_string(&fixture).expect("fixture readable");
    let report: ScanReport = serde_json::from_str(&text).expect("fixture is a report");
    let history = ["2026-11-27", "2026-11-28", "2026-11-29", "2026-11-30"]
        .iter()
        .enumerate()
        .map(|(i, day)| RunPoint {
            time: format!("{day}T02:00:00Z"),
            failed_by_control: BTreeMap::from([
                ("KMS.1".to_string(), 10 - i),
                ("KMS.2".to_string(), 3),
                ("KMS.3".to_string(), i % 2),
                ("KMS.4".to_string(), 4 - i),
            ]),
        })
        .collect();
    check_in_browser("report", &report, history);
}

/// The report of the bundled demo account (`examples/demo-account.json`), as
/// `keyaki scan --input examples/demo-account.json --format html` writes it.
#[test]
fn demo_account_report_works_in_headless_chromium() {
    let path = repo_root().join("examples/demo-account.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read `{}`: {e}", path.display()));
    let input = keyaki_controls::input::read("demo-account.json", &text).expect("demo input");
    let report = keyaki_controls::evaluate(&input, &keyaki_controls::Parameters::default())
        .expect("demo evaluates");
    check_in_browser("demo", &report, Vec::new());
}
