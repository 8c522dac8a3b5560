//! Programs run to completion with a time bound and their output captured: any program, `erlc`, and
//! `erl -noshell -run M F Args`.

use std::ffi::OsStr;
use std::fs::File;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::find::Erlang;
use crate::tempdir::TempDir;

/// How long one `erl` or `erlc` run may take before it is killed.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// The variables that carry a user's Erlang settings into `erl`, `erlc` and `epmd`.
const ERLANG_ENV: [&str; 7] = [
    "ERL_FLAGS",
    "ERL_AFLAGS",
    "ERL_ZFLAGS",
    "ERL_LIBS",
    "ERL_EPMD_PORT",
    "ERL_EPMD_ADDRESS",
    "ERL_EPMD_RELAXED_COMMAND_CHECK",
];

/// Keeps the user's Erlang settings out of `cmd` (`ERL_FLAGS`, `ERL_AFLAGS`, `ERL_ZFLAGS`, `ERL_LIBS` and the
/// `ERL_EPMD_*` variables) and turns crash dumps off (`ERL_CRASH_DUMP_SECONDS=0`).
pub fn clean_env(cmd: &mut Command) -> &mut Command {
    for var in ERLANG_ENV {
        cmd.env_remove(var);
    }
    cmd.env("ERL_CRASH_DUMP_SECONDS", "0")
}

/// What a finished run left behind.
#[derive(Debug)]
pub struct RunOutput {
    /// The exit status.
    pub status: ExitStatus,
    /// Everything written to stdout.
    pub stdout: String,
    /// Everything written to stderr.
    pub stderr: String,
    /// How long it took.
    pub elapsed: Duration,
}

impl RunOutput {
    /// Panics with the output when the run did not exit with status 0.
    pub fn assert_success(&self, what: &str) {
        if let Err(why) = self.success(what) {
            panic!("{why}");
        }
    }

    /// An error with the output when the run did not exit with status 0.
    pub fn success(&self, what: &str) -> Result<(), String> {
        if self.status.success() {
            return Ok(());
        }
        Err(format!(
            "{what} failed with {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status, self.stdout, self.stderr
        ))
    }
}

/// Runs `program args...` in `dir` with stdin closed, the Erlang environment cleaned (see [`clean_env`]) and
/// stdout and stderr captured in files `<label>.stdout` and `<label>.stderr` under `dir`; kills it and
/// panics with its output when it takes longer than `timeout`.
pub fn bounded<S: AsRef<OsStr>>(
    program: &Path,
    args: &[S],
    dir: &TempDir,
    label: &str,
    timeout: Duration,
) -> RunOutput {
    try_bounded(program, args, dir, label, timeout).unwrap_or_else(|why| panic!("{why}"))
}

/// [`bounded`], with an error instead of a panic when the program cannot start or overruns `timeout`.
pub fn try_bounded<S: AsRef<OsStr>>(
    program: &Path,
    args: &[S],
    dir: &TempDir,
    label: &str,
    timeout: Duration,
) -> Result<RunOutput, String> {
    let out_path = dir.join(format!("{label}.stdout"));
    let err_path = dir.join(format!("{label}.stderr"));
    let create = |path: &Path| File::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()));
    let (stdout, stderr) = (create(&out_path)?, create(&err_path)?);
    let mut cmd = Command::new(program);
    cmd.args(args).current_dir(dir.path()).stdin(Stdio::null()).stdout(stdout).stderr(stderr);
    clean_env(&mut cmd);
    let start = Instant::now();
    let mut child = cmd.spawn().map_err(|e| format!("{label}: cannot start {}: {e}", program.display()))?;
    let read = |path: &Path| String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => return Err(format!("{label}: cannot wait for {}: {e}", program.display())),
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "{label}: {} did not finish within {timeout:?}; killed\n--- stdout ---\n{}\n--- stderr ---\n{}",
                program.display(),
                read(&out_path),
                read(&err_path)
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Ok(RunOutput { status, stdout: read(&out_path), stderr: read(&err_path), elapsed: start.elapsed() })
}

impl Erlang {
    /// Compiles `source` (an `.erl` file) into `dir` with `erlc`, bounded by [`RUN_TIMEOUT`]; panics with
    /// the compiler's output when it fails.
    pub fn compile(&self, source: &Path, dir: &TempDir) {
        if let Err(why) = self.try_compile(source, dir) {
            panic!("{why}");
        }
    }

    /// [`Erlang::compile`], with an error instead of a panic.
    pub fn try_compile(&self, source: &Path, dir: &TempDir) -> Result<(), String> {
        let args = [OsStr::new("-o"), dir.path().as_os_str(), source.as_os_str()];
        try_bounded(&self.erlc, &args, dir, "erlc", RUN_TIMEOUT)?.success("erlc")
    }

    /// Runs `erl -noshell -noinput -pa <dir> -run <module> <function> <args...>` in `dir` (the module is
    /// expected to halt the node itself), bounded by [`RUN_TIMEOUT`], its output captured under `label`
    /// (see [`bounded`]).
    pub fn run(&self, dir: &TempDir, label: &str, module: &str, function: &str, args: &[&str]) -> RunOutput {
        let mut all: Vec<&OsStr> = vec![OsStr::new("-noshell"), OsStr::new("-noinput"), OsStr::new("-pa")];
        all.push(dir.path().as_os_str());
        all.extend([OsStr::new("-run"), OsStr::new(module), OsStr::new(function)]);
        all.extend(args.iter().map(OsStr::new));
        bounded(&self.erl, &all, dir, label, RUN_TIMEOUT)
    }
}
