//! Distribution, side by side: Erlang to Erlang, Erlang to erlnode, and erlnode to erlnode, on this machine.
//!
//! Run with `cargo bench -p erlnode-cli --bench dist_vs_erlang`. It starts, all registered with an EPMD
//! embedded in this program:
//! - `erlnode demo` as a separate OS process (its `sink` and `echo` are the Rust receivers);
//! - an `erl` node serving `benches/erlang/dist_bench.erl` as the Erlang receiver (`sink`, `echo`);
//! - an `erl` node serving the same module as the Erlang sender;
//! - and, in this program, a Rust node as the erlnode sender.
//!
//! The cases, each the same whoever sends:
//! - `send`: `{sink, N, self()}` then the integers 1..N to `{sink, Node}`, until `sink` answers `done`;
//!   messages per second.
//! - `call`: N `gen_server:call({echo, Node}, I)` in a row; microseconds per call.
//! - `rpc`: N `rpc:call(Node, M, add, [I, 1])` in a row (`demo:add/2` on erlnode, the same function in
//!   Erlang on the Erlang receiver); microseconds per call. erlnode calls with `Process::rpc_call`.
//!
//! A last line measures the floor under any call here: a bare TCP round trip between two threads that
//! never sleep.
//!
//! Each round runs every pairing back to back and each keeps its best round, so load from elsewhere falls
//! on all alike. Then come the targets, each MET or MISSED. Without Erlang only the
//! erlnode-to-erlnode figures print.
//!
//! Under `cargo test --benches` (no `--bench` argument) it only runs the Rust pairing once, small.

use std::path::Path;
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use erlnode::{Atom, Node, NodeOptions, Term, gen_server};
use erlnode_erltest::node::{free_port, unique};
use erlnode_erltest::serve::{Reply, Serve, Server};
use erlnode_erltest::{Proc, TempDir};

const ROUNDS: usize = 5;
const SEND_N: u64 = 200_000;
const CALL_N: u64 = 20_000;
const RPC_N: u64 = 10_000;
const COOKIE: &str = "erlnode_dist_bench";
const ERLNODE: &str = env!("CARGO_BIN_EXE_erlnode");
const ERLANG_SOURCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/erlang/dist_bench.erl");

