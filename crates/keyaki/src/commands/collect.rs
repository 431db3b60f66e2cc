//! `keyaki collect`: reads an account live and writes a keyaki snapshot for offline,
//! repeatable evaluation (`keyaki scan --input`) and audit evidence.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::aws_args::{collect_live, AwsArgs};
use super::Global;
use crate::exit::Code;

#[derive(Debug, clap::Args)]
pub struct CollectArgs {
    /// Write the snapshot here (atomically: a temporary file in the same directory, then a
    /// rename); `-` or no option: standard output.
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

pub fn run(global: &Global, args: CollectArgs) -> anyhow::Result<Code> {
    let snapshot = collect_live(global, &args.aws)?;
    let mut json = serde_json::to_vec_pretty(&snapshot).context("could not encode the snapshot")?;
    json.push(b'\n');
    match args.output.as_deref() {
        None => write_stdout(&json)?,
        Some(p) if p == Path::new("-") => write_stdout(&json)?,
        Some(path) => {
            write_atomically(path, &json)?;
            if !global.quiet {
                eprintln!("keyaki: wrote `{}`", path.display());
            }
        }
    }
    Ok(Code::Clean)
}

fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .context("could not write the snapshot to standard output")
}

/// Writes `bytes` to `path` so that readers see the old file or the whole new one, never
/// a part: a temporary file beside it, flushed to disk, then renamed over it.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "snapshot".to_string());
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("could not create a temporary file in `{}`", dir.display()))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("could not write `{}`", tmp.path().display()))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("could not write `{}`", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let path = dir.path().join("snapshot.json");
        std::fs::write(&path, b"old").unwrap_or_else(|e| panic!("write: {e}"));
        write_atomically(&path, b"{\"new\":true}\n").unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(
            std::fs::read(&path).unwrap_or_default(),
            b"{\"new\":true}\n".to_vec()
        );
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap_or_else(|e| panic!("read_dir: {e}"))
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("snapshot.json")]);
    }

    #[test]
    fn atomic_write_into_a_missing_directory_fails_clearly() {
        let err = write_atomically(Path::new("/nonexistent-dir/x/snapshot.json"), b"{}")
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
        assert!(err.contains("/nonexistent-dir/x"), "{err}");
    }
}
