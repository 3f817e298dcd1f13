//! Size-based rotation: `<path>` → `<path>.1` → … → `<path>.N`, the oldest removed.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

/// The name of the `index`-th rotated file (1 is the newest).
///
/// ```
/// use std::path::Path;
/// let p = kev_sinks::file::rotated_path(Path::new("/var/log/kev.jsonl"), 2);
/// assert_eq!(p, Path::new("/var/log/kev.jsonl.2"));
/// ```
pub fn rotated_path(path: &Path, index: u32) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(format!(".{index}"));
    PathBuf::from(name)
}

/// Shifts the rotated files by one, moves `path` to `<path>.1` (or removes it when no
/// rotated file is kept), and syncs the directory so the renames survive a crash.
pub(super) fn rotate(path: &Path, max_files: u32) -> io::Result<()> {
    if max_files == 0 {
        ignore_missing(std::fs::remove_file(path))?;
    } else {
        ignore_missing(std::fs::remove_file(rotated_path(path, max_files)))?;
        for i in (1..max_files).rev() {
            ignore_missing(std::fs::rename(
                rotated_path(path, i),
                rotated_path(path, i + 1),
            ))?;
        }
        std::fs::rename(path, rotated_path(path, 1))?;
    }
    sync_dir(path)
}

fn ignore_missing(result: io::Result<()>) -> io::Result<()> {
    match result {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// fsync of the directory holding `path`: makes created and renamed entries durable.
pub(super) fn sync_dir(path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::File::open(dir)?.sync_all()
}
