//! The `epmd` binary as a drop-in for OTP's: the interactive commands print what OTP's `epmd` prints, with
//! the same exit codes, against either daemon; the server options and environment variables work.

mod support;

use std::net::{Ipv4Addr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use erlnode_epmd::{Client, NodeEntry, Registration};
use erlnode_erltest::child::{Proc, WAIT};
use erlnode_erltest::node::{free_port, wait_listening};
use erlnode_erltest::{Erlang, epmd};
use support::{OUR_EPMD, our_epmd};

/// What a command printed and how it exited.
#[derive(Debug, PartialEq, Eq)]
struct Printed {
    stdout: String,
    stderr: String,
    code: Option<i32>,
}

fn run(program: &Path, port: u16, args: &[&str]) -> Printed {
    let output = epmd::command(program, port, args);
    Printed {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        code: output.status.code(),
    }
}

fn ours(port: u16, args: &[&str]) -> Printed {
    run(Path::new(OUR_EPMD), port, args)
}

fn printed(stdout: &str, code: i32) -> Printed {
    Printed { stdout: stdout.to_owned(), stderr: String::new(), code: Some(code) }
}

/// Both daemons, each on a free port, with the given server options.
fn daemons(otp: &Erlang, args: &[&str]) -> [(&'static str, u16, Proc); 2] {
    let (otp_port, our_port) = (free_port(), free_port());
    [("OTP epmd", otp_port, epmd::start(otp, otp_port, args)), ("our epmd", our_port, our_epmd(our_port, args))]
}

async fn register(port: u16, names: &[(&str, u16)]) -> Vec<Registration> {
    let client = Client::local(port);
    let mut held = Vec::new();
    for (name, dist_port) in names {
        held.push(client.register(&NodeEntry::new(*name, *dist_port)).await.expect("register"));
    }
    held
}

#[tokio::test(flavor = "multi_thread")]
async fn names_prints_what_otp_prints() {
    let Some(otp) = Erlang::find("names_prints_what_otp_prints") else { return };
    for (label, port, _daemon) in daemons(&otp, &[]) {
        let expected_empty = printed(&format!("epmd: up and running on port {port} with data:\n"), 0);
        assert_eq!(run(&otp.epmd, port, &["-names"]), expected_empty, "{label}, OTP's -names");
        assert_eq!(ours(port, &["-names"]), expected_empty, "{label}, our -names");

        let _held = register(port, &[("one", 5001), ("two", 5002)]).await;
        let expected = printed(
            &format!("epmd: up and running on port {port} with data:\nname two at port 5002\nname one at port 5001\n"),
            0,
        );
        assert_eq!(run(&otp.epmd, port, &["-names"]), expected, "{label}, OTP's -names");
        assert_eq!(ours(port, &["-names"]), expected, "{label}, our -names");
        // `-port` on the command line wins over ERL_EPMD_PORT (which `run` sets to the same port).
        assert_eq!(ours(port, &["-port", &port.to_string(), "-names"]), expected, "{label}, -port");
        // -dump: the same text (file descriptor numbers aside).
        let (theirs, mine) = (run(&otp.epmd, port, &["-dump"]), ours(port, &["-dump"]));
        assert_eq!(mine.code, theirs.code, "{label}, -dump");
        assert!(mine.stdout.contains("active name     <two> at port 5002, fd = "), "{label}: {mine:?}");
        assert_eq!(mine.stdout.matches("active name").count(), theirs.stdout.matches("active name").count());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_kill_and_stop_print_what_otp_prints() {
    let Some(otp) = Erlang::find("refused_kill_and_stop_print_what_otp_prints") else { return };
    for (label, port, _daemon) in daemons(&otp, &[]) {
        let _held = register(port, &[("one", 5001)]).await;
        let refused = printed("Killing not allowed - living nodes in database.\n", 1);
        assert_eq!(run(&otp.epmd, port, &["-kill"]), refused, "{label}, OTP's -kill");
        assert_eq!(ours(port, &["-kill"]), refused, "{label}, our -kill");
        let no_answer = printed("epmd: local epmd responded with <>\n", 1);
        assert_eq!(run(&otp.epmd, port, &["-stop", "one"]), no_answer, "{label}, OTP's -stop");
        assert_eq!(ours(port, &["-stop", "one"]), no_answer, "{label}, our -stop");
        assert!(run(&otp.epmd, port, &["-names"]).stdout.contains("name one at port 5001"), "{label}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn relaxed_stop_and_kill_print_what_otp_prints() {
    let Some(otp) = Erlang::find("relaxed_stop_and_kill_print_what_otp_prints") else { return };
    for (label, port, mut daemon) in daemons(&otp, &["-relaxed_command_check"]) {
        let _held = register(port, &[("one", 5001), ("two", 5002), ("three", 5003)]).await;
        assert_eq!(run(&otp.epmd, port, &["-stop", "one"]), printed("STOPPED\n", 0), "{label}, OTP's -stop");
        assert_eq!(ours(port, &["-stop", "two"]), printed("STOPPED\n", 0), "{label}, our -stop");
        assert_eq!(run(&otp.epmd, port, &["-stop", "two"]), printed("NOEXIST\n", 0), "{label}, OTP's -stop");
        assert_eq!(ours(port, &["-stop", "one"]), printed("NOEXIST\n", 0), "{label}, our -stop");
        let names = epmd::names(&otp, port);
        assert!(names.contains("name three") && !names.contains("name one") && !names.contains("name two"));
        // With a node still registered, relaxed checking lets -kill through; the daemon exits with 0.
        let killer = if label == "our epmd" { run(&otp.epmd, port, &["-kill"]) } else { ours(port, &["-kill"]) };
        assert_eq!(killer, printed("Killed\n", 0), "{label}, -kill");
        assert!(daemon.wait_exit(), "{label} exits successfully after -kill");
    }
}

#[test]
fn commands_without_a_daemon_print_what_otp_prints() {
    let Some(otp) = Erlang::find("commands_without_a_daemon_print_what_otp_prints") else { return };
    let port = free_port();
    for args in [&["-names"][..], &["-kill"], &["-stop", "x"]] {
        let expected =
            Printed { stdout: String::new(), stderr: "epmd: Cannot connect to local epmd\n".into(), code: Some(1) };
        assert_eq!(run(&otp.epmd, port, args), expected, "OTP's {args:?}");
        assert_eq!(ours(port, args), expected, "our {args:?}");
    }
}

#[test]
fn bad_arguments_are_refused_as_otp_refuses_them() {
    let Some(otp) = Erlang::find("bad_arguments_are_refused_as_otp_refuses_them") else { return };
    let port = free_port();
    for args in [&["-bogus"][..], &["-names", "extra"], &["-port"], &["-stop"], &["-names", "-kill"]] {
        let (theirs, mine) = (run(&otp.epmd, port, args), ours(port, args));
        assert_eq!((mine.code, theirs.code), (Some(1), Some(1)), "{args:?}");
        assert!(mine.stderr.starts_with("usage: epmd"), "{args:?}: {mine:?}");
        assert!(mine.stdout.is_empty() && theirs.stdout.is_empty());
    }
    let args = ["-address", "127.0.0.1,bad", "-port", &port.to_string()];
    let (theirs, mine) = (run(&otp.epmd, port, &args), ours(port, &args));
    assert_eq!((mine.code, theirs.code), (Some(1), Some(1)));
    assert_eq!(mine.stderr, "epmd: cannot parse IP address \"bad\"\n");
    assert!(theirs.stderr.trim_end().ends_with("cannot parse IP address \"bad\""), "{theirs:?}");
}

#[test]
fn a_second_daemon_on_a_taken_port_exits_quietly_with_success() {
    let Some(otp) = Erlang::find("a_second_daemon_on_a_taken_port_exits_quietly_with_success") else { return };
    for (label, port, _daemon) in daemons(&otp, &[]) {
        let port_arg = port.to_string();
        assert_eq!(run(&otp.epmd, port, &["-port", &port_arg]).code, Some(0), "OTP's epmd beside {label}");
        assert_eq!(ours(port, &["-port", &port_arg]).code, Some(0), "our epmd beside {label}");
        assert!(epmd::names(&otp, port).starts_with("epmd: up and running"), "{label} still serves");
    }
}

/// Sends KILL to whatever listens on `port` when dropped, so a detached daemon never outlives a test.
struct KillOnDrop(u16);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(mut stream) = TcpStream::connect((Ipv4Addr::LOCALHOST, self.0)) {
            let _ = std::io::Write::write_all(&mut stream, &[0, 1, b'k']);
        }
    }
}

fn wait_refused(port: u16) {
    let start = Instant::now();
    while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
        assert!(start.elapsed() < WAIT, "port {port} still served after {WAIT:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn daemon_detaches_and_kill_stops_it() {
    let Some(otp) = Erlang::find("daemon_detaches_and_kill_stops_it") else { return };
    let port = free_port();
    let _guard = KillOnDrop(port);
    let started = Instant::now();
    assert_eq!(ours(port, &["-daemon"]), printed("", 0), "-daemon returns at once");
    assert!(started.elapsed() < Duration::from_secs(5));
    wait_listening(port, "daemon");
    assert_eq!(epmd::names(&otp, port), format!("epmd: up and running on port {port} with data:\n"));
    assert_eq!(run(&otp.epmd, port, &["-kill"]), printed("Killed\n", 0));
    wait_refused(port);
}

#[test]
fn environment_variables_configure_the_daemon() {
    let Some(otp) = Erlang::find("environment_variables_configure_the_daemon") else { return };
    let port = free_port();
    let env = [
        ("ERL_EPMD_PORT", port.to_string()),
        ("ERL_EPMD_ADDRESS", "127.0.0.1".to_owned()),
        ("ERL_EPMD_RELAXED_COMMAND_CHECK", "1".to_owned()),
    ];
    let mut daemon = Proc::start("our epmd (env)", Path::new(OUR_EPMD), &["-d"], &env);
    wait_listening(port, "our epmd (env)");
    let output = daemon.wait_for("epmd listening");
    assert!(output.contains(&format!("127.0.0.1:{port}")) && !output.contains("0.0.0.0"), "{output}");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let _held = runtime.block_on(register(port, &[("one", 5001)]));
    // Relaxed checking came from the environment: -kill goes through although "one" is registered.
    assert_eq!(run(&otp.epmd, port, &["-kill"]), printed("Killed\n", 0));
    assert!(daemon.wait_exit());
}
