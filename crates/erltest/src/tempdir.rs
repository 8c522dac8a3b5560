//! Unique temporary directories, removed on drop.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A fresh directory under the system temp dir, removed on drop unless the thread is panicking (then it is
/// kept, and its path printed, for inspection).
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates a new, empty, uniquely named directory whose name starts with `label`; panics if it cannot.
    pub fn new(label: &str) -> TempDir {
        TempDir::try_new(label).unwrap_or_else(|e| panic!("cannot create a temp dir for {label}: {e}"))
    }

    /// Creates a new, empty, uniquely named directory whose name starts with `label`.
    pub fn try_new(label: &str) -> io::Result<TempDir> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        for _ in 0..100 {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = std::env::temp_dir().join(format!("{label}-{}-{nanos}-{n}", std::process::id()));
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(TempDir { path }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
            }
        }
        Err(io::Error::new(io::ErrorKind::AlreadyExists, format!("no free temp dir name for {label}")))
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `name` inside the directory.
    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.path.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("keeping {} for inspection", self.path.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_dir_is_new_and_removed_on_drop() {
        let (a, b) = (TempDir::new("erltest-unit"), TempDir::new("erltest-unit"));
        assert_ne!(a.path(), b.path());
        std::fs::write(a.join("file"), b"x").expect("write into the temp dir");
        let path = a.path().to_owned();
        drop(a);
        assert!(!path.exists(), "{} removed", path.display());
    }
}
