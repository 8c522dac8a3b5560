//! This crate's `epmd` against OTP's, side by side: PORT_PLEASE2 lookups per second and NAMES requests per
//! second, each over a fresh TCP connection as the protocol has it.
//!
//! Run with `cargo bench -p erlnode-epmd --bench vs_otp` (under a minute). Both daemons run as their
//! own processes on free loopback ports (this crate's `epmd` binary as built for the bench, and OTP's `epmd`
//! from the `PATH`), each with the same ten registered nodes. The load comes from this process: `clients`
//! tasks on a multi-threaded tokio runtime, each connecting, sending one request, reading the reply to the
//! end, and starting over. For every workload and client count, the two daemons take turns for `ROUNDS`
//! rounds of `EPMD_BENCH_SECS` seconds each (default 1), and each keeps its best round, so load from
//! elsewhere on the machine falls on both alike. Before measuring, it checks that both daemons answer the
//! lookup with the same bytes.
//!
//! Without OTP (`erl`, `erlc` and `epmd`) on the `PATH` the OTP column reads n/a (with `CI=true`, it
//! fails instead). Under `cargo test --benches` (no `--bench` argument) it runs each measurement for a moment
//! only, to check that it works.

#[path = "../tests/support/mod.rs"]
mod support;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use erlnode_epmd::{Client, NodeEntry, Registration};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use erlnode_erltest::node::free_port;
use erlnode_erltest::{Erlang, Proc, epmd};
use support::our_epmd;

/// Rounds per measurement; each daemon keeps its best.
const ROUNDS: usize = 5;

/// Registered nodes on each daemon.
const NODES: u16 = 10;

/// Concurrent clients to measure with.
const CLIENTS: [usize; 2] = [1, 16];

/// A daemon under test (killed when dropped).
struct Daemon {
    label: &'static str,
    addr: SocketAddr,
    _proc: Proc,
}

impl Daemon {
    fn new(label: &'static str, port: u16, proc: Proc) -> Daemon {
        Daemon { label, addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)), _proc: proc }
    }
}

/// What the clients ask.
#[derive(Clone, Copy)]
enum Workload {
    PortPlease,
    Names,
}

impl Workload {
    fn label(self) -> &'static str {
        match self {
            Workload::PortPlease => "PORT_PLEASE2",
            Workload::Names => "NAMES",
        }
    }

    fn frame(self) -> Vec<u8> {
        match self {
            Workload::PortPlease => b"\x00\x08zbench_5".to_vec(),
            Workload::Names => b"\x00\x01n".to_vec(),
        }
    }

    /// Whether `reply` is a successful answer.
    fn accepts(self, reply: &[u8]) -> bool {
        match self {
            Workload::PortPlease => reply.starts_with(b"w\x00"),
            Workload::Names => reply.len() > 4 && reply[4..].starts_with(b"name bench_"),
        }
    }
}

/// One request over a fresh connection; returns the whole reply.
async fn ask(addr: SocketAddr, frame: &[u8], buf: &mut Vec<u8>) -> std::io::Result<()> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    stream.write_all(frame).await?;
    buf.clear();
    stream.read_to_end(buf).await?;
    Ok(())
}

/// Requests per second that `clients` concurrent clients get from `addr` in `duration`.
async fn measure(addr: SocketAddr, workload: Workload, clients: usize, duration: Duration) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let frame: Arc<[u8]> = workload.frame().into();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (done, stop, frame) = (Arc::clone(&done), Arc::clone(&stop), Arc::clone(&frame));
        tasks.push(tokio::spawn(async move {
            let mut buf = Vec::with_capacity(1024);
            while !stop.load(Ordering::Relaxed) {
                match ask(addr, &frame, &mut buf).await {
                    Ok(()) if workload.accepts(&buf) => {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(()) => panic!("bad reply from {addr}: {buf:?}"),
                    // Out of ephemeral ports or the like: back off a little.
                    Err(_) => tokio::time::sleep(Duration::from_millis(1)).await,
                }
            }
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        if let Err(e) = task.await {
            std::panic::resume_unwind(e.into_panic());
        }
    }
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

async fn register_nodes(addr: SocketAddr) -> Vec<Registration> {
    let client = Client::new(addr);
    let mut held = Vec::new();
    for i in 0..NODES {
        match client.register(&NodeEntry::new(format!("bench_{i}"), 5000 + i)).await {
            Ok(registration) => held.push(registration),
            Err(e) => panic!("cannot register with {addr}: {e}"),
        }
    }
    held
}

fn rate(value: Option<f64>) -> String {
    value.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.0}/s"))
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let secs = std::env::var("EPMD_BENCH_SECS").ok().and_then(|s| s.parse::<f64>().ok()).unwrap_or(1.0);
    let (duration, rounds) =
        if full { (Duration::from_secs_f64(secs), ROUNDS) } else { (Duration::from_millis(50), 1) };

    let port = free_port();
    let ours = Daemon::new("erlnode epmd", port, our_epmd(port, &[]));
    let otp = Erlang::find("vs_otp").map(|otp| {
        let port = free_port();
        Daemon::new("OTP epmd", port, epmd::start(&otp, port, &[]))
    });

    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => panic!("cannot start the runtime: {e}"),
    };
    runtime.block_on(async {
        let _ours_held = register_nodes(ours.addr).await;
        let _otp_held = match &otp {
            Some(otp) => register_nodes(otp.addr).await,
            None => Vec::new(),
        };
        if let Some(otp) = &otp {
            let frame = Workload::PortPlease.frame();
            let (mut a, mut b) = (Vec::new(), Vec::new());
            let (ra, rb) = (ask(otp.addr, &frame, &mut a).await, ask(ours.addr, &frame, &mut b).await);
            assert!(ra.is_ok() && rb.is_ok() && a == b, "the daemons answer differently: {a:?} vs {b:?}");
            println!("both daemons answer PORT_PLEASE2 with the same {} bytes", a.len());
        }

        println!(
            "\n{:<13} {:>7} {:>14} {:>14} {:>16}",
            "request",
            "clients",
            otp.as_ref().map_or("OTP epmd", |d| d.label),
            ours.label,
            "erlnode / OTP"
        );
        for workload in [Workload::PortPlease, Workload::Names] {
            for clients in CLIENTS {
                let (mut best_ours, mut best_otp) = (0f64, None::<f64>);
                for round in 0..rounds {
                    // Alternate who goes first.
                    let order: Vec<&Daemon> = match (&otp, round % 2) {
                        (Some(otp), 0) => vec![otp, &ours],
                        (Some(otp), _) => vec![&ours, otp],
                        (None, _) => vec![&ours],
                    };
                    for daemon in order {
                        let r = measure(daemon.addr, workload, clients, duration).await;
                        if std::ptr::eq(daemon, &ours) {
                            best_ours = best_ours.max(r);
                        } else {
                            best_otp = Some(best_otp.unwrap_or(0.0).max(r));
                        }
                    }
                }
                let ratio = best_otp.map_or_else(|| "n/a".to_owned(), |o| format!("{:.2}x", best_ours / o));
                println!(
                    "{:<13} {:>7} {:>14} {:>14} {:>16}",
                    workload.label(),
                    clients,
                    rate(best_otp),
                    rate(Some(best_ours)),
                    ratio
                );
            }
        }
    });
}
