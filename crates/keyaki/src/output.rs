//! Where reports and snapshots go: standard output, or a file replaced atomically.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

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

/// Streams to `path`, respecting what is already there:
/// - a regular file (or nothing) is replaced atomically: readers see the old file or the
///   whole new one, never a part (a temporary file beside it, flushed to disk, renamed over
///   it); an existing file keeps its permissions (and its owner and group, as far as this
///   process may give them); a new file is readable and writable by its owner only;
/// - a symbolic link is followed: its target is replaced that way, the link stays;
/// - a device, FIFO or socket (`/dev/null`, `/dev/stdout`, a named pipe) is written straight
///   to, with no temporary file and no rename.
///
/// When `write` fails, the temporary file is removed and a regular `path` is left as it was.
pub fn to_file_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let target = resolve_links(path)?;
    let existing = match std::fs::metadata(&target) {
        Ok(meta) => Some(meta),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("could not read `{}`", path.display())),
    };
    if let Some(meta) = &existing {
        if meta.is_dir() {
            anyhow::bail!("`{}` is a directory", path.display());
        }
        if !meta.is_file() {
            return to_special_file(path, &target, write);
        }
    }
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = target
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
    if let Some(meta) = &existing {
        keep_owner(tmp.as_file(), meta);
        tmp.as_file()
            .set_permissions(meta.permissions())
            .with_context(|| format!("could not keep the permissions of `{}`", path.display()))?;
    }
    tmp.as_file()
        .sync_all()
        .with_context(|| format!("could not write `{}`", tmp.path().display()))?;
    tmp.persist(&target)
        .map_err(|e| e.error)
        .with_context(|| format!("could not write `{}`", path.display()))?;
    Ok(())
}

/// Gives the new file the owner and group of the file it replaces, as far as this process
/// may (root: both; others: the group, when they belong to it); what it may not is left as
/// the system made it. Done before the permissions are set: a change of owner clears the
/// set-user-id and set-group-id bits.
#[cfg(unix)]
fn keep_owner(file: &std::fs::File, meta: &std::fs::Metadata) {
    use std::os::unix::fs::MetadataExt;
    let Ok(now) = file.metadata() else {
        return;
    };
    if (now.uid(), now.gid()) == (meta.uid(), meta.gid()) {
        return;
    }
    if std::os::unix::fs::fchown(file, Some(meta.uid()), Some(meta.gid())).is_err() {
        let _ = std::os::unix::fs::fchown(file, None, Some(meta.gid()));
    }
}

#[cfg(not(unix))]
fn keep_owner(_file: &std::fs::File, _meta: &std::fs::Metadata) {}

/// The file a path names once its symbolic links are followed (the path itself when it is
/// not a link; a dangling link gives the path it points to, which is then created).
fn resolve_links(path: &Path) -> anyhow::Result<PathBuf> {
    let mut current = path.to_path_buf();
    // As the kernel does: a chain of more than 40 links is a loop.
    for _ in 0..40 {
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = std::fs::read_link(&current)
                    .with_context(|| format!("could not read the link `{}`", current.display()))?;
                current = match current.parent() {
                    Some(parent) if link.is_relative() => parent.join(link),
                    _ => link,
                };
            }
            _ => return Ok(current),
        }
    }
    anyhow::bail!("`{}`: too many levels of symbolic links", path.display())
}