/// The targets.
const RUST_RUST_SEND: f64 = 10.0;
const RUST_RUST_CALL: f64 = 0.25;
const ERL_RUST_SEND: f64 = 2.0;
const RUST_RUST_RPC: f64 = 1.0 / 3.0;

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
    let epmd = free_port();
    let driver = runtime
        .block_on(Node::start(NodeOptions::new(unique("bench")).cookie(COOKIE).epmd_port(epmd)))
        .expect("the driver node starts");
    let host = driver.name().as_str().split_once('@').map(|(_, h)| h.to_string()).unwrap_or_default();
    let demo_name = unique("rust_dst");
    let demo = Proc::start(
        "erlnode demo",
        Path::new(ERLNODE),
        &["demo", "--name", &demo_name, "--cookie", COOKIE],
        &[("ERL_EPMD_PORT", epmd.to_string())],
    );
    demo.wait_for("ready");
    let rust_dst = Atom::new(&format!("{demo_name}@{host}"));

    if !bench {
        let secs = rust_send(&driver, rust_dst, 1000);
        let call = rust_call(&driver, rust_dst, 100);
        let rpc = rust_rpc(&driver, rust_dst, 100);
        println!(
            "dist_vs_erlang: smoke run done ({secs:.3} s, {call:.3} s, {rpc:.3} s); run with `cargo bench` to measure"
        );
        return;
    }

    let erlang = start_erlang(epmd, &host);
    if let Err(why) = &erlang {
        eprintln!("dist_vs_erlang: no Erlang column: {why}");
    }
    let mut best: Vec<(&str, f64)> = Vec::new();
    let mut record = |name: &'static str, secs: f64| match best.iter_mut().find(|(n, _)| *n == name) {
        Some((_, b)) => *b = b.min(secs),
        None => best.push((name, secs)),
    };
    let mut erlang = erlang.ok();
    for round in 0..ROUNDS {
        eprintln!("dist_vs_erlang: round {}/{ROUNDS}", round + 1);
        if let Some((src, _dst, erl_dst)) = erlang.as_mut() {
            let erl_dst = *erl_dst;
            for (name, case, target, n) in [
                ("erl->erl send", "send", erl_dst, SEND_N),
                ("erl->rust send", "send", rust_dst, SEND_N),
                ("erl->erl call", "call", erl_dst, CALL_N),
                ("erl->rust call", "call", rust_dst, CALL_N),
            ] {
                match measure_erlang(src, &format!("{case} {} {n}", target.as_str())) {
                    Ok(secs) => record(name, secs),
                    Err(why) => eprintln!("dist_vs_erlang: {name} failed: {why}"),
                }
            }
            for (name, target, module) in [("erl->erl rpc", erl_dst, "dist_bench"), ("erl->rust rpc", rust_dst, "demo")]
            {
                match measure_erlang(src, &format!("rpc {} {RPC_N} {module}", target.as_str())) {
                    Ok(secs) => record(name, secs),
                    Err(why) => eprintln!("dist_vs_erlang: {name} failed: {why}"),
                }
            }
        }
        record("rust->rust send", rust_send(&driver, rust_dst, SEND_N));
        record("rust->rust call", rust_call(&driver, rust_dst, CALL_N));
        record("rust->rust rpc", rust_rpc(&driver, rust_dst, RPC_N));
        record("tcp floor", tcp_round_trips(CALL_N));
    }
    if let Some((src, dst, _)) = erlang {
        src.stop();
        dst.stop();
    }
    drop(demo);
    report(&best);
}

/// The Erlang sender and receiver nodes, and the receiver's name.
fn start_erlang(epmd: u16, host: &str) -> Result<(Server, Server, Atom), String> {
    let serve = |role: &str| -> Result<(Server, Atom), String> {
        let name = unique(role);
        let server = Serve::new(ERLANG_SOURCE)
            .flag("-sname")
            .flag(&name)
            .flag("-setcookie")
            .flag(COOKIE)
            .flag("-start_epmd")
            .flag("false")
            .env("ERL_EPMD_PORT", epmd.to_string())
            .timeout(Duration::from_secs(120))
            .start(TempDir::try_new(&format!("erlnode-dist-bench-{role}")).map_err(|e| e.to_string())?)?;
        server.read_reply(ok)?;
        Ok((server, Atom::new(&format!("{name}@{host}"))))
    };
    let (mut dst, dst_name) = serve("erl_dst")?;
    dst.request("serve", ok)?;
    let (src, _) = serve("erl_src")?;
    Ok((src, dst, dst_name))
}

fn ok(fields: &[&str], _line: &str) -> Result<Reply<()>, String> {
    match fields {
        ["DIST_BENCH_OK"] => Ok(Reply::Done(())),
        ["DIST_BENCH_ERROR", ..] => Err(fields.join(" ")),
        _ => Ok(Reply::Other),
    }
}

/// One Erlang measurement (a request line of dist_bench.erl): seconds.
fn measure_erlang(src: &mut Server, request: &str) -> Result<f64, String> {
    src.request(request, |fields, _| match fields {
        ["DIST_BENCH_RESULT", _, _, secs] => secs.parse::<f64>().map(Reply::Done).map_err(|e| e.to_string()),
        ["DIST_BENCH_ERROR", ..] => Err(fields.join(" ")),
        _ => Ok(Reply::Other),
    })
}

