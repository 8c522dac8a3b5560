//! Distribution against real Erlang nodes: ping, messages both ways, monitors and links across the
//! connection, wrong cookies, TLS, node monitors, a frozen or killed peer, and hostile input.
//!
//! Each test starts a Rust node with an embedded EPMD on a free port and `erl` nodes registered with it.

mod common;

use std::time::Duration;

use common::WAIT;
use erlnode::{Atom, Node, NodeOptions, Pid, Term};
use erlnode_erltest::node::{ERL_HOST, ErlNode, free_port, unique};
use erlnode_erltest::{Erlang, Proc};

const COOKIE: &str = "erlnode_dist_test";

/// A Rust node and the EPMD port its peers use.
struct Rust {
    node: Node,
    epmd: u16,
}

async fn rust_node(label: &str, configure: impl Fn(NodeOptions) -> NodeOptions) -> Rust {
    let name = unique(label);
    let (node, epmd) =
        on_fresh_epmd(|epmd| configure(NodeOptions::new(name.clone()).cookie(COOKIE).epmd_port(epmd))).await;
    Rust { node, epmd }
}

/// Starts a node whose EPMD (embedded) listens on a free port. A port found free can be taken by another
/// test before the EPMD binds it, so a failed start is tried again on another port.
async fn on_fresh_epmd(options: impl Fn(u16) -> NodeOptions) -> (Node, u16) {
    let mut last = None;
    for _ in 0..5 {
        let epmd = free_port();
        match Node::start(options(epmd)).await {
            Ok(node) => return (node, epmd),
            Err(e) => last = Some(e),
        }
    }
    panic!("the Rust node does not start: {last:?}");
}

/// An `erl` node registered with `rust`'s EPMD, running `eval` once up; `RUST` in `eval` stands for the
/// Rust node's name as a quoted atom.
fn erl(erlang: &Erlang, rust: &Rust, label: &str, cookie: &str, eval: &str) -> (Proc, Atom) {
    erl_with(erlang, rust, label, cookie, &[], eval)
}

/// [`erl`] with more `erl` arguments.
fn erl_with(erlang: &Erlang, rust: &Rust, label: &str, cookie: &str, args: &[&str], eval: &str) -> (Proc, Atom) {
    let name = unique(label);
    let rust_name = format!("'{}'", rust.node.name().as_str());
    let eval = format!("{ERL_HOST}, {}", eval.replace("RUST", &rust_name));
    let proc = ErlNode::sname(&name).cookie(cookie).epmd_port(rust.epmd).args(args).eval(&eval).start(erlang);
    let host = rust.node.name().as_str().split_once('@').map(|(_, h)| h.to_string()).unwrap_or_default();
    (proc, Atom::new(&format!("{name}@{host}")))
}

/// Runs `body` in a process of `node` and returns what it returns.
async fn within<T: Send + 'static>(
    node: &Node,
    body: impl FnOnce(erlnode::Process) -> std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>> + Send + 'static,
) -> T {
    let (tx, rx) = tokio::sync::oneshot::channel();
    node.spawn(move |p| async move {
        tx.send(body(p).await).ok();
        Ok(())
    })
    .expect("spawn the test process");
    tokio::time::timeout(WAIT * 6, rx).await.expect("the test process finished in time").expect("it answered")
}

#[tokio::test(flavor = "multi_thread")]
async fn erlang_pings_rust_and_rust_connects_to_erlang() {
    let Some(erlang) = Erlang::find("erlang_pings_rust_and_rust_connects_to_erlang") else { return };
    let rust = rust_node("rust_ping", |o| o).await;
    let (peer, peer_name) = erl(
        &erlang,
        &rust,
        "erl_ping",
        COOKIE,
        "io:format(\"PING ~p~n\", [net_adm:ping(RUST)]), io:format(\"NODES ~p~n\", [nodes()]), timer:sleep(infinity).",
    );
    peer.wait_for("PING pong");
    let nodes = peer.wait_for("NODES");
    assert!(nodes.contains(rust.node.name().as_str()), "{nodes}");
    // The connection Erlang made is ours too.
    assert!(rust.node.nodes().contains(&peer_name), "{:?}", rust.node.nodes());

    // And a second Erlang node, which Rust connects to.
    let (other, other_name) = erl(&erlang, &rust, "erl_target", COOKIE, "io:format(\"UP~n\"), timer:sleep(infinity).");
    other.wait_for("UP");
    assert!(rust.node.connect(other_name).await, "Rust connects to {other_name}");
    assert!(rust.node.nodes().contains(&other_name));
}

