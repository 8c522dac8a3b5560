//! Shared helpers for tests that talk to a real Erlang installation: finding `erl` and `erlc`, compiling
//! helper modules, unique temporary directories, and running `erl` with a time bound.
//!
//! When `erl` or `erlc` is missing, [`erlang`] returns `None` after printing a "skipped" line, except when
//! the environment variable `CI` is `true`: then it panics, so a CI run cannot pass without Erlang.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long one `erl` or `erlc` run may take before it is killed.
pub(crate) const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// The Erlang programs found on `PATH`.
#[derive(Debug, Clone)]
pub(crate) struct Erlang {
    /// The `erl` executable.
    pub(crate) erl: PathBuf,
    /// The `erlc` executable.
    pub(crate) erlc: PathBuf,
}

/// Finds `erl` and `erlc` on `PATH`. Missing: panics when `CI=true`, otherwise prints why the calling test
/// is skipped and returns `None`.
pub(crate) fn erlang(test: &str) -> Option<Erlang> {
    match (find_program("erl"), find_program("erlc")) {
        (Some(erl), Some(erlc)) => Some(Erlang { erl, erlc }),
        (erl, erlc) => {
            let missing = match (erl, erlc) {
                (None, None) => "erl and erlc",
                (None, _) => "erl",
                _ => "erlc",
            };
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{test}: {missing} not found on PATH, and CI=true requires the Erlang interop tests to run");
            }
            eprintln!("{test}: skipped: {missing} not found on PATH (install Erlang/OTP to run this test)");
            None
        }
    }
}

/// The first executable named `name` on `PATH`.
pub(crate) fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// A fresh directory under the system temp dir, removed on drop unless the thread is panicking (then it is
/// kept, and its path printed, for inspection).
#[derive(Debug)]
pub(crate) struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates a new, empty, uniquely named directory whose name starts with `label`.
    pub(crate) fn new(label: &str) -> TempDir {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        for _ in 0..100 {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = std::env::temp_dir().join(format!("{label}-{}-{nanos}-{n}", std::process::id()));
            match std::fs::create_dir(&path) {
                Ok(()) => return TempDir { path },
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => panic!("cannot create temp dir {}: {e}", path.display()),
            }
        }
        panic!("cannot find a free temp dir name for {label}");
    }

    /// The directory.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// `name` inside the directory.
    pub(crate) fn join(&self, name: &str) -> PathBuf {
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

/// What a finished run left behind.
#[derive(Debug)]
pub(crate) struct RunOutput {
    /// The exit status.
    pub(crate) status: ExitStatus,
    /// Everything written to stdout.
    pub(crate) stdout: String,
    /// Everything written to stderr.
    pub(crate) stderr: String,
    /// How long it took.
    pub(crate) elapsed: Duration,
}

impl RunOutput {
    /// Panics with the output when the run did not exit with status 0.
    pub(crate) fn assert_success(&self, what: &str) {
        assert!(
            self.status.success(),
            "{what} failed with {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status,
            self.stdout,
            self.stderr
        );
    }
}

/// Runs `program args...` with stdin closed and stdout/stderr captured in files under `dir`; kills it and
/// panics when it takes longer than `timeout`.
pub(crate) fn run_bounded<S: AsRef<OsStr>>(
    program: &Path,
    args: &[S],
    dir: &TempDir,
    label: &str,
    timeout: Duration,
) -> RunOutput {
    let out_path = dir.join(&format!("{label}.stdout"));
    let err_path = dir.join(&format!("{label}.stderr"));
    let stdout = File::create(&out_path).expect("create stdout capture file");
    let stderr = File::create(&err_path).expect("create stderr capture file");
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        // Keep the user's Erlang settings out of the test, and never write crash dumps.
        .env_remove("ERL_FLAGS")
        .env_remove("ERL_AFLAGS")
        .env_remove("ERL_ZFLAGS")
        .env_remove("ERL_LIBS")
        .env("ERL_CRASH_DUMP_SECONDS", "0");
    let start = Instant::now();
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for child") {
            break status;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
            let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
            panic!(
                "{label}: {} did not finish within {timeout:?}; killed\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
                program.display()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    RunOutput {
        status,
        stdout: String::from_utf8_lossy(&std::fs::read(&out_path).unwrap_or_default()).into_owned(),
        stderr: String::from_utf8_lossy(&std::fs::read(&err_path).unwrap_or_default()).into_owned(),
        elapsed: start.elapsed(),
    }
}

impl Erlang {
    /// Compiles `source` (an `.erl` file) into `dir` with `erlc`.
    pub(crate) fn compile(&self, source: &Path, dir: &TempDir) {
        let args = [OsStr::new("-o"), dir.path().as_os_str(), source.as_os_str()];
        run_bounded(&self.erlc, &args, dir, "erlc", RUN_TIMEOUT).assert_success("erlc");
    }

    /// Runs `erl -noshell -pa <dir> -run <module> <function> <args...>` in `dir` (the module is expected
    /// to halt the node itself), bounded by [`RUN_TIMEOUT`].
    pub(crate) fn run(&self, dir: &TempDir, label: &str, module: &str, function: &str, args: &[&str]) -> RunOutput {
        let mut all: Vec<&OsStr> = vec![OsStr::new("-noshell"), OsStr::new("-noinput"), OsStr::new("-pa")];
        all.push(dir.path().as_os_str());
        all.extend([OsStr::new("-run"), OsStr::new(module), OsStr::new(function)]);
        all.extend(args.iter().map(OsStr::new));
        run_bounded(&self.erl, &all, dir, label, RUN_TIMEOUT)
    }
}

/// Writes `frames` to `path`, each as a 32-bit big-endian length followed by the bytes.
pub(crate) fn write_frames<B: AsRef<[u8]>>(path: &Path, frames: &[B]) {
    let mut out = Vec::new();
    for frame in frames {
        let frame = frame.as_ref();
        out.extend_from_slice(&u32::try_from(frame.len()).expect("frame fits in 32 bits").to_be_bytes());
        out.extend_from_slice(frame);
    }
    std::fs::write(path, out).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

/// Reads a file of length-prefixed frames written by [`write_frames`] or by Erlang.
pub(crate) fn read_frames(path: &Path) -> Vec<Vec<u8>> {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut frames = Vec::new();
    let mut rest = &data[..];
    while !rest.is_empty() {
        assert!(rest.len() >= 4, "{}: truncated frame header", path.display());
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        assert!(rest.len() >= 4 + len, "{}: truncated frame", path.display());
        frames.push(rest[4..4 + len].to_vec());
        rest = &rest[4 + len..];
    }
    frames
}
