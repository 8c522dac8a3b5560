//! Shared helpers for the tests that run real programs: this crate's `epmd` binary, OTP's `epmd`, and `erl`
//! nodes. Every program is started with a time bound on what the test waits for, and killed by pid when
//! its [`Proc`] is dropped.
//!
//! When OTP's programs are missing, [`otp`] returns `None` after printing a "skipped" line, except when
//! the environment variable `CI` is `true`: then it panics, so a CI run cannot pass without Erlang.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a test waits for a program to start, print or finish.
pub(crate) const WAIT: Duration = Duration::from_secs(20);

/// This crate's `epmd` binary.
pub(crate) const OUR_EPMD: &str = env!("CARGO_BIN_EXE_epmd");

/// OTP's programs, found on `PATH`.
#[derive(Debug, Clone)]
pub(crate) struct Otp {
    /// `erl`.
    pub(crate) erl: PathBuf,
    /// OTP's `epmd`.
    pub(crate) epmd: PathBuf,
}

/// Finds `erl` and `epmd` on `PATH`. Missing: panics when `CI=true`, otherwise prints why the calling test
/// is skipped and returns `None`.
pub(crate) fn otp(test: &str) -> Option<Otp> {
    match (find_program("erl"), find_program("epmd")) {
        (Some(erl), Some(epmd)) => Some(Otp { erl, epmd }),
        _ => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{test}: erl or epmd not found on PATH, and CI=true requires the Erlang tests to run");
            }
            eprintln!("{test}: skipped: erl or epmd not found on PATH (install Erlang/OTP to run this test)");
            None
        }
    }
}

fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| p.is_file())
}

/// A port that was free a moment ago on every interface.
pub(crate) fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0)).expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

