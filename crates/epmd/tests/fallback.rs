//! Embedded mode and fallback: a node that finds no EPMD runs one in its own process, Erlang nodes use it,
//! and a node whose EPMD dies registers again, with a restarted daemon or with its own embedded server.

mod support;

use std::time::Duration;

use erlnode_epmd::embedded::{self, KeepRegistered, KeepRegisteredOptions, Registered};
use erlnode_epmd::{Client, NodeEntry};
use erlnode_erltest::child::WAIT;
use erlnode_erltest::node::{free_port, unique};
use erlnode_erltest::{Erlang, epmd};
use support::{erl_node, our_epmd};
use tokio::sync::watch;
use tokio::time::timeout;

/// A listener standing in for the node's distribution port.
fn dist_listener() -> (std::net::TcpListener, u16) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    (listener, port)
}

async fn wait_state(
    rx: &mut watch::Receiver<Option<Registered>>,
    what: &str,
    check: impl FnMut(&Option<Registered>) -> bool,
) -> Option<Registered> {
    let reached = match timeout(WAIT, rx.wait_for(check)).await {
        Ok(Ok(state)) => Some(*state),
        _ => None,
    };
    reached.unwrap_or_else(|| panic!("registration never became {what}; last: {:?}", *rx.borrow()))
}

/// Erlang that prints `found:<port_please result>` for `name` on this host, then waits.
fn erl_lookup(name: &str) -> String {
    format!("io:format(\"found:~p~n\", [erl_epmd:port_please(\"{name}\", \"127.0.0.1\")]), timer:sleep(infinity).")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_daemon_nodes_share_an_embedded_epmd_that_erlang_nodes_use() {
    let Some(otp) = Erlang::find("without_a_daemon_nodes_share_an_embedded_epmd_that_erlang_nodes_use") else { return };
    let port = free_port();
    let (first, second) = (unique("rust_a"), unique("rust_b"));
    let (_l1, first_port) = dist_listener();
    let (_l2, second_port) = dist_listener();

    let a = KeepRegistered::start(NodeEntry::new(first.clone(), first_port), KeepRegisteredOptions::new(port))
        .await
        .expect("first node registers");
    assert!(matches!(a.current(), Some(Registered { embedded: true, creation }) if creation != 0));
    let b = KeepRegistered::start(NodeEntry::new(second.clone(), second_port), KeepRegisteredOptions::new(port))
        .await
        .expect("second node registers");
    assert!(matches!(b.current(), Some(Registered { embedded: true, .. })));

    // One embedded server holds both.
    let server = embedded::running(port).expect("embedded server running");
    let mut held: Vec<String> = server.names().into_iter().map(|n| n.name).collect();
    held.sort();
    let mut expected = vec![first.clone(), second.clone()];
    expected.sort();
    assert_eq!(held, expected);

    // An Erlang node registers with the embedded server and finds the Rust node through it.
    let erl_name = unique("erl");
    let erl = erl_node(&otp, &erl_name, port, &erl_lookup(&first));
    let out = erl.wait_for("found:");
    assert!(out.contains(&format!("found:{{port,{first_port},6}}")), "{out}");
    let client = Client::local(port);
    let entry = client.port_please(&erl_name).await.expect("port_please").expect("erl registered with us");
    assert_eq!((entry.high_version, entry.low_version), (6, 5));

    // OTP's own `epmd -names` reads the embedded server like a daemon.
    let names = epmd::names(&otp, port);
    for name in [&first, &second, &erl_name] {
        assert!(names.contains(&format!("name {name} at port ")), "{name} missing from {names}");
    }

    // Dropping a node unregisters it; the other stays.
    drop(a);
    epmd::wait_names(&otp, port, &format!("{first} gone"), |n| !n.contains(&first) && n.contains(&second));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_daemon_dies_the_node_falls_back_to_an_embedded_epmd() {
    let Some(otp) = Erlang::find("when_the_daemon_dies_the_node_falls_back_to_an_embedded_epmd") else { return };
    let port = free_port();
    let mut daemon = our_epmd(port, &[]);
    let name = unique("rust_c");
    let (_listener, dist_port) = dist_listener();
    let options =
        KeepRegisteredOptions { daemon_grace: Duration::from_millis(200), ..KeepRegisteredOptions::new(port) };
    let node = KeepRegistered::start(NodeEntry::new(name.clone(), dist_port), options).await.expect("register");
    let before = node.current().expect("registered");
    assert!(!before.embedded, "registered with the daemon");
    assert!(epmd::names(&otp, port).contains(&format!("name {name} at port {dist_port}")));

    let mut changes = node.subscribe();
    daemon.kill();
    let after = wait_state(&mut changes, "registered with the embedded server", |s| matches!(s, Some(r) if r.embedded))
        .await
        .expect("registered");
    assert_ne!(after.creation, before.creation, "a new registration brings a new creation");
    assert_ne!(after.creation, 0);

    // A new Erlang node, started after the daemon died, still finds the Rust node.
    let erl = erl_node(&otp, &unique("erl"), port, &erl_lookup(&name));
    let out = erl.wait_for("found:");
    assert!(out.contains(&format!("found:{{port,{dist_port},6}}")), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_daemon_restarts_the_node_registers_with_the_new_one() {
    let Some(otp) = Erlang::find("when_the_daemon_restarts_the_node_registers_with_the_new_one") else { return };
    let port = free_port();
    let mut daemon = our_epmd(port, &[]);
    let name = unique("rust_d");
    let (_listener, dist_port) = dist_listener();
    // A long grace period: the node waits for a daemon instead of starting its own.
    let options = KeepRegisteredOptions { daemon_grace: Duration::from_secs(60), ..KeepRegisteredOptions::new(port) };
    let node = KeepRegistered::start(NodeEntry::new(name.clone(), dist_port), options).await.expect("register");
    let before = node.current().expect("registered");

    let mut changes = node.subscribe();
    daemon.kill();
    wait_state(&mut changes, "lost", Option::is_none).await;
    // The replacement is OTP's own epmd.
    let _restarted = epmd::start(&otp, port, &[]);
    let after = wait_state(&mut changes, "registered again", Option::is_some).await.expect("registered");
    assert!(!after.embedded);
    assert_ne!(after.creation, before.creation);
    assert!(embedded::running(port).is_none(), "no embedded server was started");
    epmd::wait_names(&otp, port, &format!("{name} registered with OTP's epmd"), |names| {
        names.contains(&format!("name {name} at port {dist_port}\n"))
    });
}
