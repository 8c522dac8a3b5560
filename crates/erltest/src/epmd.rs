//! OTP's `epmd`: the daemon on a port of the test's choosing, and its commands (`-names`, `-kill`,
//! `-stop`, ...) against any EPMD.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::child::{Proc, WAIT};
use crate::find::Erlang;
use crate::node::wait_listening;
use crate::run::clean_env;

/// OTP's `epmd` daemon on `port`, with `args` (such as `-relaxed_command_check`), listening when this
/// returns.
pub fn start(erlang: &Erlang, port: u16, args: &[&str]) -> Proc {
    let mut all = vec!["-port".to_owned(), port.to_string()];
    all.extend(args.iter().map(|a| (*a).to_owned()));
    let proc = Proc::start("OTP epmd", &erlang.epmd, &all, &[]);
    wait_listening(port, "OTP epmd");
    proc
}

/// Runs an `epmd` command (`-names`, `-kill`, ...) of `program` (OTP's or another `epmd`) to completion,
/// with `ERL_EPMD_PORT` set to `port`; panics if it takes longer than [`WAIT`].
pub fn command(program: &Path, port: u16, args: &[&str]) -> Output {
    let mut cmd = Command::new(program);
    cmd.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    clean_env(&mut cmd).env("ERL_EPMD_PORT", port.to_string());
    let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {} {args:?}: {e}", program.display()));
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(WAIT) {
        Ok(output) => output.expect("the epmd command's output"),
        Err(_) => panic!("{} {args:?} (pid {pid}) did not finish within {WAIT:?}", program.display()),
    }
}

/// The stdout of `epmd -names`, run by OTP's own `epmd` program against the EPMD on `port`.
pub fn names(erlang: &Erlang, port: u16) -> String {
    let output = command(&erlang.epmd, port, &["-names"]);
    assert!(output.status.success(), "epmd -names failed: {output:?}");
    String::from_utf8(output.stdout).expect("epmd -names prints UTF-8")
}

/// Polls OTP's `epmd -names` against `port` until `check` accepts its output, and returns that output;
/// panics after [`WAIT`], saying it never showed `what`.
pub fn wait_names(erlang: &Erlang, port: u16, what: &str, check: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    loop {
        let names = names(erlang, port);
        if check(&names) {
            return names;
        }
        if start.elapsed() > WAIT {
            panic!("epmd -names never showed {what} within {WAIT:?}; last output:\n{names}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