/// A name no other test (of this or a concurrent run) uses.
pub(crate) fn unique(label: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!("{label}_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// A running program: its output is collected as it comes; it is killed (by pid) on drop.
pub(crate) struct Proc {
    label: String,
    child: Child,
    output: Arc<Mutex<String>>,
}

impl Proc {
    /// Starts `program args...` with `env` set, the user's Erlang settings removed, stdin closed.
    pub(crate) fn start<S: AsRef<OsStr>>(label: &str, program: &Path, args: &[S], env: &[(&str, String)]) -> Proc {
        let mut cmd = Command::new(program);
        cmd.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        clean_env(&mut cmd, env);
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("{label}: cannot start {}: {e}", program.display()));
        let output = Arc::new(Mutex::new(String::new()));
        collect(child.stdout.take().expect("piped stdout"), &output);
        collect(child.stderr.take().expect("piped stderr"), &output);
        Proc { label: label.to_owned(), child, output }
    }

    /// Everything printed so far (stdout and stderr, interleaved by line).
    pub(crate) fn output(&self) -> String {
        self.output.lock().expect("output lock").clone()
    }

    /// Waits until the output contains `needle`; panics with the output after [`WAIT`].
    pub(crate) fn wait_for(&self, needle: &str) -> String {
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
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the program (SIGKILL) and waits for it.
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits up to [`WAIT`] for the program to exit by itself; returns whether it exited successfully.
    pub(crate) fn wait_exit(&mut self) -> bool {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
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

fn clean_env(cmd: &mut Command, env: &[(&str, String)]) {
    // Keep the user's Erlang settings out of the test, and never write crash dumps.
    for var in ["ERL_FLAGS", "ERL_AFLAGS", "ERL_ZFLAGS", "ERL_LIBS", "ERL_EPMD_PORT", "ERL_EPMD_ADDRESS"] {
        cmd.env_remove(var);
    }
    cmd.env_remove("ERL_EPMD_RELAXED_COMMAND_CHECK");
    cmd.env("ERL_CRASH_DUMP_SECONDS", "0");
    for (key, value) in env {
        cmd.env(key, value);
    }
}

/// Waits until something accepts connections on 127.0.0.1:`port`.
pub(crate) fn wait_listening(port: u16, label: &str) {
    let start = Instant::now();
    while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
        if start.elapsed() > WAIT {
            panic!("{label}: nothing listens on port {port} after {WAIT:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// This crate's `epmd` on `port`, with `args`, listening when this returns.
pub(crate) fn our_epmd(port: u16, args: &[&str]) -> Proc {
    let mut all = vec!["-port".to_owned(), port.to_string(), "-d".to_owned()];
    all.extend(args.iter().map(|a| (*a).to_owned()));
    let proc = Proc::start("our epmd", Path::new(OUR_EPMD), &all, &[]);
    wait_listening(port, "our epmd");
    proc
}

/// OTP's `epmd` on `port`, with `args`, listening when this returns.
pub(crate) fn otp_epmd(otp: &Otp, port: u16, args: &[&str]) -> Proc {
    let mut all = vec!["-port".to_owned(), port.to_string()];
    all.extend(args.iter().map(|a| (*a).to_owned()));
    let proc = Proc::start("OTP epmd", &otp.epmd, &all, &[]);
    wait_listening(port, "OTP epmd");
    proc
}

/// Runs an `epmd` command (`-names`, `-kill`, ...) to completion, with `ERL_EPMD_PORT` set to `port`.
pub(crate) fn epmd_command(program: &Path, port: u16, args: &[&str]) -> Output {
    let mut cmd = Command::new(program);
    cmd.args(args).stdin(Stdio::null());
    clean_env(&mut cmd, &[("ERL_EPMD_PORT", port.to_string())]);
    let child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start epmd command");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(WAIT) {
        Ok(output) => output.expect("epmd command output"),
        Err(_) => panic!("{} {args:?} (pid {pid}) did not finish within {WAIT:?}", program.display()),
    }
}

/// The stdout of `epmd -names` run by OTP's own `epmd` program against the EPMD on `port`.
pub(crate) fn otp_names(otp: &Otp, port: u16) -> String {
    let output = epmd_command(&otp.epmd, port, &["-names"]);
    assert!(output.status.success(), "epmd -names failed: {output:?}");
    String::from_utf8(output.stdout).expect("UTF-8 names")
}

/// Polls OTP's `epmd -names` against `port` until `check` accepts its output; panics after [`WAIT`].
pub(crate) fn wait_otp_names(otp: &Otp, port: u16, what: &str, check: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    loop {
        let names = otp_names(otp, port);
        if check(&names) {
            return names;
        }
        if start.elapsed() > WAIT {
            panic!("epmd -names never showed {what} within {WAIT:?}; last output:\n{names}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// An `erl` node named `sname`, using the EPMD on `epmd_port` (never starting one of its own), running
/// `eval` (which should end by waiting, e.g. `timer:sleep(infinity)`).
pub(crate) fn erl_node(otp: &Otp, sname: &str, epmd_port: u16, eval: &str) -> Proc {
    let args = [
        "-sname",
        sname,
        "-setcookie",
        "erlnode_epmd_test",
        "-start_epmd",
        "false",
        "-noshell",
        "-noinput",
        "-eval",
        eval,
    ];
    Proc::start(sname, &otp.erl, &args, &[("ERL_EPMD_PORT", epmd_port.to_string())])
}

/// Erlang that binds `Host` to this node's host part (the text after `@`).
pub(crate) const ERL_HOST: &str = "[_, Host] = string:split(atom_to_list(node()), \"@\")";

/// A request frame as a peer sends it: a 2-byte length, then the body (built by hand, independent of the
/// crate's own encoder).
pub(crate) fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = u16::try_from(body.len()).expect("short body").to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

/// An ALIVE2_REQ body for a normal node over TCP, as OTP sends it.
pub(crate) fn alive(name: &[u8], port: u16, high: u16, low: u16, extra: &[u8]) -> Vec<u8> {
    let mut body = vec![b'x'];
    body.extend_from_slice(&port.to_be_bytes());
    body.extend_from_slice(&[77, 0]);
    body.extend_from_slice(&high.to_be_bytes());
    body.extend_from_slice(&low.to_be_bytes());
    body.extend_from_slice(&u16::try_from(name.len()).expect("short name").to_be_bytes());
    body.extend_from_slice(name);
    body.extend_from_slice(&u16::try_from(extra.len()).expect("short extra").to_be_bytes());
    body.extend_from_slice(extra);
    body
}
