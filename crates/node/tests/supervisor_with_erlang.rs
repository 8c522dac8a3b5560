//! A Rust supervisor driven from a real Erlang node with Erlang's `supervisor` module.

mod common;

use erlnode::gen_server::{Ctx, GenServer, InitError};
use erlnode::supervisor::{self, ChildSpec, Flags, Start, Strategy};
use erlnode::{Atom, Node, Term};
use erlnode_erltest::Erlang;
use erlnode_erltest::node::{ERL_HOST, ErlNode, unique};

const COOKIE: &str = "erlnode_supervisor_test";

struct Worker;

impl GenServer for Worker {
    type Args = Term;

    async fn init(ctx: &mut Ctx<'_>, _id: Term) -> Result<Self, InitError> {
        ctx.trap_exit(true);
        Ok(Worker)
    }
}

async fn rust_node(label: &str) -> (Node, u16) {
    common::dist_node(label, COOKIE).await
}

#[tokio::test(flavor = "multi_thread")]
async fn erlang_drives_a_rust_supervisor_with_the_supervisor_module() {
    let Some(erlang) = Erlang::find("erlang_drives_a_rust_supervisor_with_the_supervisor_module") else { return };
    let (node, epmd) = rust_node("rust_sup").await;
    let children = vec![
        ChildSpec::gen_server::<Worker>(Term::atom("a"), Term::atom("a"), None),
        ChildSpec::gen_server::<Worker>(Term::atom("b"), Term::atom("b"), None),
    ];
    supervisor::start(&node, Flags::new(Strategy::OneForOne), children, Some(Atom::new("top_sup")))
        .await
        .expect("the supervisor starts");
    let template = ChildSpec::new("tmpl", |s: Start| async move {
        let id = s.args.first().cloned().unwrap_or_default();
        s.gen_server::<Worker>(id, None).await
    });
    supervisor::start(&node, Flags::new(Strategy::SimpleOneForOne), vec![template], Some(Atom::new("pool_sup")))
        .await
        .expect("the simple_one_for_one supervisor starts");

    // A registered function that an Erlang child spec can name: it is the child.
    node.rpc().register_process("sup_demo", "worker", 1, |mut p, _args| async move {
        loop {
            p.recv().await;
        }
    });
    let rust = format!("'{}'", node.name().as_str());
    let eval = format!(
        "{ERL_HOST}, S = {{top_sup, {rust}}}, P = {{pool_sup, {rust}}}, \
         [{{b, B, worker, _}}, {{a, A, worker, _}}] = supervisor:which_children(S), \
         io:format(\"WHICH ~p ~p~n\", [node(A) =:= {rust}, node(B) =:= {rust}]), \
         io:format(\"COUNT ~p~n\", [supervisor:count_children(S)]), \
         io:format(\"TERMINATE ~p~n\", [supervisor:terminate_child(S, a)]), \
         io:format(\"STOPPED ~p~n\", [lists:keyfind(a, 1, supervisor:which_children(S))]), \
         {{ok, A2}} = supervisor:restart_child(S, a), \
         io:format(\"RESTARTED ~p~n\", [A2 =/= A andalso node(A2) =:= {rust}]), \
         {{ok, Spec}} = supervisor:get_childspec(S, a), \
         io:format(\"SPEC ~p ~p ~p~n\", [maps:get(id, Spec), maps:get(restart, Spec), maps:get(type, Spec)]), \
         io:format(\"DELETE ~p~n\", [supervisor:delete_child(S, b)]), \
         io:format(\"MISSING ~p~n\", [supervisor:terminate_child(S, nobody)]), \
         {{ok, X}} = supervisor:start_child(S, #{{id => x, start => {{sup_demo, worker, [hello]}}, restart => transient}}), \
         {{ok, XSpec}} = supervisor:get_childspec(S, x), \
         io:format(\"ERLANG SPEC ~p ~p ~p~n\", [node(X) =:= {rust}, maps:get(start, XSpec), maps:get(restart, XSpec)]), \
         exit(X, kill), timer:sleep(200), \
         {{x, X2, worker, _}} = lists:keyfind(x, 1, supervisor:which_children(S)), \
         io:format(\"ERLANG SPEC RESTARTED ~p~n\", [is_pid(X2) andalso X2 =/= X]), \
         {{ok, Y}} = supervisor:start_child(S, {{y, {{sup_demo, worker, [old_style]}}, temporary, brutal_kill, worker, [sup_demo]}}), \
         io:format(\"TUPLE SPEC ~p~n\", [is_pid(Y)]), \
         io:format(\"UNDEF ~p~n\", [supervisor:start_child(S, #{{id => z, start => {{sup_demo, nope, []}}}})]), \
         io:format(\"BAD SPEC ~p~n\", [supervisor:start_child(S, #{{id => w, start => {{sup_demo, worker, [1]}}, restart => bogus}})]), \
         {{ok, W1}} = supervisor:start_child(P, [w1]), {{ok, W2}} = supervisor:start_child(P, [w2]), \
         io:format(\"POOL ~p~n\", [supervisor:count_children(P)]), \
         io:format(\"POOL TERMINATE ~p~n\", [supervisor:terminate_child(P, W1)]), \
         io:format(\"POOL LEFT ~p~n\", [[Pid || {{undefined, Pid, worker, _}} <- supervisor:which_children(P)] =:= [W2]]), \
         timer:sleep(infinity)."
    );
    let peer = ErlNode::sname(&unique("erl_sup")).cookie(COOKIE).epmd_port(epmd).eval(&eval).start(&erlang);
    peer.wait_for("WHICH true true");
    peer.wait_for("COUNT [{specs,2},{active,2},{supervisors,0},{workers,2}]");
    peer.wait_for("TERMINATE ok");
    peer.wait_for("STOPPED {a,undefined,worker,");
    peer.wait_for("RESTARTED true");
    peer.wait_for("SPEC a permanent worker");
    peer.wait_for("DELETE {error,running}");
    peer.wait_for("MISSING {error,not_found}");
    peer.wait_for("ERLANG SPEC true {sup_demo,worker,[hello]} transient");
    peer.wait_for("ERLANG SPEC RESTARTED true");
    peer.wait_for("TUPLE SPEC true");
    peer.wait_for("UNDEF {error,{'EXIT',{undef,[{sup_demo,nope,[],[]}]}}}");
    peer.wait_for("BAD SPEC {error,{invalid_restart_type,bogus}}");
    peer.wait_for("POOL [{specs,1},{active,2},{supervisors,0},{workers,2}]");
    peer.wait_for("POOL TERMINATE ok");
    peer.wait_for("POOL LEFT true");
}
