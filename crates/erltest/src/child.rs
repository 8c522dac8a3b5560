//! A long-running program (an `erl` node, an `epmd` daemon): its output is collected as it comes, a test
//! waits for what it prints with a time bound, and it is killed when dropped.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::run::clean_env;

/// How long a test waits for a program to start, print or finish.
pub const WAIT: Duration = Duration::from_secs(20);

/// A running program: its stdout and stderr are collected as they come; it is killed (by pid) on drop, and
/// its output printed when the thread is panicking.
#[derive(Debug)]
pub struct Proc {
    label: String,
    child: Child,
    output: Arc<Mutex<String>>,
}

impl Proc {
    /// Starts `program args...` with stdin closed, the user's Erlang settings removed (see
    /// [`clean_env`]) and then `env` set. `label` names it in messages.
    pub fn start<S: AsRef<OsStr>>(label: &str, program: &Path, args: &[S], env: &[(&str, String)]) -> Proc {
        let mut cmd = Command::new(program);
        cmd.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        clean_env(&mut cmd);
        for (key, value) in env {
            cmd.env(key, value);
        }
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("{label}: cannot start {}: {e}", program.display()));
        let output = Arc::new(Mutex::new(String::new()));
        collect(child.stdout.take().expect("stdout is piped"), &output);
        collect(child.stderr.take().expect("stderr is piped"), &output);
        Proc { label: label.to_owned(), child, output }
    }

    /// Everything printed so far (stdout and stderr, interleaved by line).
    pub fn output(&self) -> String {
        self.output.lock().expect("output lock").clone()
    }

    /// Waits until the output contains `needle` and returns the output; panics with it after [`WAIT`].
    pub fn wait_for(&self, needle: &str) -> String {
        let start = Instant::now();
        loop {
            let out = self.output();
            if out.contains(needle) {
                return out;
            }
            if start.elapsed() > WAIT {
                panic!("{}: no {needle:?} within {WAIT:?}; output:\n{out}", self.label);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the program (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits up to [`WAIT`] for the program to exit by itself and returns whether it exited successfully;
    /// panics with its output if it is still running.
    pub fn wait_exit(&mut self) -> bool {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait on a child") {
                return status.success();
            }
            if start.elapsed() > WAIT {
                panic!("{}: still running after {WAIT:?}; output:\n{}", self.label, self.output());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!("--- {} output ---\n{}", self.label, self.output());
        }
    }
}

/// Appends the lines `stream` yields to `output`, on a thread of its own.
fn collect<R: Read + Send + 'static>(stream: R, output: &Arc<Mutex<String>>) {
    let output = Arc::clone(output);
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            let mut out = output.lock().expect("output lock");
            out.push_str(&line);
            out.push('\n');
        }
    });
}
