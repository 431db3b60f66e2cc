//! Where the AWS managed policy corpus lies: `../shared/corpus/...` beside the repository; a
//! checkout that sits deeper (a worktree) finds it by walking further up. One file for the
//! corpus tests and benchmark of `keyaki-policy` and the CLI's tests, each of which includes
//! it with `#[path]` (every crate sits at `crates/NAME`, so the walk is the same).

use std::path::{Path, PathBuf};

pub fn corpus_path() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rel = "shared/corpus/aws-managed-policies.jsonl";
    let default = manifest.join("../../..").join(rel);
    manifest
        .ancestors()
        .skip(3)
        .map(|a| a.join(rel))
        .find(|p| p.is_file())
        .unwrap_or(default)
}
