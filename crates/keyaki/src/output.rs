//! Where reports and snapshots go: standard output, or a file replaced atomically.

use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::Context;

/// Streams to standard output through a buffer.
pub fn to_stdout(
    what: &str,
    write: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    write(&mut out)?;
    out.flush()
        .with_context(|| format!("could not write the {what} to standard output"))
}

/// Streams to `path` so that readers see the old file or the whole new one, never a
/// part: a temporary file beside it, flushed to disk, then renamed over it. When
/// `write` fails, the temporary file is removed and `path` is left as it was.
pub fn to_file_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".to_string());
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("could not create a temporary file in `{}`", dir.display()))?;
    let mut out = BufWriter::with_capacity(1 << 16, tmp);
    write(&mut out)?;
    let tmp = out
        .into_inner()
        .map_err(|e| e.into_error())
        .with_context(|| format!("could not write `{}`", path.display()))?;
    tmp.as_file()
        .sync_all()
        .with_context(|| format!("could not write `{}`", tmp.path().display()))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("could not write `{}`", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes_to_file_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
        to_file_atomically(path, |out| Ok(out.write_all(bytes)?))
    }

    fn names(dir: &Path) -> Vec<std::ffi::OsString> {
        std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("read_dir: {e}"))
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .collect()
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let path = dir.path().join("snapshot.json");
        std::fs::write(&path, b"old").unwrap_or_else(|e| panic!("write: {e}"));
        bytes_to_file_atomically(&path, b"{\"new\":true}\n").unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(
            std::fs::read(&path).unwrap_or_default(),
            b"{\"new\":true}\n".to_vec()
        );
        assert_eq!(
            names(dir.path()),
            vec![std::ffi::OsString::from("snapshot.json")]
        );
    }

    #[test]
    fn a_failing_writer_leaves_the_old_file_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let path = dir.path().join("report.json");
        std::fs::write(&path, b"old").unwrap_or_else(|e| panic!("write: {e}"));
        let err = to_file_atomically(&path, |out| {
            out.write_all(b"half a rep")?;
            anyhow::bail!("the writer failed")
        })
        .err()
        .map(|e| format!("{e:#}"))
        .unwrap_or_default();
        assert_eq!(err, "the writer failed");
        assert_eq!(std::fs::read(&path).unwrap_or_default(), b"old".to_vec());
        assert_eq!(
            names(dir.path()),
            vec![std::ffi::OsString::from("report.json")]
        );
    }

    #[test]
    fn atomic_write_into_a_missing_directory_fails_clearly() {
        let err = bytes_to_file_atomically(Path::new("/nonexistent-dir/x/snapshot.json"), b"{}")
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
        assert!(err.contains("/nonexistent-dir/x"), "{err}");
    }
}
