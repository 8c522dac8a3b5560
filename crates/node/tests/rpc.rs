//! RPC between Rust nodes and within one node: the result shapes, typed functions, spawn requests with
//! link and monitor, and a panic that stays an error.

mod common;

use std::time::Duration;

use common::{WAIT, a, t, within};
use erlnode::rpc::{Exception, RpcError, SpawnOptions};
use erlnode::{Node, NodeOptions, Term};
use erlnode_erltest::node::unique;

fn register(node: &Node) {
    let rpc = node.rpc();
    rpc.register_typed("m", "add", 2, |(x, y): (i64, i64)| async move { Ok::<_, Exception>(x + y) });
    rpc.register("m", "throw", 0, |_| async move { Err(Exception::throw("ball")) });
    rpc.register("m", "exit", 0, |_| async move { Err(Exception::exit("bye")) });
    rpc.register("m", "error", 0, |_| async move { Err(Exception::error("oops")) });
    rpc.register("m", "panic", 0, |_| async move { panic!("boom") });
    rpc.register("m", "slow", 0, |_| async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        Ok(Term::atom("late"))
    });
    // Traps exits and reports the first message to the given process.
    rpc.register_process("m", "trap", 1, |mut p, args| async move {
        p.trap_exit(true);
        let message = p.recv().await;
        if let Term::Pid(to) = args[0] {
            p.send(to, message);
        }
        Ok(Term::atom("ok"))
    });
    rpc.register_process("m", "wait", 0, |mut p, _| async move {
        let message = p.recv().await;
        Err(Exception::exit(message))
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_on_the_same_node_give_erlangs_shapes() {
    let node = common::node();
    register(&node);
    let here = node.name();
    let results = within(&node, move |mut p| async move {
        let mut r = Vec::new();
        r.push(p.rpc_call(here, "m", "add", vec![t("1"), t("2")], WAIT).await);
        r.push(p.rpc_call(here, "m", "add", vec![t("one"), t("2")], WAIT).await);
        r.push(p.rpc_call(here, "m", "throw", vec![], WAIT).await);
        r.push(p.rpc_call(here, "m", "exit", vec![], WAIT).await);
        r.push(p.rpc_call(here, "m", "error", vec![], WAIT).await);
        r.push(p.rpc_call(here, "m", "panic", vec![], WAIT).await);
        r.push(p.rpc_call(here, "m", "nope", vec![t("1")], WAIT).await);
        r.push(p.rpc_call(here, "m", "slow", vec![], Duration::from_millis(50)).await);
        r.push(p.rpc_call(here, "erlang", "node", vec![], WAIT).await);
        tokio::time::sleep(Duration::from_millis(700)).await;
        (r, p.mailbox_len())
    })
    .await;
    let (r, left) = results;
    assert_eq!(r[0], Ok(t("3")));
    assert_eq!(r[1], Err(RpcError::Error { reason: t("function_clause"), stack: t("[{m, add, 2, []}]") }));
    assert_eq!(r[2], Err(RpcError::Throw(t("<<\"ball\">>"))));
    assert_eq!(r[3], Err(RpcError::Exit(t("<<\"bye\">>"))));
    assert_eq!(r[4], Err(RpcError::Error { reason: t("<<\"oops\">>"), stack: t("[{m, error, 0, []}]") }));
    assert_eq!(r[5], Err(RpcError::Error { reason: t("{panic, <<\"boom\">>}"), stack: t("[{m, panic, 0, []}]") }));
    assert_eq!(r[6], Err(RpcError::Error { reason: t("undef"), stack: t("[{m, nope, [1], []}]") }));
    assert_eq!(r[7], Err(RpcError::Timeout));
    assert_eq!(r[8], Ok(Term::Atom(node.name())));
    assert_eq!(left, 0, "the late result reached the mailbox");
    assert_eq!(
        r[1].clone().map_err(|e| e.to_badrpc()),
        Err(t("{badrpc, {'EXIT', {function_clause, [{m, add, 2, []}]}}}"))
    );
    assert_eq!(r[2].clone().map_err(|e| e.to_badrpc()), Err(t("<<\"ball\">>")));
    // As rpc:call: a thrown {'EXIT', _} is a failure, not a value.
    assert_eq!(RpcError::Throw(t("{'EXIT', x}")).to_badrpc(), t("{badrpc, {'EXIT', x}}"));
}

#[tokio::test(flavor = "multi_thread")]
async fn rust_nodes_call_and_spawn_on_each_other() {
    let (server, epmd) = common::dist_node("rpc_server", "erlnode_rpc_rust").await;
    let options = NodeOptions::new(unique("rpc_client")).cookie("erlnode_rpc_rust").epmd_port(epmd);
    let client = Node::start(options).await.expect("the client node starts");
    register(&server);
    let other = server.name();
    assert_eq!(client.rpc_call(other, "m", "add", vec![t("20"), t("22")], WAIT).await, Ok(t("42")));
    assert_eq!(client.rpc_call(other, "m", "exit", vec![], WAIT).await, Err(RpcError::Exit(t("<<\"bye\">>"))));
    let unknown = client.rpc_call(a("no_such_node@localhost"), "m", "add", vec![t("1"), t("1")], WAIT).await;
    assert_eq!(unknown, Err(RpcError::NoConnection));

    let (linked_exit, down, reply) = within(&client, move |mut p| async move {
        p.trap_exit(true);
        let (pid, _) = p.spawn_remote(other, "m", "wait", vec![], true, false).await.expect("spawned, linked");
        p.send(pid, t("stop_linked"));
        let linked_exit = common::next(&mut p).await;
        let (pid2, monitor) =
            p.spawn_remote(other, "m", "wait", vec![], false, true).await.expect("spawned, monitored");
        p.send(pid2, t("stop_monitored"));
        let down = common::down_reason(&mut p, monitor.expect("a monitor")).await;
        // The raw request: the answer is a message.
        let req = p.spawn_request(other, "m", "wait", vec![], SpawnOptions::default());
        let reply = common::next(&mut p).await;
        if let Some([_, _, _, Term::Pid(pid3)]) = reply.as_tuple() {
            p.exit(*pid3, t("kill"));
        }
        let reply_ok =
            matches!(reply.as_tuple(), Some([_, Term::Ref(r), ok, Term::Pid(_)]) if *r == req && *ok == t("ok"));
        (linked_exit, down, reply_ok)
    })
    .await;
    assert_eq!(linked_exit.as_tuple().map(|m| m[2].clone()), Some(t("stop_linked")));
    assert_eq!(down, t("stop_monitored"));
    assert!(reply, "spawn_request answers {{spawn_reply, ReqId, ok, Pid}}");
}

#[tokio::test(flavor = "multi_thread")]
async fn spawn_requests_refused_at_once_and_a_requester_that_ends_first() {
    // Not distributed: another node cannot be reached.
    let lonely = common::node();
    let answers = within(&lonely, |mut p| async move {
        let req = p.spawn_request(a("other@localhost"), "m", "wait", vec![], SpawnOptions::default());
        let first = common::next(&mut p).await;
        let too_many = vec![Term::from(1); 256];
        let req2 = p.spawn_request(lonely_name(&p), "m", "wait", too_many, SpawnOptions::default());
        let second = common::next(&mut p).await;
        (req, first, req2, second)
    })
    .await;
    let (req, first, req2, second) = answers;
    let refusal =
        |r, why: &str| Term::tuple(vec![Term::atom("spawn_reply"), Term::Ref(r), Term::atom("error"), t(why)]);
    assert_eq!(first, refusal(req, "noconnection"));
    assert_eq!(second, refusal(req2, "badarg"));

    // A requester that ends before the answer: the new process, linked, gets the requester's reason.
    let (server, epmd) = common::dist_node("rpc_orphan_server", "erlnode_rpc_rust").await;
    let options = NodeOptions::new(unique("rpc_orphan_client")).cookie("erlnode_rpc_rust").epmd_port(epmd);
    let client = Node::start(options).await.expect("the client node starts");
    register(&server);
    let other = server.name();
    let report = within(&client, move |mut p| async move {
        let me = p.self_pid();
        let requester = p
            .spawn(move |r| async move {
                let options = SpawnOptions { link: true, ..SpawnOptions::default() };
                r.spawn_request(other, "m", "trap", vec![Term::Pid(me)], options);
                Err(t("{gone, early}"))
            })
            .expect("the requester starts");
        let report = common::next(&mut p).await;
        (requester, report)
    })
    .await;
    let (requester, report) = report;
    assert_eq!(report, common::exit_msg(requester, t("{gone, early}")));
}

fn lonely_name(p: &erlnode::Process) -> erlnode::Atom {
    p.node().name()
}
