//! The server at the protocol level: raw bytes on sockets and the crate's client against
//! `erlnode_epmd::Server`, including malformed, truncated, oversized, slow and idle clients.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use erlnode_epmd::proto::{KillReply, ListReply, NodeType, StopReply};
use erlnode_epmd::{Client, ClientError, NodeEntry, Server, ServerHandle, ServerOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep, timeout};

use support::{alive, frame};

/// Upper bound for anything a test waits for.
const WAIT: Duration = Duration::from_secs(10);

fn start(options: ServerOptions) -> ServerHandle {
    Server::bind(&[SocketAddr::from(([127, 0, 0, 1], 0))], options).expect("bind").spawn()
}

fn start_default() -> (ServerHandle, Client) {
    let server = start(ServerOptions::default());
    let client = Client::new(server.local_addr());
    (server, client)
}

/// How a connection ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// The server closed it.
    Closed,
    /// Still open when the test stopped waiting.
    Open,
}

/// Sends `bytes` and reads until the server closes or `wait` passes.
async fn exchange(addr: SocketAddr, bytes: &[u8], wait: Duration) -> (Vec<u8>, End) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(bytes).await.expect("write");
    read_until_closed(&mut stream, wait).await
}

async fn read_until_closed(stream: &mut TcpStream, wait: Duration) -> (Vec<u8>, End) {
    let mut out = Vec::new();
    let deadline = Instant::now() + wait;
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return (out, End::Open),
            Ok(Ok(0)) | Ok(Err(_)) => return (out, End::Closed),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
}

/// Registers over a raw socket and returns the socket and the reply.
async fn raw_register(addr: SocketAddr, body: &[u8], reply_len: usize) -> (TcpStream, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(&frame(body)).await.expect("write");
    let mut reply = vec![0u8; reply_len];
    timeout(WAIT, stream.read_exact(&mut reply)).await.expect("reply in time").expect("read reply");
    (stream, reply)
}

async fn wait_unregistered(client: &Client, name: &str) {
    timeout(WAIT, async {
        while client.port_please(name).await.expect("port_please").is_some() {
            sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{name} still registered after {WAIT:?}"));
}

#[tokio::test]
async fn a_registration_gets_a_fresh_creation_and_ends_with_its_connection() {
    let (_server, client) = start_default();
    let first = client.register(&NodeEntry::new("alpha", 5001)).await.expect("register");
    assert_ne!(first.creation(), 0);
    let found = client.port_please("alpha").await.expect("port_please").expect("found");
    assert_eq!(found, NodeEntry::new("alpha", 5001));

    let old_creation = first.creation();
    drop(first);
    wait_unregistered(&client, "alpha").await;

    let second = client.register(&NodeEntry::new("alpha", 5002)).await.expect("register again");
    assert_ne!(second.creation(), 0);
    assert_ne!(second.creation(), old_creation, "a new registration needs a new creation");
    assert_eq!(client.port_please("alpha").await.expect("port_please").map(|n| n.port), Some(5002));
}

#[tokio::test]
async fn creations_are_distinct_across_many_concurrent_registrations() {
    let (_server, client) = start_default();
    let mut tasks = Vec::new();
    for i in 0..100u16 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move { client.register(&NodeEntry::new(format!("n{i}"), 6000 + i)).await }));
    }
    let mut registrations = Vec::new();
    for task in tasks {
        registrations.push(task.await.expect("join").expect("register"));
    }
    let mut creations: Vec<u32> = registrations.iter().map(|r| r.creation()).collect();
    creations.sort_unstable();
    creations.dedup();
    assert_eq!(creations.len(), 100);
    assert!(!creations.contains(&0));
    assert_eq!(client.names().await.expect("names").len(), 100);
}