/// Writes straight to a device, FIFO or socket: they cannot be replaced, only written.
fn to_special_file(
    path: &Path,
    target: &Path,
    write: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(target)
        .with_context(|| format!("could not open `{}` for writing", path.display()))?;
    let mut out = BufWriter::with_capacity(1 << 16, file);
    write(&mut out)?;
    out.flush()
        .with_context(|| format!("could not write `{}`", path.display()))
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

    #[cfg(unix)]
    #[test]
    fn a_symlink_is_followed_and_kept() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let real = dir.path().join("reports");
        std::fs::create_dir(&real).unwrap_or_else(|e| panic!("mkdir: {e}"));
        let target = real.join("latest.json");
        std::fs::write(&target, b"old").unwrap_or_else(|e| panic!("write: {e}"));
        let link = dir.path().join("report.json");
        std::os::unix::fs::symlink("reports/latest.json", &link)
            .unwrap_or_else(|e| panic!("symlink: {e}"));
        bytes_to_file_atomically(&link, b"new").unwrap_or_else(|e| panic!("{e:#}"));
        let meta = std::fs::symlink_metadata(&link).unwrap_or_else(|e| panic!("{e}"));
        assert!(meta.file_type().is_symlink(), "the link is kept");
        assert_eq!(std::fs::read(&target).unwrap_or_default(), b"new".to_vec());
        assert_eq!(names(&real), vec![std::ffi::OsString::from("latest.json")]);
    }

    #[cfg(unix)]
    #[test]
    fn a_dangling_symlink_creates_its_target() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let link = dir.path().join("out.json");
        std::os::unix::fs::symlink("made.json", &link).unwrap_or_else(|e| panic!("symlink: {e}"));
        bytes_to_file_atomically(&link, b"x").unwrap_or_else(|e| panic!("{e:#}"));
        assert!(std::fs::symlink_metadata(&link)
            .map(|m| m.file_type().is_symlink())
            .unwrap_or(false));
        assert_eq!(
            std::fs::read(dir.path().join("made.json")).unwrap_or_default(),
            b"x".to_vec()
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_link_loop_is_an_error_not_a_hang() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let a = dir.path().join("a.json");
        let b = dir.path().join("b.json");
        std::os::unix::fs::symlink(&b, &a).unwrap_or_else(|e| panic!("symlink: {e}"));
        std::os::unix::fs::symlink(&a, &b).unwrap_or_else(|e| panic!("symlink: {e}"));
        let err = bytes_to_file_atomically(&a, b"x")
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
        assert!(err.contains("too many levels of symbolic links"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_device_is_written_to_and_stays_a_device() {
        use std::os::unix::fs::FileTypeExt;
        bytes_to_file_atomically(Path::new("/dev/null"), b"discarded")
            .unwrap_or_else(|e| panic!("{e:#}"));
        let meta = std::fs::metadata("/dev/null").unwrap_or_else(|e| panic!("{e}"));
        assert!(meta.file_type().is_char_device());
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_written_straight_to() {
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let fifo = dir.path().join("pipe");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap_or_else(|e| panic!("mkfifo: {e}"));
        assert!(status.success());
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(&fifo).unwrap_or_default())
        };
        bytes_to_file_atomically(&fifo, b"through the pipe").unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(
            reader.join().unwrap_or_default(),
            b"through the pipe".to_vec()
        );
        let meta = std::fs::symlink_metadata(&fifo).unwrap_or_else(|e| panic!("{e}"));
        assert!(meta.file_type().is_fifo(), "the FIFO is still a FIFO");
        assert_eq!(names(dir.path()), vec![std::ffi::OsString::from("pipe")]);
    }

    #[cfg(unix)]
    #[test]
    fn an_existing_file_keeps_its_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let path = dir.path().join("report.html");
        std::fs::write(&path, b"old").unwrap_or_else(|e| panic!("write: {e}"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640))
            .unwrap_or_else(|e| panic!("chmod: {e}"));
        bytes_to_file_atomically(&path, b"new").unwrap_or_else(|e| panic!("{e:#}"));
        let mode = std::fs::metadata(&path)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or_default();
        assert_eq!(mode, 0o640);
        assert_eq!(std::fs::read(&path).unwrap_or_default(), b"new".to_vec());
    }

    /// Root replacing another user's report leaves it theirs (owner, group and mode).
    #[cfg(unix)]
    #[test]
    fn an_existing_file_keeps_its_owner_and_group() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let path = dir.path().join("report.json");
        std::fs::write(&path, b"old").unwrap_or_else(|e| panic!("write: {e}"));
        let mine = std::fs::metadata(&path).unwrap_or_else(|e| panic!("{e}"));
        if mine.uid() != 0 {
            // Only root can give a file to another user: the premise cannot be set up.
            eprintln!("skipped: needs root to give the file to another user");
            return;
        }
        std::os::unix::fs::chown(&path, Some(65534), Some(65534))
            .unwrap_or_else(|e| panic!("chown: {e}"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640))
            .unwrap_or_else(|e| panic!("chmod: {e}"));
        bytes_to_file_atomically(&path, b"new").unwrap_or_else(|e| panic!("{e:#}"));
        let meta = std::fs::metadata(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((meta.uid(), meta.gid()), (65534, 65534));
        assert_eq!(meta.permissions().mode() & 0o7777, 0o640);
        assert_eq!(std::fs::read(&path).unwrap_or_default(), b"new".to_vec());
    }

    #[cfg(unix)]
    #[test]
    fn a_new_file_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let path = dir.path().join("snapshot.json");
        bytes_to_file_atomically(&path, b"{}").unwrap_or_else(|e| panic!("{e:#}"));
        let mode = std::fs::metadata(&path)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or_default();
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let err = bytes_to_file_atomically(dir.path(), b"x")
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
        assert!(err.contains("is a directory"), "{err}");
    }
}