#[tokio::test(flavor = "multi_thread")]
async fn messages_flow_both_ways_complete_and_in_order() {
    let Some(erlang) = Erlang::find("messages_flow_both_ways_complete_and_in_order") else { return };
    let rust = rust_node("rust_msgs", |o| o).await;
    // echo: {From, Msg} -> From ! Msg.
    let echo = rust
        .node
        .spawn(|mut p| async move {
            loop {
                if let Some([Term::Pid(from), msg]) = p.recv().await.as_tuple() {
                    p.send(*from, msg.clone());
                }
            }
        })
        .unwrap();
    rust.node.register(Atom::new("echo"), echo).unwrap();
    // Erlang sends 10,000 numbered messages to {echo, Rust} and checks they all come back in order; then it
    // waits for 10,000 from Rust on its registered name `sink` and checks their order too.
    let eval = "register(sink, self()), io:format(\"READY~n\"), \
        Me = self(), [ {echo, RUST} ! {Me, I} || I <- lists:seq(1, 10000) ], \
        Back = [ receive J when is_integer(J) -> J after 10000 -> timeout end || _ <- lists:seq(1, 10000) ], \
        io:format(\"ECHO ~p~n\", [Back =:= lists:seq(1, 10000)]), \
        Got = [ receive {n, K} -> K after 10000 -> timeout end || _ <- lists:seq(1, 10000) ], \
        io:format(\"SINK ~p~n\", [Got =:= lists:seq(1, 10000)]), timer:sleep(infinity).";
    let (peer, peer_name) = erl(&erlang, &rust, "erl_msgs", COOKIE, eval);
    peer.wait_for("READY");
    peer.wait_for("ECHO true");
    within(&rust.node, move |p| {
        Box::pin(async move {
            for i in 1..=10_000 {
                p.send_to_name_on(Atom::new("sink"), peer_name, Term::tuple(vec![Term::atom("n"), Term::from(i)]));
            }
        })
    })
    .await;
    peer.wait_for("SINK true");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_to_a_name_follows_the_name_as_it_changes_holder() {
    let Some(erlang) = Erlang::find("a_stream_to_a_name_follows_the_name_as_it_changes_holder") else { return };
    let rust = rust_node("rust_follow", |o| o).await;
    // Each collector passes what it receives to the test, with its label.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let collector = |label: &'static str| {
        let tx = tx.clone();
        rust.node
            .spawn(move |mut p| async move {
                loop {
                    let message = p.recv().await;
                    tx.send((label, message)).ok();
                }
            })
            .unwrap()
    };
    let tgt = Atom::new("tgt");
    rust.node.register(tgt, collector("a")).unwrap();
    rust.node.register(Atom::new("sync"), collector("sync")).unwrap();
    // Erlang sends its streams to {tgt, Rust} from one process, so from the second message of each on the
    // control message repeats and the Rust node keeps where it went; between two streams nothing else
    // comes from that node (`global` has synced first), so the second stream repeats the first one's
    // control message too.
    let eval = "register(ctl, self()), \
        Send = fun(From, To) -> [ {tgt, RUST} ! I || I <- lists:seq(From, To) ] end, \
        Next = fun() -> receive next -> ok after 10000 -> exit(no_next) end end, \
        pong = net_adm:ping(RUST), ok = global:sync(), io:format(\"READY~n\"), \
        Next(), Send(1, 100), Next(), Send(101, 200), \
        Next(), Send(201, 210), {sync, RUST} ! sync, Next(), Send(211, 220), timer:sleep(infinity).";
    let (peer, peer_name) = erl(&erlang, &rust, "erl_follow", COOKIE, eval);
    peer.wait_for("READY");
    let next = || rust.node.send_to_name_on(Atom::new("ctl"), peer_name, Term::atom("next"));
    let mut got: Vec<(&str, i64)> = Vec::new();
    let mut take = async |n: usize| {
        for _ in 0..n {
            let Ok(Some((label, message))) = tokio::time::timeout(WAIT, rx.recv()).await else { break };
            got.push((label, message.as_i64().unwrap_or(-1)));
        }
    };
    next();
    take(100).await;
    // The name moves to another process between two messages of the stream.
    rust.node.unregister(tgt).unwrap();
    rust.node.register(tgt, collector("b")).unwrap();
    next();
    take(100).await;
    // Its holder ends: what comes meanwhile is dropped.
    let b = rust.node.whereis(tgt).unwrap();
    rust.node.exit(b, Term::atom("kill"));
    let mut waited = Duration::ZERO;
    while rust.node.whereis(tgt).is_some() && waited < WAIT {
        tokio::time::sleep(Duration::from_millis(10)).await;
        waited += Duration::from_millis(10);
    }
    assert_eq!(rust.node.whereis(tgt), None, "the name is released when its holder ends");
    next();
    // `sync` comes after that stream on the same connection.
    take(1).await;
    rust.node.register(tgt, collector("c")).unwrap();
    next();
    take(10).await;
    let expected: Vec<(&str, i64)> = (1..=100)
        .map(|i| ("a", i))
        .chain((101..=200).map(|i| ("b", i)))
        .chain([("sync", -1)])
        .chain((211..=220).map(|i| ("c", i)))
        .collect();
    assert_eq!(got, expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn erlang_links_and_monitors_rust_processes() {
    let Some(erlang) = Erlang::find("erlang_links_and_monitors_rust_processes") else { return };
    let rust = rust_node("rust_mon", |o| o).await;
    let victim = rust
        .node
        .spawn(|mut p| async move {
            let reason = p.recv().await;
            Err(reason)
        })
        .unwrap();
    rust.node.register(Atom::new("victim"), victim).unwrap();
    // A call to a name Rust does not host exits with noproc at once (MONITOR_P answered at once); then an
    // Erlang process links to and monitors the Rust victim (by pid, and by name), tells it to end, and
    // reports its end. The same Erlang process sends the link, the monitors and `bye`, so they arrive in
    // that order (link/2 and monitor/2 return before the Rust node has taken them).
    let eval = "R1 = (catch gen_server:call({nobody, RUST}, hello, 5000)), \
        io:format(\"CALL ~p~n\", [element(1, element(2, R1))]), \
        register(erl_side, self()), io:format(\"READY~n\"), \
        P = receive {rust_pid, Pid} -> Pid end, \
        process_flag(trap_exit, true), link(P), Ref = erlang:monitor(process, P), \
        NameRef = erlang:monitor(process, {victim, RUST}), io:format(\"LINKED~n\"), P ! bye, \
        receive {'EXIT', P, R2} -> io:format(\"EXIT ~p~n\", [R2]) after 10000 -> io:format(\"NO EXIT~n\") end, \
        receive {'DOWN', Ref, process, P, R3} -> io:format(\"DOWN ~p~n\", [R3]) after 10000 -> io:format(\"NO DOWN~n\") end, \
        receive {'DOWN', NameRef, process, {victim, N}, R4} -> io:format(\"NAMEDOWN ~p ~p~n\", [N =:= RUST, R4]) \
        after 10000 -> io:format(\"NO NAMEDOWN~n\") end, \
        timer:sleep(infinity).";
    let (peer, peer_name) = erl(&erlang, &rust, "erl_mon", COOKIE, eval);
    peer.wait_for("CALL noproc");
    peer.wait_for("READY");
    rust.node.send_to_name_on(
        Atom::new("erl_side"),
        peer_name,
        Term::tuple(vec![Term::atom("rust_pid"), Term::Pid(victim)]),
    );
    peer.wait_for("LINKED");
    peer.wait_for("EXIT bye");
    peer.wait_for("DOWN bye");
    peer.wait_for("NAMEDOWN true bye");
}

#[tokio::test(flavor = "multi_thread")]
async fn rust_links_and_monitors_erlang_processes_and_sees_noconnection() {
    let Some(erlang) = Erlang::find("rust_links_and_monitors_erlang_processes_and_sees_noconnection") else {
        return;
    };
    let rust = rust_node("rust_link", |o| o).await;
    let (tx, rx) = std::sync::mpsc::channel::<(Pid, Pid)>();
    let reporter = rust
        .node
        .spawn(move |mut p| async move {
            if let Some([Term::Pid(a), Term::Pid(b)]) = p.recv().await.as_tuple() {
                tx.send((*a, *b)).ok();
            }
            Ok(())
        })
        .unwrap();
    rust.node.register(Atom::new("reporter"), reporter).unwrap();
    // Erlang hands Rust two processes: A exits with `gone` when told, B waits forever.
    let eval = "A = spawn(fun() -> receive stop -> exit(gone) end end), \
        B = spawn(fun() -> receive stop -> ok end end), \
        {reporter, RUST} ! {A, B}, io:format(\"SENT~n\"), timer:sleep(infinity).";
    let (mut peer, peer_name) = erl(&erlang, &rust, "erl_link", COOKIE, eval);
    peer.wait_for("SENT");
    let (a, b) = rx.recv_timeout(WAIT).expect("the Erlang pids arrived");
    assert_eq!((a.node, b.node), (peer_name, peer_name));

    let (events_tx, events_rx) = std::sync::mpsc::channel::<Option<Term>>();
    let (phase_tx, phase_rx) = std::sync::mpsc::channel::<()>();
    let watcher = rust
        .node
        .spawn(move |mut p| async move {
            p.trap_exit(true);
            // Link to A and monitor it, then tell it to stop: both the EXIT and the DOWN carry `gone`.
            p.link(a).unwrap();
            let ma = p.monitor(a);
            p.send(a, Term::atom("stop"));
            for _ in 0..2 {
                events_tx.send(p.recv_timeout(WAIT).await).ok();
            }
            events_tx.send(Some(Term::Ref(ma))).ok();
            // Link to B and monitor it; then the erl OS process dies: noconnection for both.
            p.link(b).unwrap();
            let mb = p.monitor(b);
            events_tx.send(Some(Term::Ref(mb))).ok();
            phase_tx.send(()).ok();
            for _ in 0..2 {
                events_tx.send(p.recv_timeout(WAIT * 3).await).ok();
            }
            Ok(())
        })
        .unwrap();
    let mut first = vec![events_rx.recv_timeout(WAIT * 2).unwrap(), events_rx.recv_timeout(WAIT * 2).unwrap()];
    let Some(Term::Ref(ma)) = events_rx.recv_timeout(WAIT).unwrap() else { panic!("no monitor ref") };
    first.sort();
    let mut expected = vec![
        Some(Term::tuple(vec![Term::atom("EXIT"), Term::Pid(a), Term::atom("gone")])),
        Some(Term::tuple(vec![
            Term::atom("DOWN"),
            Term::Ref(ma),
            Term::atom("process"),
            Term::Pid(a),
            Term::atom("gone"),
        ])),
    ];
    expected.sort();
    assert_eq!(first, expected);

    let Some(Term::Ref(mb)) = events_rx.recv_timeout(WAIT).unwrap() else { panic!("no monitor ref") };
    phase_rx.recv_timeout(WAIT).unwrap();
    // Let LINK and MONITOR_P reach erl before it dies.
    tokio::time::sleep(Duration::from_millis(200)).await;
    peer.kill();
    let mut second = vec![events_rx.recv_timeout(WAIT * 4).unwrap(), events_rx.recv_timeout(WAIT * 4).unwrap()];
    second.sort();
    let mut expected = vec![
        Some(Term::tuple(vec![Term::atom("EXIT"), Term::Pid(b), Term::atom("noconnection")])),
        Some(Term::tuple(vec![
            Term::atom("DOWN"),
            Term::Ref(mb),
            Term::atom("process"),
            Term::Pid(b),
            Term::atom("noconnection"),
        ])),
    ];
    expected.sort();
    assert_eq!(second, expected);
    assert!(!rust.node.nodes().contains(&peer_name));
    let _ = watcher;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_cookie_is_refused_both_ways_and_the_node_keeps_serving() {
    let Some(erlang) = Erlang::find("a_wrong_cookie_is_refused_both_ways_and_the_node_keeps_serving") else { return };
    let rust = rust_node("rust_cookie", |o| o).await;
    let (bad, bad_name) = erl(
        &erlang,
        &rust,
        "erl_badcookie",
        "not_the_cookie",
        "io:format(\"PING ~p~n\", [net_adm:ping(RUST)]), timer:sleep(infinity).",
    );
    bad.wait_for("PING pang");
    assert!(!rust.node.connect(bad_name).await, "Rust must refuse a node with another cookie");
    let (good, _) = erl(
        &erlang,
        &rust,
        "erl_goodcookie",
        COOKIE,
        "io:format(\"PING ~p~n\", [net_adm:ping(RUST)]), timer:sleep(infinity).",
    );
    good.wait_for("PING pong");
}

/// Registers `echo` on `node`: `{From, Msg}` is answered with `Msg`.
fn register_echo(node: &Node) {
    let echo = node
        .spawn(|mut p| async move {
            loop {
                if let Some([Term::Pid(from), msg]) = p.recv().await.as_tuple() {
                    p.send(*from, msg.clone());
                }
            }
        })
        .expect("spawn echo");
    node.register(Atom::new("echo"), echo).expect("register echo");
}

#[tokio::test(flavor = "multi_thread")]
async fn large_messages_and_thousands_of_atoms_cross_both_ways() {
    let Some(erlang) = Erlang::find("large_messages_and_thousands_of_atoms_cross_both_ways") else { return };
    let rust = rust_node("rust_big", |o| o).await;
    register_echo(&rust.node);
    // A 10 MB binary goes out in fragments and comes back in fragments; 3,500 distinct atoms go through
    // both atom caches (each echoed back and compared).
    let eval = "Big = binary:copy(<<\"0123456789\">>, 1000000), io:format(\"MADE~n\"), \
        {echo, RUST} ! {self(), Big}, \
        receive B -> io:format(\"BIG ~p~n\", [B =:= Big]) after 30000 -> io:format(\"BIG timeout~n\") end, \
        Atoms = [list_to_atom(\"atom_\" ++ integer_to_list(I)) || I <- lists:seq(1, 3500)], \
        [ {echo, RUST} ! {self(), {A, [A, {A}]}} || A <- Atoms ], \
        Back = [ receive {_, _} = X -> X after 10000 -> timeout end || _ <- Atoms ], \
        io:format(\"ATOMS ~p~n\", [Back =:= [{A, [A, {A}]} || A <- Atoms]]), timer:sleep(infinity).";
    let (peer, _) = erl(&erlang, &rust, "erl_big", COOKIE, eval);
    peer.wait_for("BIG true");
    peer.wait_for("ATOMS true");
}

#[tokio::test(flavor = "multi_thread")]
async fn ticks_keep_an_idle_connection_and_a_frozen_peer_is_dropped() {
    let Some(erlang) = Erlang::find("ticks_keep_an_idle_connection_and_a_frozen_peer_is_dropped") else { return };
    let ticktime = Duration::from_secs(2);
    let rust = rust_node("rust_tick", |o| o.net_ticktime(ticktime)).await;
    // Both sides tick every half second; 7 s of silence is more than three tick periods.
    let eval = "io:format(\"PING ~p~n\", [net_adm:ping(RUST)]), timer:sleep(7000), \
        io:format(\"STILL ~p~n\", [lists:member(RUST, nodes())]), timer:sleep(infinity).";
    let (mut peer, peer_name) = erl_with(&erlang, &rust, "erl_tick", COOKIE, &["-kernel", "net_ticktime", "2"], eval);
    peer.wait_for("PING pong");
    peer.wait_for("STILL true");
    assert!(rust.node.nodes().contains(&peer_name));

    // Rust's own call to the peer's net_kernel (what `net_adm:ping` sends) is answered over the connection.
    let caller = within(&rust.node, move |mut p| {
        Box::pin(async move {
            let from = Term::tuple(vec![Term::Pid(p.self_pid()), Term::atom("tag")]);
            let request = Term::tuple(vec![Term::atom("is_auth"), Term::Atom(p.node().name())]);
            let call = Term::tuple(vec![Term::atom("$gen_call"), from, request]);
            p.send_to_name_on(Atom::new("net_kernel"), peer_name, call);
            p.recv_timeout(WAIT).await
        })
    })
    .await;
    assert_eq!(caller, Some(Term::tuple(vec![Term::atom("tag"), Term::atom("yes")])));
    let frozen = std::time::Instant::now();
    let stopped = std::process::Command::new("kill").args(["-STOP", &peer.pid().to_string()]).status().unwrap();
    assert!(stopped.success());
    while rust.node.nodes().contains(&peer_name) {
        assert!(frozen.elapsed() < ticktime * 4, "a frozen peer was not detected");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("frozen peer detected after {:?} (net_ticktime {ticktime:?})", frozen.elapsed());
    let _ = std::process::Command::new("kill").args(["-CONT", &peer.pid().to_string()]).status();
    peer.kill();
}

#[tokio::test(flavor = "multi_thread")]
async fn garbage_from_a_peer_closes_only_its_connection() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Some(erlang) = Erlang::find("garbage_from_a_peer_closes_only_its_connection") else { return };
    let rust = rust_node("rust_garbage", |o| o).await;
    let port = rust.node.dist_port().unwrap();
    // Garbage instead of a handshake, an oversized handshake length, a truncated name: each connection is
    // closed.
    for bytes in [&b"GET / HTTP/1.1\r\n\r\n"[..], &[0xFF, 0xFF, b'N'][..], &[0, 20, b'N', 0, 0][..]] {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        s.write_all(bytes).await.unwrap();
        let _ = s.shutdown().await;
        let mut rest = Vec::new();
        let read = tokio::time::timeout(WAIT, s.read_to_end(&mut rest)).await;
        assert!(read.is_ok(), "the node keeps a connection that sent {bytes:?}");
    }
    // A peer that passes the handshake and then sends an undecodable packet is disconnected.
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let local = erlnode_dist::handshake::Local::new(format!("{}@localhost", unique("fake")), 7, false);
    let established = erlnode_dist::handshake::connect(
        &mut s,
        erlnode_dist::handshake::Framing::Tcp,
        &local,
        rust.node.name().as_str(),
        COOKIE.as_bytes(),
        erlnode_dist::handshake::Version::V6,
    )
    .await
    .expect("the fake peer passes the handshake");
    assert!(!established.hidden());
    s.write_all(&[0, 0, 0, 3, 131, 68, 9]).await.unwrap();
    let mut rest = Vec::new();
    assert!(tokio::time::timeout(WAIT, s.read_to_end(&mut rest)).await.is_ok(), "the bad peer was not dropped");
    // The node still serves.
    let (good, _) = erl(
        &erlang,
        &rust,
        "erl_after_garbage",
        COOKIE,
        "io:format(\"PING ~p~n\", [net_adm:ping(RUST)]), timer:sleep(infinity).",
    );
    good.wait_for("PING pong");
}

#[tokio::test(flavor = "multi_thread")]
async fn node_monitors_see_nodeup_and_nodedown() {
    let Some(erlang) = Erlang::find("node_monitors_see_nodeup_and_nodedown") else { return };
    let rust = rust_node("rust_nodemon", |o| o).await;
    let host = rust.node.name().as_str().split_once('@').map(|(_, h)| h.to_string()).unwrap_or_default();
    let nobody = Atom::new(&format!("{}@{host}", unique("nobody")));
    let (tx, rx) = std::sync::mpsc::channel::<Option<Term>>();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
    rust.node
        .spawn(move |mut p| async move {
            // A node that does not exist: nodedown at once.
            p.monitor_node(nobody, true);
            tx.send(p.recv_timeout(WAIT * 2).await).ok();
            p.monitor_nodes(true);
            ready_tx.send(()).ok();
            let up = p.recv_timeout(WAIT * 2).await;
            if let Some([_, Term::Atom(peer)]) = up.as_ref().and_then(|m| m.as_tuple()) {
                p.monitor_node(*peer, true);
            }
            tx.send(up).ok();
            for _ in 0..2 {
                tx.send(p.recv_timeout(WAIT * 3).await).ok();
            }
            Ok(())
        })
        .unwrap();
    let first = rx.recv_timeout(WAIT * 3).unwrap();
    assert_eq!(first, Some(Term::tuple(vec![Term::atom("nodedown"), Term::Atom(nobody)])));
    ready_rx.recv_timeout(WAIT).unwrap();
    let (mut peer, peer_name) = erl(
        &erlang,
        &rust,
        "erl_nodemon",
        COOKIE,
        "io:format(\"PING ~p~n\", [net_adm:ping(RUST)]), timer:sleep(infinity).",
    );
    peer.wait_for("PING pong");
    let up = rx.recv_timeout(WAIT * 3).unwrap();
    assert_eq!(up, Some(Term::tuple(vec![Term::atom("nodeup"), Term::Atom(peer_name)])));
    tokio::time::sleep(Duration::from_millis(100)).await;
    peer.kill();
    let down = Some(Term::tuple(vec![Term::atom("nodedown"), Term::Atom(peer_name)]));
    // One from monitor_nodes, one from monitor_node.
    assert_eq!(rx.recv_timeout(WAIT * 4).unwrap(), down);
    assert_eq!(rx.recv_timeout(WAIT * 4).unwrap(), down);
}

/// A process that sends to a node as soon as `nodedown` for it comes connects again, as in Erlang: by
/// then the lost connection's links and monitors have been given `noconnection`.
#[tokio::test(flavor = "multi_thread")]
async fn a_send_on_nodedown_connects_again() {
    let Some(erlang) = Erlang::find("a_send_on_nodedown_connects_again") else { return };
    let rust = rust_node("rust_redial", |o| o).await;
    let (peer, peer_name) = erl(
        &erlang,
        &rust,
        "erl_redial",
        COOKIE,
        "register(back, self()), io:format(\"READY~n\"), \
         Loop = fun L() -> receive \
             {cut, From} -> erlang:disconnect_node(node(From)), L(); \
             {hello, From} -> From ! hi, L() end end, \
         Loop().",
    );
    peer.wait_for("READY");
    // Enough processes that the walk of the lost connection takes a while.
    for _ in 0..50_000 {
        rust.node.spawn(common::forever).unwrap();
    }
    let got = within(&rust.node, move |mut p| {
        Box::pin(async move {
            let back = Atom::new("back");
            let me = Term::Pid(p.self_pid());
            p.monitor_node(peer_name, true);
            p.send_to_name_on(back, peer_name, (Term::atom("hello"), me.clone()));
            let first = p.recv_timeout(WAIT).await;
            p.send_to_name_on(back, peer_name, (Term::atom("cut"), me.clone()));
            let down = p.recv_timeout(WAIT).await;
            p.send_to_name_on(back, peer_name, (Term::atom("hello"), me));
            (first, down, p.recv_timeout(WAIT).await)
        })
    })
    .await;
    let (hi, down) = (Term::atom("hi"), Term::tuple(vec![Term::atom("nodedown"), Term::Atom(peer_name)]));
    assert_eq!(got, (Some(hi.clone()), Some(down), Some(hi)));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hidden_node_is_not_in_nodes_and_long_names_work() {
    let Some(erlang) = Erlang::find("a_hidden_node_is_not_in_nodes_and_long_names_work") else { return };
    let rust = rust_node("rust_hidden", |o| o.hidden(true)).await;
    let (peer, _) = erl(
        &erlang,
        &rust,
        "erl_hidden",
        COOKIE,
        "io:format(\"PING ~p~n\", [net_adm:ping(RUST)]), \
         io:format(\"VISIBLE ~p HIDDEN ~p~n\", [lists:member(RUST, nodes()), lists:member(RUST, nodes(hidden))]), \
         timer:sleep(infinity).",
    );
    peer.wait_for("PING pong");
    peer.wait_for("VISIBLE false HIDDEN true");

    // Long names: name@127.0.0.1 on both sides.
    let long = format!("{}@127.0.0.1", unique("rust_long"));
    let (node, epmd) =
        on_fresh_epmd(|epmd| NodeOptions::new(long.clone()).longnames(true).cookie(COOKIE).epmd_port(epmd)).await;
    let erl_long = format!("{}@127.0.0.1", unique("erl_long"));
    let eval = format!("io:format(\"PING ~p~n\", [net_adm:ping('{long}')]), timer:sleep(infinity).");
    let peer = ErlNode::name(&erl_long).cookie(COOKIE).epmd_port(epmd).eval(&eval).start(&erlang);
    peer.wait_for("PING pong");
    assert!(node.ping(Atom::new(&erl_long), WAIT).await);
}

/// Runs `F` in a new process of an Erlang node and gives its result, or `hangs` after 10 s.
const WATCHED: &str = "W = fun(F) -> S = self(), P = spawn(fun() -> S ! {self(), catch F()} end), \
                       receive {P, R} -> R after 10000 -> hangs end end";

#[tokio::test(flavor = "multi_thread")]
async fn erlang_global_syncs_locks_and_registers_with_a_rust_node() {
    let Some(erlang) = Erlang::find("erlang_global_syncs_locks_and_registers_with_a_rust_node") else { return };
    let rust = rust_node("rust_global", |o| o).await;
    // B waits for A to connect to it, then syncs: it learns of the Rust node through A as well.
    let (b, b_name) = erl(
        &erlang,
        &rust,
        "erl_global_b",
        COOKIE,
        &format!(
            "{WATCHED}, io:format(\"PING ~p~n\", [net_adm:ping(RUST)]), \
             WaitA = fun L() -> case length(nodes()) of 2 -> ok; _ -> timer:sleep(20), L() end end, WaitA(), \
             io:format(\"SYNC ~p~n\", [W(fun() -> global:sync() end)]), \
             timer:sleep(3000), io:format(\"SYNC2 ~p~n\", [W(fun() -> global:sync() end)]), \
             timer:sleep(infinity)."
        ),
    );
    b.wait_for("PING pong");
    let b_atom = format!("'{}'", b_name.as_str());
    let (a, a_name) = erl(
        &erlang,
        &rust,
        "erl_global_a",
        COOKIE,
        &format!(
            "{WATCHED}, io:format(\"PING ~p ~p~n\", [net_adm:ping(RUST), net_adm:ping({b_atom})]), \
             io:format(\"SYNC ~p~n\", [W(fun() -> global:sync() end)]), \
             Me = self(), \
             io:format(\"REGISTER ~p~n\", [W(fun() -> global:register_name(erlnode_name, Me) end)]), \
             io:format(\"WHEREIS ~p~n\", [global:whereis_name(erlnode_name) =:= Me]), \
             receive {{from_rust, Got}} -> io:format(\"GOT ~p~n\", [Got]) after 10000 -> io:format(\"GOT none~n\") end, \
             io:format(\"LOCK ~p~n\", [global:set_lock({{erlnode_res, Me}})]), \
             Other = fun() -> global:set_lock({{erlnode_res, make_ref()}}, [RUST], 0) end, \
             io:format(\"CONFLICT ~p~n\", [W(Other)]), \
             io:format(\"DEL ~p~n\", [global:del_lock({{erlnode_res, Me}})]), \
             io:format(\"FREE ~p~n\", [W(Other)]), \
             timer:sleep(300), \
             io:format(\"HOLDER_GONE ~p~n\", [W(Other)]), \
             io:format(\"TRANS ~p~n\", [W(fun() -> global:trans({{erlnode_res2, Me}}, fun() -> done end) end)]), \
             io:format(\"UNREGISTER ~p~n\", [W(fun() -> global:unregister_name(erlnode_name) end)]), \
             io:format(\"DISCONNECT ~p~n\", [erlang:disconnect_node(RUST)]), timer:sleep(200), \
             io:format(\"REPING ~p~n\", [net_adm:ping(RUST)]), \
             io:format(\"RESYNC ~p~n\", [W(fun() -> global:sync() end)]), \
             io:format(\"RELOCK ~p~n\", [W(fun() -> global:set_lock({{erlnode_res4, self()}}, [node() | nodes()], 0) end)]), \
             timer:sleep(infinity)."
        ),
    );
    a.wait_for("PING pong pong");
    // Before, the Rust node never answered and `global:sync()` waited for ever.
    a.wait_for("SYNC ok");
    b.wait_for("SYNC ok");
    a.wait_for("REGISTER yes");
    a.wait_for("WHEREIS true");
    // The Rust node knows the name too, and sends to it.
    let (found, unknown) = within(&rust.node, |mut p| {
        Box::pin(async move {
            let message = (Term::atom("from_rust"), Term::atom("hello"));
            let found = erlnode::global::send(&mut p, Term::atom("erlnode_name"), message).await;
            (found.ok(), erlnode::global::whereis_name(&mut p, Term::atom("nobody_has_this")).await)
        })
    })
    .await;
    assert_eq!(found.map(|pid| pid.node), Some(a_name), "the name's process is on the erl node");
    assert_eq!(unknown, None);
    a.wait_for("GOT hello");
    // The lock is taken on every node, the Rust one included, which then refuses another request id...
    a.wait_for("LOCK true");
    a.wait_for("CONFLICT false");
    a.wait_for("DEL true");
    // ... until it is released, or its holder ends.
    a.wait_for("FREE true");
    a.wait_for("HOLDER_GONE true");
    a.wait_for("TRANS done");
    a.wait_for("UNREGISTER ok");
    let gone = within(&rust.node, |mut p| {
        Box::pin(async move { erlnode::global::whereis_name(&mut p, Term::atom("erlnode_name")).await })
    })
    .await;
    assert_eq!(gone, None, "an unregistered name is gone here too");
    // A new connection is a new session (B, told by A that the old one was lost, drops the Rust node
    // too, as OTP's partition prevention asks, and meets it again through A).
    a.wait_for("DISCONNECT true");
    a.wait_for("REPING pong");
    a.wait_for("RESYNC ok");
    a.wait_for("RELOCK true");
    b.wait_for("SYNC2 ok");
}

#[tokio::test(flavor = "multi_thread")]
async fn rust_monitors_erlang_names() {
    let Some(erlang) = Erlang::find("rust_monitors_erlang_names") else { return };
    let rust = rust_node("rust_names", |o| o).await;
    let eval = "T = spawn(fun() -> receive stop -> exit(gone) end end), register(target, T), \
        io:format(\"PING ~p~n\", [net_adm:ping(RUST)]), timer:sleep(infinity).";
    let (peer, peer_name) = erl(&erlang, &rust, "erl_names", COOKIE, eval);
    peer.wait_for("PING pong");
    let (target, missing) = (Atom::new("target"), Atom::new("nobody_here"));
    let events = within(&rust.node, move |mut p| {
        Box::pin(async move {
            // A name nobody holds on the peer: DOWN noproc at once, from the peer.
            let m1 = p.monitor((missing, peer_name));
            let first = p.recv_timeout(WAIT).await;
            // A name that is held: DOWN with the reason once its process ends.
            let m2 = p.monitor((target, peer_name));
            tokio::time::sleep(Duration::from_millis(100)).await;
            p.send_to_name_on(target, peer_name, Term::atom("stop"));
            let second = p.recv_timeout(WAIT).await;
            (m1, first, m2, second)
        })
    })
    .await;
    let (m1, first, m2, second) = events;
    let object = |name: Atom| Term::tuple(vec![Term::Atom(name), Term::Atom(peer_name)]);
    let down = |m, name, reason: &str| {
        Some(Term::tuple(vec![
            Term::atom("DOWN"),
            Term::Ref(m),
            Term::atom("process"),
            object(name),
            Term::atom(reason),
        ]))
    };
    assert_eq!(first, down(m1, missing, "noproc"));
    assert_eq!(second, down(m2, target, "gone"));
}

/// A CA and one certificate for `host`, `localhost` and 127.0.0.1, written as PEM files into `dir`, with
/// an `ssl_dist_optfile` for erl that verifies peers both ways.
#[allow(clippy::unwrap_used)] // test setup: a failure here is a failed test
fn tls_files(dir: &erlnode_erltest::TempDir, host: &str) -> std::path::PathBuf {
    use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "erlnode test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(vec![host.to_string(), "localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
    params.distinguished_name.push(rcgen::DnType::CommonName, "erlnode test node");
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
    let file = |name: &str| dir.join(name).display().to_string();
    let opts = format!(
        "[{{certfile, \"{c}\"}}, {{keyfile, \"{k}\"}}, {{cacertfile, \"{a}\"}}, {{verify, verify_peer}}]",
        c = file("cert.pem"),
        k = file("key.pem"),
        a = file("ca.pem")
    );
    let conf = format!(
        "[{{server, {server}}}, {{client, {opts}}}].\n",
        server = opts.replace("{verify, verify_peer}", "{verify, verify_peer}, {fail_if_no_peer_cert, true}")
    );
    std::fs::write(dir.join("ssl_dist.conf"), conf).unwrap();
    dir.join("ssl_dist.conf")
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_distribution_works_both_ways() {
    let Some(erlang) = Erlang::find("tls_distribution_works_both_ways") else { return };
    let dir = erlnode_erltest::TempDir::new("erlnode-tls");
    let (probe, epmd) = on_fresh_epmd(|epmd| NodeOptions::new(unique("probe")).cookie(COOKIE).epmd_port(epmd)).await;
    let short_host = probe.name().as_str().split_once('@').map(|(_, h)| h.to_string()).unwrap_or_default();
    let conf = tls_files(&dir, &short_host);
    let tls = erlnode::TlsOptions::from_pem_files(&dir.join("cert.pem"), &dir.join("key.pem"), &dir.join("ca.pem"))
        .expect("the certificates load");
    let node = Node::start(NodeOptions::new(unique("rust_tls")).cookie(COOKIE).epmd_port(epmd).tls(tls))
        .await
        .expect("a TLS node starts");
    register_echo(&node);
    let rust = Rust { node, epmd };
    let conf = conf.display().to_string();
    let eval = "io:format(\"PING ~p~n\", [net_adm:ping(RUST)]), \
        {echo, RUST} ! {self(), over_tls}, receive M -> io:format(\"ECHO ~p~n\", [M]) after 5000 -> io:format(\"ECHO none~n\") end, \
        timer:sleep(infinity).";
    let (peer, peer_name) =
        erl_with(&erlang, &rust, "erl_tls", COOKIE, &["-proto_dist", "inet_tls", "-ssl_dist_optfile", &conf], eval);
    peer.wait_for("PING pong");
    peer.wait_for("ECHO over_tls");
    // And Rust connecting to a second TLS erl node.
    let (other, other_name) = erl_with(
        &erlang,
        &rust,
        "erl_tls2",
        COOKIE,
        &["-proto_dist", "inet_tls", "-ssl_dist_optfile", &conf],
        "io:format(\"UP~n\"), timer:sleep(infinity).",
    );
    other.wait_for("UP");
    assert!(rust.node.ping(other_name, WAIT).await, "Rust pings a TLS erl node");
    assert!(rust.node.nodes().contains(&peer_name));
    // A plain TCP erl node cannot talk to the TLS node.
    let (plain, _) = erl(
        &erlang,
        &rust,
        "erl_plain",
        COOKIE,
        "io:format(\"PING ~p~n\", [net_adm:ping(RUST)]), timer:sleep(infinity).",
    );
    plain.wait_for("PING pang");
    // A TLS erl node whose certificate another CA signed is refused: verification is on.
    let stranger_dir = erlnode_erltest::TempDir::new("erlnode-tls-stranger");
    let stranger_conf = tls_files(&stranger_dir, &short_host).display().to_string();
    let (stranger, _) = erl_with(
        &erlang,
        &rust,
        "erl_stranger",
        COOKIE,
        &["-proto_dist", "inet_tls", "-ssl_dist_optfile", &stranger_conf],
        "io:format(\"PING ~p~n\", [net_adm:ping(RUST)]), timer:sleep(infinity).",
    );
    stranger.wait_for("PING pang");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_rust_nodes_connecting_at_once_end_with_one_connection() {
    // Two nodes in this process, sharing one EPMD; each sends to the other at the same moment, many
    // times over, so that both connect at once: the simultaneous-connect rule leaves one connection and
    // every message arrives.
    for round in 0..5 {
        let a = rust_node(&format!("rust_simul_a{round}"), |o| o).await;
        let b = Node::start(NodeOptions::new(unique(&format!("rust_simul_b{round}"))).cookie(COOKIE).epmd_port(a.epmd))
            .await
            .expect("the second node starts");
        register_echo(&a.node);
        register_echo(&b);
        let (an, bn) = (a.node.name(), b.name());
        let ask = |node: &Node, peer: Atom| {
            let node = node.clone();
            async move {
                within(&node, move |mut p| {
                    Box::pin(async move {
                        for i in 0..50 {
                            p.send_to_name_on(Atom::new("echo"), peer, (p.self_pid(), i));
                        }
                        let mut got = Vec::new();
                        for _ in 0..50 {
                            got.push(p.recv_timeout(WAIT).await);
                        }
                        got
                    })
                })
                .await
            }
        };
        let (from_a, from_b) = tokio::join!(ask(&a.node, bn), ask(&b, an));
        let expected: Vec<Option<Term>> = (0..50).map(|i| Some(Term::from(i))).collect();
        assert_eq!(from_a, expected, "round {round}: a's messages");
        assert_eq!(from_b, expected, "round {round}: b's messages");
        assert_eq!(a.node.nodes(), vec![bn]);
        assert_eq!(b.nodes(), vec![an]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_cookie_overrides_the_default_for_one_peer() {
    let Some(erlang) = Erlang::find("a_node_cookie_overrides_the_default_for_one_peer") else { return };
    let (probe, epmd) = on_fresh_epmd(|epmd| NodeOptions::new(unique("probe")).cookie(COOKIE).epmd_port(epmd)).await;
    let host = probe.name().as_str().split_once('@').map(|(_, h)| h.to_string()).unwrap_or_default();
    let special = unique("erl_special");
    let rust = Node::start(
        NodeOptions::new(unique("rust_cookies"))
            .cookie(COOKIE)
            .node_cookie(format!("{special}@{host}"), "special_cookie")
            .epmd_port(epmd),
    )
    .await
    .unwrap();
    let peer = ErlNode::sname(&special)
        .cookie("special_cookie")
        .epmd_port(epmd)
        .eval(&format!("io:format(\"PING ~p~n\", [net_adm:ping('{}')]), timer:sleep(infinity).", rust.name().as_str()))
        .start(&erlang);
    peer.wait_for("PING pong");
    assert!(rust.ping(Atom::new(&format!("{special}@{host}")), WAIT).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn links_and_monitors_to_an_unreachable_node_fire_noconnection_at_once() {
    let rust = rust_node("rust_unreachable", |o| o).await;
    let host = rust.node.name().as_str().split_once('@').map(|(_, h)| h.to_string()).unwrap_or_default();
    let nowhere = Atom::new(&format!("{}@{host}", unique("nowhere")));
    let ghost = Pid::new(nowhere, 1, 0, 1);
    let started = std::time::Instant::now();
    let (exit, down, nodedown, monitor) = within(&rust.node, move |mut p| {
        Box::pin(async move {
            p.trap_exit(true);
            p.monitor_node(nowhere, true);
            p.link(ghost).expect("a remote link is set up without waiting");
            let monitor = p.monitor(ghost);
            let mut got = Vec::new();
            for _ in 0..3 {
                got.push(p.recv_timeout(WAIT).await);
            }
            // Erlang term order puts smaller tuples first: {nodedown, N}, {'EXIT', ...}, {'DOWN', ...}.
            got.sort();
            (got[1].clone(), got[2].clone(), got[0].clone(), monitor)
        })
    })
    .await;
    assert_eq!(
        down,
        Some(Term::tuple(vec![
            Term::atom("DOWN"),
            Term::Ref(monitor),
            Term::atom("process"),
            Term::Pid(ghost),
            Term::atom("noconnection")
        ]))
    );
    assert_eq!(exit, Some(Term::tuple(vec![Term::atom("EXIT"), Term::Pid(ghost), Term::atom("noconnection")])));
    assert_eq!(nodedown, Some(Term::tuple(vec![Term::atom("nodedown"), Term::Atom(nowhere)])));
    assert!(!rust.node.ping(nowhere, WAIT).await);
    assert!(started.elapsed() < WAIT, "noconnection and pang came at once, not after a timeout");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_peer_cannot_make_the_node_relay_to_a_third_node() {
    use tokio::io::AsyncWriteExt;
    let rust = rust_node("rust_relay", |o| o).await;
    let port = rust.node.dist_port().unwrap();
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let local = erlnode_dist::handshake::Local::new(format!("{}@localhost", unique("fake")), 7, false);
    let established = erlnode_dist::handshake::connect(
        &mut s,
        erlnode_dist::handshake::Framing::Tcp,
        &local,
        rust.node.name().as_str(),
        COOKIE.as_bytes(),
        erlnode_dist::handshake::Version::V6,
    )
    .await
    .expect("the fake peer passes the handshake");
    let third = Atom::new(&format!("{}@localhost", unique("third")));
    let mut writer = erlnode_dist::frame::FrameWriter::new(established.flags);
    let mut out = Vec::new();
    let send = erlnode_dist::control::Control::Send { to: Pid::new(third, 1, 0, 1) };
    writer.write(&send.to_term(), Some(&Term::atom("relay_me")), &mut out).unwrap();
    s.write_all(&out).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!rust.node.nodes().contains(&third), "the node connected to {third} for a peer");
}

/// A node that connects again while its old connection still looks up (answering `alive` in the
/// handshake) replaces it: the old socket is closed, links and monitors across it end with
/// `noconnection`, a link the peer asked for on the old connection just before is not left behind, and
/// a link made afterwards goes over the new connection.
#[tokio::test(flavor = "multi_thread")]
async fn a_node_that_connects_again_replaces_its_old_connection() {
    use erlnode_dist::control::Control;
    use erlnode_dist::frame::{FrameReader, FrameWriter};
    use erlnode_dist::handshake::{self, Framing, Version};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let rust = rust_node("rust_replaced", |o| o).await;
    let port = rust.node.dist_port().unwrap();
    let fake = Atom::new(&format!("{}@localhost", unique("fake")));
    let local = handshake::Local::new(fake.as_str().to_owned(), 7, false);
    let target = rust.node.name().as_str().to_owned();
    let connect = || async {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let established = handshake::connect(&mut s, Framing::Tcp, &local, &target, COOKIE.as_bytes(), Version::V6)
            .await
            .expect("the fake peer passes the handshake");
        (s, established)
    };
    let (mut first, established) = connect().await;
    let (linked, monitored, late) = (Pid::new(fake, 1, 0, 1), Pid::new(fake, 2, 0, 1), Pid::new(fake, 3, 0, 1));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Term>();
    let again = Term::atom("again");
    let pid = rust
        .node
        .spawn(move |mut p| async move {
            p.trap_exit(true);
            p.link(linked).unwrap();
            tx.send(Term::Ref(p.monitor(monitored))).ok();
            // Everything that comes is reported, until told to link again.
            loop {
                let message = p.recv().await;
                if message == again {
                    p.link(linked).unwrap();
                    std::future::pending::<()>().await;
                }
                tx.send(message).ok();
            }
        })
        .unwrap();
    let mut report = async || tokio::time::timeout(WAIT, rx.recv()).await.unwrap().unwrap();
    let Term::Ref(monitor) = report().await else { panic!("no monitor") };

    // The peer connects again and, as the node replaces the old connection, links on that one: the link
    // comes before the old connection's walk or not at all.
    let (mut second, _) = connect().await;
    let mut frames = FrameWriter::new(established.flags);
    let mut out = Vec::new();
    frames.write_control(&Control::Link { from: late, to: pid }, None, &mut out).unwrap();
    let _ = first.write_all(&out).await;
    let noconnection = Term::atom("noconnection");
    let exit = Term::tuple(vec![Term::atom("EXIT"), Term::Pid(linked), noconnection.clone()]);
    let down = common::down(monitor, Term::Pid(monitored), noconnection);
    let mut ended = Vec::new();
    while !(ended.contains(&exit) && ended.contains(&down)) {
        ended.push(report().await);
    }
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(WAIT, first.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "the old connection is still open");
    let mut waited = Duration::ZERO;
    while !rust.node.nodes().contains(&fake) && waited < WAIT {
        tokio::time::sleep(Duration::from_millis(5)).await;
        waited += Duration::from_millis(5);
    }
    assert!(rust.node.nodes().contains(&fake), "the new connection is not up");
    // The late link was either cut with the old connection or never made: nothing of it is left.
    let links = rust.node.process_info(pid).unwrap().links;
    assert!(links.is_empty(), "links left from the old connection: {links:?}");

    rust.node.send(pid, Term::atom("again"));
    let mut reader = FrameReader::new();
    let link_arrives = async {
        loop {
            let length = second.read_u32().await.unwrap() as usize;
            let mut body = vec![0; length];
            second.read_exact(&mut body).await.unwrap();
            if let Ok(Some(message)) = reader.read(body.into()) {
                if Control::from_term(&message.control) == Ok(Control::Link { from: pid, to: linked }) {
                    return;
                }
            }
        }
    };
    assert!(tokio::time::timeout(WAIT, link_arrives).await.is_ok(), "no LINK on the new connection");
}

#[tokio::test(flavor = "multi_thread")]
async fn exit_signals_unlink_and_demonitor_cross_to_erlang() {
    let Some(erlang) = Erlang::find("exit_signals_unlink_and_demonitor_cross_to_erlang") else { return };
    let rust = rust_node("rust_signals", |o| o).await;
    let (pids_tx, pids_rx) = std::sync::mpsc::channel::<(Pid, Pid, Pid)>();
    let reporter = rust
        .node
        .spawn(move |mut p| async move {
            if let Some([Term::Pid(shell), Term::Pid(trapper), Term::Pid(linkee)]) = p.recv().await.as_tuple() {
                pids_tx.send((*shell, *trapper, *linkee)).ok();
            }
            Ok(())
        })
        .unwrap();
    rust.node.register(Atom::new("reporter"), reporter).unwrap();
    // trapper reports the exit signal it traps; linkee reports its links when asked, then exits with bye.
    let eval = "register(erl_side, self()), \
        T = spawn(fun() -> process_flag(trap_exit, true), receive {'EXIT', F, W} -> erl_side ! {trapped, F, W} end end), \
        Check = fun C() -> receive {check, To} -> {links, Ls} = process_info(self(), links), To ! {links, Ls}, C(); \
                                   stop -> exit(bye) end end, \
        L = spawn(Check), \
        {reporter, RUST} ! {self(), T, L}, \
        R = receive {rust, Pid} -> Pid end, exit(R, boom), \
        receive {trapped, From, Why} -> io:format(\"TRAPPED ~p ~p~n\", [From =:= R, Why]) after 5000 -> io:format(\"TRAPPED none~n\") end, \
        [receive check_links -> L ! {check, self()}, receive {links, Ls} -> io:format(\"LINKS~p ~p~n\", [N, length(Ls)]) end end \
         || N <- [1, 2]], \
        timer:sleep(infinity).";
    let (peer, peer_name) = erl(&erlang, &rust, "erl_signals", COOKIE, eval);
    let (shell, trapper, linkee) = pids_rx.recv_timeout(WAIT).expect("the Erlang pids arrived");
    let got = within(&rust.node, move |mut p| {
        Box::pin(async move {
            p.trap_exit(true);
            let me = p.self_pid();
            p.send(shell, Term::tuple(vec![Term::atom("rust"), Term::Pid(me)]));
            // Erlang's exit(R, boom) arrives as an EXIT message, R trapping exits.
            let from_erlang = p.recv_timeout(WAIT).await;
            // Rust's exit/2 reaches the Erlang trapper.
            p.exit(trapper, Term::atom("custom"));
            // A link made and removed again: erl sees no link left, and linkee's end sends nothing here.
            p.link(linkee).unwrap();
            tokio::time::sleep(Duration::from_millis(100)).await;
            p.send_to_name_on(Atom::new("erl_side"), peer_name, Term::atom("check_links"));
            tokio::time::sleep(Duration::from_millis(200)).await;
            p.unlink(linkee);
            let monitor = p.monitor(linkee);
            p.demonitor(monitor);
            tokio::time::sleep(Duration::from_millis(100)).await;
            p.send_to_name_on(Atom::new("erl_side"), peer_name, Term::atom("check_links"));
            tokio::time::sleep(Duration::from_millis(300)).await;
            p.send(linkee, Term::atom("stop"));
            let after = p.recv_timeout(Duration::from_millis(500)).await;
            (from_erlang, after)
        })
    })
    .await;
    assert_eq!(got.0, Some(Term::tuple(vec![Term::atom("EXIT"), Term::Pid(shell), Term::atom("boom")])));
    peer.wait_for("TRAPPED true custom");
    peer.wait_for("LINKS1 1");
    peer.wait_for("LINKS2 0");
    assert_eq!(got.1, None, "no EXIT or DOWN after unlink and demonitor");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_peer_that_does_not_read_holds_up_only_its_own_senders() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let Some(erlang) = Erlang::find("a_peer_that_does_not_read_holds_up_only_its_own_senders") else { return };
    const N: usize = 1000;
    let rust = rust_node("rust_busy", |o| o).await;
    // The Erlang sink takes {n, I, Bin} and, on {done, Count}, says whether it got 1..Count in order.
    let eval = "register(sink, self()), io:format(\"READY~n\"), \
        Got = fun Loop(Acc) -> receive {n, I, _} -> Loop([I | Acc]); {done, C} -> {lists:reverse(Acc), C} end end([]), \
        {List, Count} = Got, io:format(\"SINK ~p~n\", [List =:= lists:seq(1, Count)]), timer:sleep(infinity).";
    let (mut peer, peer_name) = erl(&erlang, &rust, "erl_busy", COOKIE, eval);
    peer.wait_for("READY");
    assert!(rust.node.connect(peer_name).await);
    let stopped = std::process::Command::new("kill").args(["-STOP", &peer.pid().to_string()]).status().unwrap();
    assert!(stopped.success());

    // 50 MB for a peer that reads nothing: the sender must wait, not queue it all.
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&sent);
    rust.node
        .spawn(move |p| async move {
            let chunk = bytes::Bytes::from(vec![7u8; 50_000]);
            for i in 1..=N {
                let message = Term::tuple(vec![Term::atom("n"), Term::from(i as i64), Term::binary(chunk.clone())]);
                p.send_to_name_on(Atom::new("sink"), peer_name, message);
                counter.store(i, Ordering::SeqCst);
                tokio::task::yield_now().await;
            }
            p.send_to_name_on(
                Atom::new("sink"),
                peer_name,
                Term::tuple(vec![Term::atom("done"), Term::from(N as i64)]),
            );
            Ok(())
        })
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let held_at = sent.load(Ordering::SeqCst);
    eprintln!("sender held at message {held_at} of {N}");
    assert!(held_at > 0 && held_at < N / 2, "the sender went on to message {held_at} of {N}");

    // Everything else goes on: local processes talk, and the node answers calls.
    let answered = within(&rust.node, |mut p| {
        Box::pin(async move {
            let me = p.self_pid();
            let echo = p.node().spawn(move |mut q| async move {
                while let Some(m) = q.recv_timeout(Duration::from_secs(5)).await {
                    q.send(me, m);
                }
                Ok(())
            });
            let echo = echo.expect("spawn");
            let mut got = 0;
            for i in 0..1000 {
                p.send(echo, Term::from(i));
                if p.recv_timeout(WAIT).await == Some(Term::from(i)) {
                    got += 1;
                }
            }
            got
        })
    })
    .await;
    assert_eq!(answered, 1000);
    assert_eq!(sent.load(Ordering::SeqCst), held_at, "the held sender ran while its peer read nothing");

    // Once the peer reads again, the sender finishes and nothing was lost or reordered.
    let _ = std::process::Command::new("kill").args(["-CONT", &peer.pid().to_string()]).status();
    peer.wait_for("SINK true");
    assert_eq!(sent.load(Ordering::SeqCst), N);
    peer.kill();
}