#[tokio::test]
async fn a_taken_name_is_refused_in_the_form_the_node_understands() {
    let (server, client) = start_default();
    let _held = client.register(&NodeEntry::new("taken", 5001)).await.expect("register");
    let (_s, reply) = raw_register(server.local_addr(), &alive(b"taken", 5002, 6, 5, b""), 6).await;
    assert_eq!(reply, b"v\x01\x00\x00\x00c", "OTP's epmd refuses with result 1 and creation 99");
    let (_s, reply) = raw_register(server.local_addr(), &alive(b"taken", 5002, 5, 5, b""), 4).await;
    assert_eq!(reply, b"y\x01\x00c");
    match client.register(&NodeEntry::new("taken", 5003)).await {
        Err(ClientError::Refused { name, result: 1, .. }) => assert_eq!(name, "taken"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // The first registration is untouched.
    assert_eq!(client.port_please("taken").await.expect("port_please").map(|n| n.port), Some(5001));
}

#[tokio::test]
async fn names_longer_than_255_characters_are_refused() {
    let (server, _client) = start_default();
    let (_s, reply) = raw_register(server.local_addr(), &alive("é".repeat(256).as_bytes(), 1, 6, 5, b""), 6).await;
    assert_eq!(reply, b"v\x01\x00\x00\x00c");
    let (_s, reply) = raw_register(server.local_addr(), &alive("😀".repeat(255).as_bytes(), 1, 6, 5, b""), 6).await;
    assert_eq!(reply[..2], *b"v\x00");
}

#[tokio::test]
async fn an_old_node_gets_alive2_resp_with_a_small_creation() {
    let (server, client) = start_default();
    let (_held, reply) = raw_register(server.local_addr(), &alive(b"old", 5001, 5, 5, b""), 4).await;
    assert_eq!(reply[..2], *b"y\x00");
    let creation = u16::from_be_bytes([reply[2], reply[3]]);
    assert!((1..=3).contains(&creation), "creation {creation}");
    let found = client.port_please("old").await.expect("port_please").expect("found");
    assert_eq!((found.high_version, found.low_version), (5, 5));
}

#[tokio::test]
async fn port_please_returns_every_registered_field() {
    let (server, client) = start_default();
    let node = NodeEntry {
        name: "hidden_one".into(),
        port: 40000,
        node_type: NodeType::Hidden,
        protocol: 0,
        high_version: 6,
        low_version: 6,
        extra: b"extra!".to_vec(),
    };
    let _held = client.register(&node).await.expect("register");
    assert_eq!(client.port_please("hidden_one").await.expect("port_please"), Some(node));
    assert_eq!(client.port_please("nobody").await.expect("port_please"), None);
    let (reply, end) = exchange(server.local_addr(), &frame(b"znobody"), WAIT).await;
    assert_eq!((reply.as_slice(), end), (&b"w\x01"[..], End::Closed));
}

#[tokio::test]
async fn names_and_dump_list_the_newest_registration_first() {
    let (server, client) = start_default();
    let mut held = Vec::new();
    for (name, port) in [("a", 5001), ("b", 5002), ("c", 5003)] {
        held.push(client.register(&NodeEntry::new(name, port)).await.expect("register"));
    }
    let names: Vec<String> = client.names().await.expect("names").iter().map(ToString::to_string).collect();
    assert_eq!(names, ["name c at port 5003", "name b at port 5002", "name a at port 5001"]);

    let port = server.local_addr().port();
    let (reply, end) = exchange(server.local_addr(), &frame(b"n"), WAIT).await;
    assert_eq!(end, End::Closed);
    let expected = ListReply::names(port.into(), [("c", 5003), ("b", 5002), ("a", 5001)]).encode();
    assert_eq!(reply, expected);

    let dump = client.dump().await.expect("dump");
    assert_eq!(dump.epmd_port, u32::from(port));
    let text = String::from_utf8(dump.text).expect("UTF-8");
    let lines: Vec<&str> = text.split_terminator("\n\0").collect();
    assert_eq!(lines.len(), 3, "{text:?}");
    assert!(lines[0].starts_with("active name     <c> at port 5003, fd = "), "{text:?}");
    assert!(lines[2].starts_with("active name     <a> at port 5001, fd = "), "{text:?}");
    assert_eq!(server.names().len(), 3);
}

#[tokio::test]
async fn bytes_after_a_one_byte_request_are_ignored_as_otp_does() {
    let (server, _client) = start_default();
    let (reply, end) = exchange(server.local_addr(), &frame(b"n\x00\x00"), WAIT).await;
    let empty = ListReply::names(server.local_addr().port().into(), []).encode();
    assert_eq!((reply, end), (empty, End::Closed));
}

#[tokio::test]
async fn kill_is_refused_while_nodes_are_registered() {
    let (server, client) = start_default();
    let held = client.register(&NodeEntry::new("alive", 5001)).await.expect("register");
    assert_eq!(client.kill().await.expect("kill"), KillReply::Refused);
    assert!(!server.is_stopped());
    drop(held);
    wait_unregistered(&client, "alive").await;
    assert_eq!(client.kill().await.expect("kill"), KillReply::Killed);
    timeout(WAIT, server.stopped()).await.expect("server stops after KILL");
    assert!(client.names().await.is_err(), "nothing answers after KILL");
}

#[tokio::test]
async fn relaxed_command_check_allows_kill_and_stop() {
    let server = start(ServerOptions { relaxed_command_check: true, ..ServerOptions::default() });
    let client = Client::new(server.local_addr());
    let mut first = client.register(&NodeEntry::new("first", 5001)).await.expect("register");
    let mut second = client.register(&NodeEntry::new("second", 5002)).await.expect("register");

    assert_eq!(client.stop("first").await.expect("stop"), StopReply::Stopped);
    timeout(WAIT, first.closed()).await.expect("STOP closes the node's connection");
    assert_eq!(client.port_please("first").await.expect("port_please"), None);
    assert_eq!(client.stop("first").await.expect("stop"), StopReply::NoExist);

    assert_eq!(client.kill().await.expect("kill"), KillReply::Killed);
    timeout(WAIT, second.closed()).await.expect("KILL closes the registered connections");
    timeout(WAIT, server.stopped()).await.expect("server stops");
}

#[tokio::test]
async fn stop_without_relaxed_checking_closes_without_a_reply() {
    let (server, client) = start_default();
    let _held = client.register(&NodeEntry::new("keep", 5001)).await.expect("register");
    assert!(matches!(client.stop("keep").await, Err(ClientError::Closed { .. })));
    let (reply, end) = exchange(server.local_addr(), &frame(b"skeep"), WAIT).await;
    assert_eq!((reply, end), (Vec::new(), End::Closed));
    assert!(client.port_please("keep").await.expect("port_please").is_some());
}

#[tokio::test]
async fn any_byte_after_a_registration_unregisters_the_node() {
    let (server, client) = start_default();
    let (mut stream, reply) = raw_register(server.local_addr(), &alive(b"chatty", 5001, 6, 5, b""), 6).await;
    assert_eq!(reply[..2], *b"v\x00");
    stream.write_all(&frame(b"n")).await.expect("write");
    let (rest, end) = read_until_closed(&mut stream, WAIT).await;
    assert_eq!((rest, end), (Vec::new(), End::Closed));
    wait_unregistered(&client, "chatty").await;
}

#[tokio::test]
async fn bad_requests_close_their_connection_and_nothing_else() {
    let (server, client) = start_default();
    let _held = client.register(&NodeEntry::new("bystander", 5001)).await.expect("register");
    let mut truncated_alive = alive(b"trunc", 5001, 6, 5, b"");
    truncated_alive.truncate(10);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("zero length", vec![0, 0]),
        ("unknown tag", frame(b"Q")),
        ("old ALIVE_REQ tag", frame(b"a\x13\x88abc")),
        ("truncated ALIVE2 body", frame(&truncated_alive)),
        ("ALIVE2 with only a tag", frame(b"x")),
        ("ALIVE2 extra longer than the body", frame(&[&alive(b"e", 1, 6, 5, b"")[..12], &[0, 9, 1]].concat())),
        ("ALIVE2 with an empty name", frame(&alive(b"", 1, 6, 5, b""))),
        ("ALIVE2 with a NUL in the name", frame(&alive(b"a\0b", 1, 6, 5, b""))),
        ("ALIVE2 with a name that is not UTF-8", frame(&alive(b"\xff\xfe", 1, 6, 5, b""))),
        ("PORT_PLEASE2 without a name", frame(b"z")),
        ("STOP without a name", frame(b"s")),
        ("length over the limit", [&3058u16.to_be_bytes()[..], &[b'n'; 3058]].concat()),
        ("largest possible length", [&u16::MAX.to_be_bytes()[..], &[b'n'; 100]].concat()),
    ];
    for (what, bytes) in cases {
        let (reply, end) = exchange(server.local_addr(), &bytes, WAIT).await;
        assert_eq!((reply, end), (Vec::new(), End::Closed), "{what}");
        // The server keeps serving, and keeps what it had.
        let names = client.names().await.unwrap_or_else(|e| panic!("after {what}: {e}"));
        assert_eq!(names.len(), 1, "after {what}");
    }
    assert!(client.port_please("bystander").await.expect("port_please").is_some());
}

#[tokio::test]
async fn idle_and_slow_clients_are_cut_off_at_the_read_timeout() {
    let read_timeout = Duration::from_millis(300);
    let server = start(ServerOptions { read_timeout, ..ServerOptions::default() });
    let addr = server.local_addr();
    let client = Client::new(addr);
    let _held = client.register(&NodeEntry::new("steady", 5001)).await.expect("register");

    let started = Instant::now();
    let idle = tokio::spawn(exchange(addr, b"", WAIT));
    let half_length = tokio::spawn(exchange(addr, b"\x00", WAIT));
    let partial_body = tokio::spawn(exchange(addr, b"\x00\x05zab", WAIT));
    // A client that drips a valid request one byte at a time, too slowly to finish within the timeout.
    let drip = tokio::spawn(async move {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        for byte in frame(b"zsteady_and_more_bytes") {
            if stream.write_all(&[byte]).await.is_err() {
                break;
            }
            sleep(Duration::from_millis(50)).await;
        }
        read_until_closed(&mut stream, WAIT).await
    });
    // While they hang on, others are served.
    assert_eq!(client.names().await.expect("names").len(), 1);
    for (what, task) in [("idle", idle), ("half length", half_length), ("partial body", partial_body), ("drip", drip)] {
        let (reply, end) = task.await.expect("join");
        assert_eq!((reply, end), (Vec::new(), End::Closed), "{what}");
    }
    let elapsed = started.elapsed();
    assert!(elapsed >= read_timeout, "closed after {elapsed:?}, before the timeout");
    assert!(elapsed < Duration::from_secs(3), "closed only after {elapsed:?}");
    // The registration, idle by nature, is not subject to the read timeout.
    sleep(read_timeout * 2).await;
    assert!(client.port_please("steady").await.expect("port_please").is_some());
}

#[tokio::test]
async fn a_flood_of_idle_connections_cannot_keep_a_client_from_being_served() {
    let server = start(ServerOptions { max_pending: 3, ..ServerOptions::default() });
    let addr = server.local_addr();
    let client = Client::new(addr);
    let _held = client.register(&NodeEntry::new("node", 5001)).await.expect("register");
    let mut idle = Vec::new();
    for _ in 0..50 {
        idle.push(TcpStream::connect(addr).await.expect("connect"));
    }
    // The newest pending connections push the oldest out, so a client that sends its request is served.
    for _ in 0..5 {
        assert_eq!(client.port_please("node").await.expect("port_please").map(|n| n.port), Some(5001));
    }
    // All but the newest few idle connections were closed, long before the 60 s read timeout.
    let mut closed = 0;
    for stream in &mut idle {
        let (reply, end) = read_until_closed(stream, Duration::from_millis(200)).await;
        assert!(reply.is_empty());
        closed += usize::from(end == End::Closed);
    }
    assert!(closed >= 47, "only {closed} of 50 idle connections were closed");
    // The registration's connection is not a pending one: it survived the flood.
    assert_eq!(server.names().len(), 1);
}

#[tokio::test]
async fn shutdown_closes_registrations_and_stops_listening() {
    let (server, client) = start_default();
    let mut held = client.register(&NodeEntry::new("node", 5001)).await.expect("register");
    server.shutdown();
    timeout(WAIT, held.closed()).await.expect("registration closed by shutdown");
    timeout(WAIT, server.stopped()).await.expect("stopped");
    assert!(server.names().is_empty());
    match client.names().await {
        Err(e) => assert!(e.is_connection_refused(), "{e}"),
        Ok(names) => panic!("still answering: {names:?}"),
    }
}

#[tokio::test]
async fn a_client_times_out_on_a_silent_server() {
    // A listener that accepts and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let _accepting = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let client = Client::new(addr).with_timeout(Duration::from_millis(200));
    assert!(matches!(client.names().await, Err(ClientError::Timeout { .. })));
    assert!(matches!(client.register(&NodeEntry::new("x", 1)).await, Err(ClientError::Timeout { .. })));
}
