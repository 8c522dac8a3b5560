//! Proof against real Erlang: `erl` nodes register with this crate's `epmd`, find each other through it and
//! connect; OTP's own `epmd` program reads it; and this crate's client works against OTP's `epmd`.

mod support;

use erlnode_epmd::{Client, ClientError, NameLine, NodeEntry, NodeType};
use erlnode_erltest::node::{ERL_HOST, free_port, unique};
use erlnode_erltest::{Erlang, epmd};
use support::{erl_node, our_epmd};

#[test]
fn erl_nodes_register_find_each_other_and_connect_through_our_epmd() {
    let Some(otp) = Erlang::find("erl_nodes_register_find_each_other_and_connect_through_our_epmd") else { return };
    let port = free_port();
    let _epmd = our_epmd(port, &[]);
    let (a, b) = (unique("a"), unique("b"));

    let node_a = erl_node(
        &otp,
        &a,
        port,
        "ok = net_kernel:monitor_nodes(true), io:format(\"ready~n\"), \
         receive {nodeup, N} -> io:format(\"nodeup:~s~n\", [N]) end, timer:sleep(infinity).",
    );
    node_a.wait_for("ready");
    let mut node_b = erl_node(
        &otp,
        &b,
        port,
        &format!(
            "{ERL_HOST}, A = list_to_atom(\"{a}@\" ++ Host), \
             io:format(\"port_please:~p~n\", [erl_epmd:port_please(\"{a}\", \"127.0.0.1\")]), \
             io:format(\"ping:~p~n\", [net_adm:ping(A)]), timer:sleep(infinity)."
        ),
    );

    // B found A's port through our epmd, and the two connected: B saw pong, A saw B come up.
    let b_out = node_b.wait_for("ping:");
    assert!(b_out.contains("ping:pong"), "{b_out}");
    assert!(b_out.contains("port_please:{port,"), "{b_out}");
    node_a.wait_for(&format!("nodeup:{b}@"));

    // OTP's own `epmd -names` lists both, and the port B was given for A is A's registered port.
    let names = epmd::names(&otp, port);
    assert!(names.starts_with(&format!("epmd: up and running on port {port} with data:\n")), "{names}");
    let a_line = names.lines().find(|l| l.starts_with(&format!("name {a} at port "))).expect("a listed");
    assert!(names.contains(&format!("name {b} at port ")), "{names}");
    let a_port = a_line.rsplit(' ').next().expect("port");
    assert!(b_out.contains(&format!("port_please:{{port,{a_port},6}}")), "{b_out}");

    // Killing B removes its name; A's stays.
    node_b.kill();
    epmd::wait_names(&otp, port, &format!("{b} gone, {a} still there"), |names| {
        !names.contains(&format!("name {b} ")) && names.contains(&format!("name {a} "))
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn our_client_registers_and_looks_up_with_otps_epmd() {
    let Some(otp) = Erlang::find("our_client_registers_and_looks_up_with_otps_epmd") else { return };
    let port = free_port();
    let _epmd = epmd::start(&otp, port, &[]);
    let client = Client::local(port);
    let rust = unique("rust");
    let dist = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dist_port = dist.local_addr().expect("addr").port();
    let node = NodeEntry {
        name: rust.clone(),
        port: dist_port,
        node_type: NodeType::Normal,
        protocol: 0,
        high_version: 6,
        low_version: 5,
        extra: b"erlnode".to_vec(),
    };

    let registration = client.register(&node).await.expect("register with OTP's epmd");
    assert_ne!(registration.creation(), 0);
    assert_eq!(client.port_please(&rust).await.expect("port_please"), Some(node.clone()));
    assert!(client.names().await.expect("names").contains(&NameLine { name: rust.clone(), port: dist_port }));
    assert!(epmd::names(&otp, port).contains(&format!("name {rust} at port {dist_port}\n")));
    let dump = String::from_utf8(client.dump().await.expect("dump").text).expect("UTF-8");
    assert!(dump.contains(&format!("active name     <{rust}> at port {dist_port}, fd = ")), "{dump:?}");

    // OTP's epmd refuses the name a second time, and our client says so.
    match client.register(&NodeEntry::new(rust.clone(), dist_port + 1)).await {
        Err(ClientError::Refused { result, .. }) => assert_ne!(result, 0),
        other => panic!("expected a refusal, got {other:?}"),
    }

    // A real Erlang node finds the Rust registration through OTP's epmd, and we find the Erlang node.
    let erl_name = unique("erl");
    let erl = erl_node(
        &otp,
        &erl_name,
        port,
        &format!(
            "io:format(\"found:~p~n\", [erl_epmd:port_please(\"{rust}\", \"127.0.0.1\")]), timer:sleep(infinity)."
        ),
    );
    let out = erl.wait_for("found:");
    assert!(out.contains(&format!("found:{{port,{dist_port},6}}")), "{out}");
    let erl_entry = client.port_please(&erl_name).await.expect("port_please").expect("the erl node is registered");
    assert_eq!(erl_entry.node_type, NodeType::Normal);
    assert_eq!((erl_entry.high_version, erl_entry.low_version), (6, 5), "OTP 25 registers 6/5");
    assert_eq!(erl_entry.protocol, 0);

    // Dropping the registration unregisters it, as OTP's epmd sees.
    drop(registration);
    epmd::wait_names(&otp, port, &format!("{rust} gone"), |names| !names.contains(&format!("name {rust} ")));
    assert_eq!(client.port_please(&rust).await.expect("port_please"), None);
}
