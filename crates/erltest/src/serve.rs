//! A compiled Erlang module that serves requests line by line: `erl -noshell` runs it with stdin and stdout
//! piped, the Rust side writes one request a line and reads reply lines, each wait bounded. The
//! side-by-side benches drive their Erlang halves this way, so that the two sides can take turns.
//!
//! Unlike the tests' runs, the node keeps the caller's environment (so `ERL_FLAGS` can tune a measured
//! node) and its stderr goes to the caller's stderr. Everything fails with an error rather than a panic:
//! a bench without Erlang still reports its Rust side.

use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use crate::find::Erlang;
use crate::tempdir::TempDir;

/// How long [`Server::stop`] waits for the node to end before it kills it.
const STOP_WAIT: Duration = Duration::from_secs(10);

/// What a module to serve needs: its source, `erl` flags, the arguments of its entry function, and how
/// long a reply may take. Its entry point is `main/1` of the module named after the source file.
#[derive(Debug, Clone)]
#[must_use = "a Serve does nothing until started"]
pub struct Serve {
    source: PathBuf,
    flags: Vec<OsString>,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    timeout: Duration,
}

/// What a reply reader made of one line (see [`Server::read_reply`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply<T> {
    /// The reply is complete: stop reading and return this.
    Done(T),
    /// A line of the reply, taken in: read on.
    More,
    /// A line outside the protocol: print it to stderr as `erl: <line>` and read on.
    Other,
}

impl Serve {
    /// Serves the module compiled from `source` (an `.erl` file), with a 30-second bound on each wait.
    pub fn new(source: impl Into<PathBuf>) -> Serve {
        Serve {
            source: source.into(),
            flags: Vec::new(),
            args: Vec::new(),
            env: Vec::new(),
            timeout: Duration::from_secs(30),
        }
    }

    /// An `erl` flag (such as `+P`, then `2000000`), placed before `-pa` on the command line.
    pub fn flag(mut self, flag: impl AsRef<OsStr>) -> Serve {
        self.flags.push(flag.as_ref().to_owned());
        self
    }

    /// An argument for the module's `main/1` (which gets them as a list of strings).
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Serve {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// An environment variable for the node (such as `ERL_EPMD_PORT`).
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Serve {
        self.env.push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// How long the node may take to start or to send the next line of a reply.
    pub fn timeout(mut self, timeout: Duration) -> Serve {
        self.timeout = timeout;
        self
    }

    /// Compiles the module into `dir` with `erlc` and starts
    /// `erl -noshell FLAGS -pa DIR -run MODULE main ARGS -s init stop` there, with stdin and stdout piped.
    /// The node owns `dir` from then on (it is removed with the [`Server`]). The error says why there is no
    /// node: no Erlang on `PATH`, a compile error, or `erl` failing to start.
    pub fn start(self, dir: TempDir) -> Result<Server, String> {
        let erlang = Erlang::on_path()?;
        erlang.try_compile(&self.source, &dir)?;
        let module = self
            .source
            .file_stem()
            .ok_or_else(|| format!("{}: not a module source file", self.source.display()))?
            .to_owned();
        let mut child = Command::new(&erlang.erl)
            .arg("-noshell")
            .args(&self.flags)
            .arg("-pa")
            .arg(dir.path())
            .arg("-run")
            .arg(module)
            .arg("main")
            .args(&self.args)
            .args(["-s", "init", "stop"])
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot run erl ({e}); is Erlang/OTP installed?"))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err("erl's stdin and stdout are not piped".to_owned());
        };
        // A reader thread, so every wait for the node can time out.
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Server { child, stdin: Some(stdin), lines, timeout: self.timeout, dir })
    }
}

/// A running node serving a module (see [`Serve`]); killed when dropped.
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// `None` once closed by [`Server::stop`].
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    timeout: Duration,
    dir: TempDir,
}

impl Server {
    /// The directory the module was compiled into (and the node runs with on its code path).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Sends `line` (a newline is added).
    pub fn send(&mut self, line: &str) -> Result<(), String> {
        let stdin = self.stdin.as_mut().ok_or("erl's stdin is closed")?;
        writeln!(stdin, "{line}").map_err(|e| format!("writing to erl: {e}"))
    }

    /// The next line the node prints, waiting at most the [`Serve::timeout`].
    pub fn next_line(&self) -> Result<String, String> {
        match self.lines.recv_timeout(self.timeout) {
            Ok(line) => Ok(line),
            Err(RecvTimeoutError::Timeout) => Err(format!("erl did not answer within {} s", self.timeout.as_secs())),
            Err(RecvTimeoutError::Disconnected) => Err("erl exited".to_owned()),
        }
    }

    /// Reads lines until `parse` (given each line's whitespace-separated fields, then the line) makes a
    /// [`Reply::Done`] of one, or an error; lines it calls [`Reply::Other`] are printed to stderr.
    pub fn read_reply<T>(&self, mut parse: impl FnMut(&[&str], &str) -> Result<Reply<T>, String>) -> Result<T, String> {
        loop {
            let line = self.next_line()?;
            let fields: Vec<&str> = line.split_whitespace().collect();
            match parse(&fields, &line)? {
                Reply::Done(value) => return Ok(value),
                Reply::More => {}
                Reply::Other => eprintln!("erl: {line}"),
            }
        }
    }

    /// Sends `line`, then reads its reply with `parse` (see [`Server::read_reply`]).
    pub fn request<T>(
        &mut self,
        line: &str,
        parse: impl FnMut(&[&str], &str) -> Result<Reply<T>, String>,
    ) -> Result<T, String> {
        self.send(line)?;
        self.read_reply(parse)
    }

    /// Ends the node: closes its stdin (the module is expected to return from `main/1` at end of input,
    /// and `-s init stop` then stops the node), waits up to 10 seconds, then kills it if it still runs.
    pub fn stop(mut self) {
        self.stdin = None;
        let deadline = Instant::now() + STOP_WAIT;
        loop {
            match self.child.try_wait() {
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
                _ => break,
            }
        }
        // Drop kills what is left.
    }

    /// Kills the node and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}