/// Runs `body` in a process of `node` and returns what it returns.
fn coordinate<T, F, Fut>(node: &Node, body: F) -> T
where
    T: Send + 'static,
    F: FnOnce(erlnode::Process) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let (tx, rx) = channel();
    node.spawn(move |p| async move {
        tx.send(body(p).await).ok();
        Ok(())
    })
    .expect("spawn the coordinator");
    rx.recv().expect("the coordinator's result")
}

/// erlnode to erlnode `send`: seconds.
fn rust_send(node: &Node, target: Atom, n: u64) -> f64 {
    coordinate(node, move |mut p| async move {
        let sink = Atom::new("sink");
        let start = Instant::now();
        let me = p.self_pid();
        p.send_to_name_on(sink, target, Term::tuple(vec![Term::atom("sink"), Term::from(n as i64), Term::Pid(me)]));
        for i in 1..=n {
            p.send_to_name_on(sink, target, i as i64);
        }
        let done = Term::atom("done");
        p.recv_match_timeout(|m| *m == done, Duration::from_secs(120)).await.expect("sink answered done");
        start.elapsed().as_secs_f64()
    })
}

/// erlnode to erlnode `call`: seconds for `n` calls.
fn rust_call(node: &Node, target: Atom, n: u64) -> f64 {
    coordinate(node, move |mut p| async move {
        let echo = (Atom::new("echo"), target);
        let start = Instant::now();
        for i in 1..=n as i64 {
            // What `gen_server:call` does: a monitor by name with an alias, the request, the demonitor.
            let reply = gen_server::call(&mut p, echo, i, Duration::from_secs(60)).await;
            assert_eq!(reply, Ok(Term::from(i)), "echo answered");
        }
        start.elapsed().as_secs_f64()
    })
}

/// erlnode to erlnode `rpc`: seconds for `n` calls of `demo:add(I, 1)`.
fn rust_rpc(node: &Node, target: Atom, n: u64) -> f64 {
    coordinate(node, move |mut p| async move {
        let start = Instant::now();
        for i in 1..=n as i64 {
            let sum =
                p.rpc_call(target, "demo", "add", vec![Term::from(i), Term::from(1)], Duration::from_secs(60)).await;
            assert_eq!(sum, Ok(Term::from(i + 1)));
        }
        start.elapsed().as_secs_f64()
    })
}

/// The floor under any distributed call on this machine: `n` round trips of 8 bytes between two threads
/// over loopback TCP, both reading without ever sleeping (as erlnode's busy poll does at best); seconds.
fn tcp_round_trips(n: u64) -> f64 {
    use std::io::{ErrorKind, Read, Write};
    use std::net::{TcpListener, TcpStream};
    fn read_spinning(stream: &mut TcpStream, buf: &mut [u8; 8]) {
        let mut got = 0;
        while got < buf.len() {
            match stream.read(&mut buf[got..]) {
                Ok(0) => panic!("the echo thread closed the socket"),
                Ok(k) => got += k,
                Err(e) if e.kind() == ErrorKind::WouldBlock => std::hint::spin_loop(),
                Err(e) => panic!("tcp floor: {e}"),
            }
        }
    }
    let setup = |stream: &TcpStream| {
        stream.set_nodelay(true).expect("nodelay");
        stream.set_nonblocking(true).expect("non-blocking");
    };
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback listener");
    let addr = listener.local_addr().expect("its address");
    let echo = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("the client connects");
        setup(&stream);
        let mut buf = [0u8; 8];
        for _ in 0..n {
            read_spinning(&mut stream, &mut buf);
            stream.write_all(&buf).expect("echo");
        }
    });
    let mut stream = TcpStream::connect(addr).expect("connect to the echo thread");
    setup(&stream);
    let mut buf = [1u8; 8];
    let start = Instant::now();
    for _ in 0..n {
        stream.write_all(&buf).expect("send");
        read_spinning(&mut stream, &mut buf);
    }
    let secs = start.elapsed().as_secs_f64();
    echo.join().expect("the echo thread");
    secs
}

fn report(best: &[(&str, f64)]) {
    let get = |name: &str| best.iter().find(|(n, _)| *n == name).map(|(_, s)| *s);
    println!();
    println!(
        "erlnode distribution vs Erlang/OTP (best of {ROUNDS} rounds; {SEND_N} messages, {CALL_N} calls, {RPC_N} rpcs)"
    );
    println!("{:<22} {:>16} {:>14} {:>14}", "pairing", "messages/s", "us per call", "us per rpc");
    for pair in ["erl->erl", "erl->rust", "rust->rust"] {
        let send = get(&format!("{pair} send")).map(|s| SEND_N as f64 / s);
        let call = get(&format!("{pair} call")).map(|s| s / CALL_N as f64 * 1e6);
        let rpc = get(&format!("{pair} rpc")).map(|s| s / RPC_N as f64 * 1e6);
        let cell = |v: Option<f64>, f: &dyn Fn(f64) -> String| v.map_or("n/a".to_string(), f);
        println!(
            "{pair:<22} {:>16} {:>14} {:>14}",
            cell(send, &|v| format!("{:.0}k", v / 1e3)),
            cell(call, &|v| format!("{v:.1}")),
            cell(rpc, &|v| format!("{v:.1}"))
        );
    }
    let floor = get("tcp floor").map(|s| s / CALL_N as f64 * 1e6);
    if let Some(floor) = floor {
        println!("{:<22} {:>16} {floor:>14.1}", "bare TCP (floor)", "");
    }
    let (Some(ee_send), Some(ee_call)) = (get("erl->erl send"), get("erl->erl call")) else {
        println!("\n(no Erlang column: targets not checked)");
        return;
    };
    let verdict = |ok: bool| if ok { "MET" } else { "MISSED" };
    println!("\nTargets from the issue:");
    let mut met = 0;
    let mut check = |what: &str, ratio: f64, ok: bool| {
        met += usize::from(ok);
        println!("  {what:<58} {ratio:>6.2}x  {}", verdict(ok));
    };
    if let Some(rr) = get("rust->rust send") {
        let r = ee_send / rr;
        check("erlnode->erlnode throughput >= 10x Erlang->Erlang", r, r >= RUST_RUST_SEND);
    }
    if let Some(rr) = get("rust->rust call") {
        let r = rr / ee_call;
        check("erlnode->erlnode call round trip <= 1/4 of Erlang's (ratio shown)", r, r <= RUST_RUST_CALL);
        if let Some(floor) = floor {
            println!(
                "    (bare TCP round trip / Erlang's call: {:.2}x; no call over TCP here can do better)",
                floor / (ee_call / CALL_N as f64 * 1e6)
            );
        }
    }
    if let Some(er) = get("erl->rust send") {
        let r = ee_send / er;
        check("Erlang->erlnode throughput >= 2x Erlang->Erlang", r, r >= ERL_RUST_SEND);
    }
    if let Some(er) = get("erl->rust call") {
        let r = er / ee_call;
        check("Erlang->erlnode call round trip < Erlang's (ratio shown)", r, r < 1.0);
    }
    println!("  => {met} of 4 distribution targets met");
    let (Some(ee_rpc), Some(er_rpc), Some(rr_rpc)) = (get("erl->erl rpc"), get("erl->rust rpc"), get("rust->rust rpc"))
    else {
        return;
    };
    println!("\nRPC targets from the issue:");
    let r = er_rpc / ee_rpc;
    println!("  {:<58} {r:>6.2}x  {}", "Erlang->erlnode rpc:call < Erlang->Erlang's (ratio shown)", verdict(r < 1.0));
    let r = rr_rpc / ee_rpc;
    let ok = r <= RUST_RUST_RPC;
    println!("  {:<58} {r:>6.2}x  {}", "erlnode->erlnode RPC round trip <= 1/3 of Erlang's (ratio shown)", verdict(ok));
}
