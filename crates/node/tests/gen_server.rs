//! GenServer on one node: start and init outcomes, calls answered now and later, casts, infos, continue,
//! timeouts, stop with and without a reply, terminate, panics, callers that time out or see the server
//! die, typed calls, and the `sys` messages.

mod common;

use std::time::Duration;

use common::{WAIT, node, t, within};
use erlnode::gen_server::{self, CallError, CallResult, Caller, Ctx, Flow, GenServer, InitError, StartError};
use erlnode::{Atom, Pid, Term};

/// A server whose behaviour each test drives through its requests; it reports `terminate` to `watcher`.
struct Probe {
    count: i64,
    watcher: Option<Pid>,
    parked: Vec<Caller>,
}

impl GenServer for Probe {
    type Args = (Option<Pid>, Term);

    async fn init(ctx: &mut Ctx<'_>, (watcher, how): Self::Args) -> Result<Self, InitError> {
        match how.as_atom().map(|a| a.as_str()) {
            Some("ignore") => Err(InitError::Ignore),
            Some("fail") => Err(t("{init_failed, here}").into()),
            Some("panic") => panic!("init panics"),
            Some("trap") => {
                ctx.trap_exit(true);
                Ok(Probe { count: 0, watcher, parked: Vec::new() })
            }
            Some("continue") => {
                ctx.continue_with(t("{set, 100}"));
                Ok(Probe { count: 0, watcher, parked: Vec::new() })
            }
            _ => Ok(Probe { count: 0, watcher, parked: Vec::new() }),
        }
    }

    async fn handle_call(&mut self, ctx: &mut Ctx<'_>, request: Term, from: &Caller) -> CallResult {
        let request = request.to_string();
        match request.as_str() {
            "incr" => {
                self.count += 1;
                CallResult::reply(self.count)
            }
            "get" => CallResult::reply(self.count),
            // Answered later, by whoever releases it.
            "park" => {
                self.parked.push(from.clone());
                CallResult::NoReply
            }
            "release" => {
                for caller in self.parked.drain(..) {
                    ctx.reply(&caller, Term::atom("released"));
                }
                CallResult::reply(Term::atom("ok"))
            }
            // Answered from another process.
            "elsewhere" => {
                let node = ctx.node().clone();
                let from = from.clone();
                let spawned = ctx.spawn(move |_| async move {
                    from.reply(&node, Term::atom("from_elsewhere"));
                    Ok(())
                });
                match spawned {
                    Ok(_) => CallResult::NoReply,
                    Err(e) => CallResult::reply(Term::from(e.to_string())),
                }
            }
            "stop_with_reply" => CallResult::Stop { reason: Term::atom("normal"), reply: Some(Term::atom("bye")) },
            "crash" => CallResult::Stop { reason: Term::atom("crashed"), reply: None },
            "panic" => panic!("handle_call panics"),
            "slow" => {
                tokio::time::sleep(Duration::from_millis(300)).await;
                CallResult::reply(Term::atom("late"))
            }
            "timeout" => {
                ctx.timeout(Duration::from_millis(50));
                CallResult::reply(Term::atom("armed"))
            }
            _ => CallResult::Stop { reason: t("{bad_call, unknown}"), reply: None },
        }
    }

    async fn handle_cast(&mut self, ctx: &mut Ctx<'_>, message: Term) -> Flow {
        match message.as_tuple() {
            Some([Term::Atom(a), Term::Int(n)]) if a.as_str() == "add" => {
                self.count += n;
                Flow::Continue
            }
            Some([Term::Atom(a), c]) if a.as_str() == "continue" => {
                ctx.continue_with(c.clone());
                Flow::Continue
            }
            _ => Flow::Stop(Term::atom("bad_cast")),
        }
    }

    async fn handle_info(&mut self, _ctx: &mut Ctx<'_>, message: Term) -> Flow {
        if message == Term::atom("timeout") {
            self.count = -1;
        } else if let Some([Term::Atom(a), Term::Int(n)]) = message.as_tuple() {
            if a.as_str() == "set" {
                self.count = *n;
            }
        }
        Flow::Continue
    }

    async fn handle_continue(&mut self, _ctx: &mut Ctx<'_>, continuation: Term) -> Flow {
        if let Some([_, Term::Int(n)]) = continuation.as_tuple() {
            self.count = *n;
        }
        Flow::Continue
    }

    async fn terminate(&mut self, ctx: &mut Ctx<'_>, reason: &Term) {
        if let Some(watcher) = self.watcher {
            ctx.send(watcher, Term::tuple(vec![Term::atom("terminated"), reason.clone()]));
        }
    }

    fn state(&self) -> Term {
        Term::tuple(vec![Term::atom("count"), Term::from(self.count)])
    }

    fn replace_state(&mut self, state: Term) -> Result<(), Term> {
        match state.as_tuple() {
            Some([_, Term::Int(n)]) => {
                self.count = *n;
                Ok(())
            }
            _ if state == Term::atom("panic") => panic!("replace_state panics"),
            _ => Err(Term::tuple(vec![Term::atom("not_a_count"), state])),
        }
    }
}

fn plain() -> (Option<Pid>, Term) {
    (None, Term::atom("plain"))
}

#[tokio::test]
async fn calls_casts_infos_and_continue() {
    let node = node();
    let server = gen_server::start::<Probe>(&node, plain(), Some(Atom::new("probe"))).await.unwrap();
    assert_eq!(node.whereis(Atom::new("probe")), Some(server));
    let got = within(&node, move |mut p| async move {
        let mut seen = Vec::new();
        for _ in 0..3 {
            seen.push(gen_server::call(&mut p, server, t("incr"), WAIT).await.unwrap());
        }
        gen_server::cast(&p, Atom::new("probe"), t("{add, 10}"));
        seen.push(gen_server::call(&mut p, Atom::new("probe"), t("get"), WAIT).await.unwrap());
        p.send(server, t("{set, 7}"));
        seen.push(gen_server::call(&mut p, server, t("get"), WAIT).await.unwrap());
        gen_server::cast(&p, server, t("{continue, {set, 55}}"));
        seen.push(gen_server::call(&mut p, server, t("get"), WAIT).await.unwrap());
        // A caller with a plain reference for a tag (OTP before 24) gets {Tag, Reply} at its pid.
        let tag = p.make_ref();
        let from = Term::tuple(vec![Term::Pid(p.self_pid()), Term::Ref(tag)]);
        p.send(server, Term::tuple(vec![Term::atom("$gen_call"), from, t("get")]));
        seen.push(p.recv_timeout(WAIT).await.unwrap());
        (seen, tag)
    })
    .await;
    let (mut got, tag) = got;
    assert_eq!(got.pop(), Some(Term::tuple(vec![Term::Ref(tag), t("55")])));
    assert_eq!(got, vec![t("1"), t("2"), t("3"), t("13"), t("7"), t("55")]);
}

#[tokio::test]
async fn init_outcomes_reach_the_starter() {
    let node = node();
    let start = |how: &str| gen_server::start::<Probe>(&node, (None, Term::atom(how)), None);
    assert_eq!(start("ignore").await, Err(StartError::Ignore));
    assert_eq!(start("fail").await, Err(StartError::Init(t("{init_failed, here}"))));
    assert!(matches!(start("panic").await, Err(StartError::Init(Term::Tuple(_)))));
    // A continue from init runs before the first message.
    let server = start("continue").await.unwrap();
    let got = within(&node, move |mut p| async move { gen_server::call(&mut p, server, t("get"), WAIT).await }).await;
    assert_eq!(got, Ok(t("100")));
    // A name in use.
    let first = gen_server::start::<Probe>(&node, plain(), Some(Atom::new("taken"))).await.unwrap();
    let again = gen_server::start::<Probe>(&node, plain(), Some(Atom::new("taken"))).await;
    assert_eq!(again, Err(StartError::AlreadyStarted(first)));
}

#[tokio::test]
async fn start_link_links_and_a_failed_init_leaves_no_link_behind() {
    let node = node();
    let got = within(&node, move |p| async move {
        let failed = gen_server::start_link::<Probe>(&p, (None, Term::atom("fail")), None).await;
        // Had the link stayed, the failed server's exit would have killed this process by now.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let server = gen_server::start_link::<Probe>(&p, plain(), None).await.unwrap();
        let linked = p.node().process_info(p.self_pid()).map(|i| i.links.contains(&server));
        (failed, linked)
    })
    .await;
    assert_eq!(got.0, Err(StartError::Init(t("{init_failed, here}"))));
    assert_eq!(got.1, Some(true));
}

#[tokio::test]
async fn replies_can_come_later_and_from_other_processes() {
    let node = node();
    let server = gen_server::start::<Probe>(&node, plain(), None).await.unwrap();
    let parked: Vec<_> = (0..3)
        .map(|_| {
            let node = node.clone();
            tokio::spawn(async move {
                within(&node, move |mut p| async move { gen_server::call(&mut p, server, t("park"), WAIT).await }).await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let released =
        within(&node, move |mut p| async move { gen_server::call(&mut p, server, t("release"), WAIT).await }).await;
    assert_eq!(released, Ok(t("ok")));
    for waiting in parked {
        assert_eq!(waiting.await.unwrap(), Ok(t("released")));
    }
    let elsewhere =
        within(&node, move |mut p| async move { gen_server::call(&mut p, server, t("elsewhere"), WAIT).await }).await;
    assert_eq!(elsewhere, Ok(t("from_elsewhere")));
}

#[tokio::test]
async fn stopping_runs_terminate_then_answers_and_exits_with_the_reason() {
    let node = node();
    let got = within(&node, move |mut p| async move {
        let me = Some(p.self_pid());
        let server = gen_server::start::<Probe>(p.node(), (me, t("plain")), None).await.unwrap();
        let watch = p.monitor(server);
        let reply = gen_server::call(&mut p, server, t("stop_with_reply"), WAIT).await;
        // terminate ran before the reply was sent.
        let first = p.recv_timeout(WAIT).await;
        let down = p.recv_timeout(WAIT).await;
        (reply, first, down, watch)
    })
    .await;
    assert_eq!(got.0, Ok(t("bye")));
    assert_eq!(got.1, Some(t("{terminated, normal}")));
    assert_eq!(got.2.and_then(|d| d.as_tuple().map(|t| t[4].clone())), Some(t("normal")));
}

#[tokio::test]
async fn a_server_that_dies_mid_call_fails_the_call_with_its_reason() {
    let node = node();
    let got = within(&node, move |mut p| async move {
        let me = Some(p.self_pid());
        let server = gen_server::start::<Probe>(p.node(), (me, t("plain")), None).await.unwrap();
        let crashed = gen_server::call(&mut p, server, t("crash"), WAIT).await;
        let terminated = p.recv_timeout(WAIT).await;
        let server = gen_server::start::<Probe>(p.node(), (me, t("plain")), None).await.unwrap();
        let panicked = gen_server::call(&mut p, server, t("panic"), WAIT).await;
        let terminated_after_panic = p.recv_timeout(WAIT).await;
        let dead = gen_server::call(&mut p, server, t("get"), WAIT).await;
        let nobody = gen_server::call(&mut p, Atom::new("nobody_here"), t("get"), WAIT).await;
        (crashed, terminated, panicked, terminated_after_panic, dead, nobody, p.mailbox_len())
    })
    .await;
    assert_eq!(got.0, Err(CallError::Exit(t("crashed"))));
    assert_eq!(got.1, Some(t("{terminated, crashed}")));
    assert_eq!(got.2, Err(CallError::Exit(t("{panic, <<\"handle_call panics\">>}"))));
    assert_eq!(got.3, Some(t("{terminated, {panic, <<\"handle_call panics\">>}}")));
    assert_eq!(got.4, Err(CallError::NoProc));
    assert_eq!(got.5, Err(CallError::NoProc));
    assert_eq!(got.6, 0, "no DOWN or reply was left behind");
}

#[tokio::test]
async fn a_call_that_times_out_leaves_no_late_reply() {
    let node = node();
    let server = gen_server::start::<Probe>(&node, plain(), None).await.unwrap();
    let got = within(&node, move |mut p| async move {
        let timed_out = gen_server::call(&mut p, server, t("slow"), Duration::from_millis(50)).await;
        // The reply comes after 300 ms; it must not land in the mailbox.
        tokio::time::sleep(Duration::from_millis(400)).await;
        let left = p.mailbox_len();
        let after = gen_server::call(&mut p, server, t("get"), WAIT).await;
        (timed_out, left, after)
    })
    .await;
    assert_eq!(got, (Err(CallError::Timeout), 0, Ok(t("0"))));
}

#[tokio::test]
async fn a_callback_timeout_delivers_timeout_unless_a_message_comes() {
    let node = node();
    let server = gen_server::start::<Probe>(&node, plain(), None).await.unwrap();
    let got = within(&node, move |mut p| async move {
        let armed = gen_server::call(&mut p, server, t("timeout"), WAIT).await;
        // Well past the 50 ms timeout, even on a loaded machine.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let fired = gen_server::call(&mut p, server, t("get"), WAIT).await;
        gen_server::call(&mut p, server, t("timeout"), WAIT).await.unwrap();
        // A message within the timeout cancels it.
        let cancelled = gen_server::call(&mut p, server, t("incr"), WAIT).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let still = gen_server::call(&mut p, server, t("get"), WAIT).await;
        (armed, fired, cancelled, still)
    })
    .await;
    assert_eq!(got, (Ok(t("armed")), Ok(t("-1")), Ok(t("0")), Ok(t("0"))));
}

#[tokio::test]
async fn stop_runs_terminate_and_a_linked_parent_exit_stops_the_server() {
    let node = node();
    let got = within(&node, move |mut p| async move {
        let me = Some(p.self_pid());
        let server = gen_server::start::<Probe>(p.node(), (me, t("plain")), None).await.unwrap();
        let stopped = gen_server::stop(&mut p, server, t("shutdown"), WAIT).await;
        let terminated = p.recv_timeout(WAIT).await;
        let again = gen_server::stop(&mut p, server, t("shutdown"), WAIT).await;
        // A parent that started a trapping server linked, and exits: the server stops with its reason.
        let watcher = p.self_pid();
        let parent = p
            .spawn(move |p| async move {
                gen_server::start_link::<Probe>(&p, (Some(watcher), t("trap")), None).await.unwrap();
                Err(t("parent_gone"))
            })
            .unwrap();
        let _ = parent;
        let parent_exit = p.recv_timeout(WAIT).await;
        (stopped, terminated, again, parent_exit)
    })
    .await;
    assert_eq!(got.0, Ok(()));
    assert_eq!(got.1, Some(t("{terminated, shutdown}")));
    assert_eq!(got.2, Err(CallError::NoProc));
    assert_eq!(got.3, Some(t("{terminated, parent_gone}")));
}

#[tokio::test]
async fn sys_messages_get_state_status_suspend_and_resume() {
    let node = node();
    let server = gen_server::start::<Probe>(&node, plain(), Some(Atom::new("sys_probe"))).await.unwrap();
    let got = within(&node, move |mut p| async move {
        let sys = |p: &mut erlnode::Process, request: Term| {
            let from = Term::tuple(vec![Term::Pid(p.self_pid()), Term::atom("sys_tag")]);
            p.send(server, Term::tuple(vec![Term::atom("system"), from, request]));
        };
        let answer = |m: Option<Term>| m.and_then(|m| m.as_tuple().map(|t| t[1].clone()));
        gen_server::call(&mut p, server, t("incr"), WAIT).await.unwrap();
        sys(&mut p, t("get_state"));
        let state = answer(p.recv_timeout(WAIT).await);
        sys(&mut p, t("get_status"));
        let status = answer(p.recv_timeout(WAIT).await);
        sys(&mut p, t("suspend"));
        let suspended = answer(p.recv_timeout(WAIT).await);
        let while_suspended = gen_server::call(&mut p, server, t("incr"), Duration::from_millis(100)).await;
        sys(&mut p, t("resume"));
        let resumed = answer(p.recv_timeout(WAIT).await);
        // The call that timed out was kept and handled after resume: the count went to 2, then 3.
        let after = gen_server::call(&mut p, server, t("incr"), WAIT).await;
        (state, status, suspended, while_suspended, resumed, after)
    })
    .await;
    // A caller on the server's own node gets the state in current OTP's shape (26.1+), `{ok, State}`.
    assert_eq!(got.0, Some(t("{ok, {count, 1}}")));
    let status = got.1.unwrap();
    let parts = status.as_tuple().unwrap();
    assert_eq!(parts[0], t("status"));
    assert_eq!(parts[1], Term::Pid(server));
    assert_eq!(parts[2], t("{module, gen_server}"));
    assert!(status.to_string().contains("{count,1}"), "{status}");
    assert_eq!(got.2, Some(t("ok")));
    assert_eq!(got.3, Err(CallError::Timeout));
    assert_eq!(got.4, Some(t("ok")));
    assert_eq!(got.5, Ok(t("3")));
}

#[tokio::test]
async fn typed_calls_go_through_serde() {
    #[derive(serde::Serialize)]
    enum Request {
        #[serde(rename = "incr")]
        Incr,
    }
    let node = node();
    let server = gen_server::start::<Probe>(&node, plain(), None).await.unwrap();
    let got = within(&node, move |mut p| async move {
        let one: i64 = gen_server::call_as(&mut p, server, &Request::Incr, WAIT).await.unwrap();
        let wrong: Result<String, _> = gen_server::call_as(&mut p, server, &Request::Incr, WAIT).await;
        (one, wrong.is_err())
    })
    .await;
    assert_eq!(got, (1, true));
}

#[tokio::test]
async fn a_timeout_outlives_system_messages_and_a_suspended_server_still_obeys_its_parent() {
    let node = node();
    let got = within(&node, move |mut p| async move {
        let server = gen_server::start::<Probe>(p.node(), plain(), None).await.unwrap();
        let from = Term::tuple(vec![Term::Pid(p.self_pid()), Term::atom("sys_tag")]);
        gen_server::call(&mut p, server, t("timeout"), WAIT).await.unwrap();
        p.send(server, Term::tuple(vec![Term::atom("system"), from.clone(), t("get_state")]));
        let state = p.recv_timeout(WAIT).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        // The timeout still fired after the system message: handle_info(timeout) set the count to -1.
        let fired = gen_server::call(&mut p, server, t("get"), WAIT).await;

        // A trapping server whose parent exits while it is suspended stops with the parent's reason.
        let watcher = p.self_pid();
        let (tx, rx) = tokio::sync::oneshot::channel();
        p.spawn(move |parent| async move {
            let child = gen_server::start_link::<Probe>(&parent, (Some(watcher), t("trap")), None).await.unwrap();
            let _ = tx.send(child);
            tokio::time::sleep(Duration::from_millis(100)).await;
            Err(t("parent_gone"))
        })
        .unwrap();
        let child = rx.await.unwrap();
        p.send(child, Term::tuple(vec![Term::atom("system"), from, t("suspend")]));
        let suspended = p.recv_timeout(WAIT).await;
        let terminated = p.recv_timeout(WAIT).await;
        (state, fired, suspended, terminated)
    })
    .await;
    assert_eq!(got.0, Some(t("{sys_tag, {ok, {count, 0}}}")));
    assert_eq!(got.1, Ok(t("-1")));
    assert_eq!(got.2, Some(t("{sys_tag, ok}")));
    assert_eq!(got.3, Some(t("{terminated, parent_gone}")));
}

/// `{replace_state, Fun}` with `fun M:F/1` of a function registered on this node: the server takes what
/// it returns; a refused state or a panic in `replace_state` fails the request, not the server.
#[tokio::test]
async fn replace_state_runs_a_registered_function_and_survives_a_panic() {
    let node = node();
    node.rpc().register("probe_fun", "set", 1, |_| async { Ok(t("{count, 42}")) });
    node.rpc().register("probe_fun", "wrong", 1, |_| async { Ok(t("nonsense")) });
    node.rpc().register("probe_fun", "boom", 1, |_| async { Ok(t("panic")) });
    let server = gen_server::start::<Probe>(&node, plain(), None).await.unwrap();
    let got = within(&node, move |mut p| async move {
        let replace = async |p: &mut erlnode::Process, function: &str| {
            let fun = Term::Export(erlnode_etf::Export::new(Atom::new("probe_fun"), Atom::new(function), 1));
            let from = Term::tuple(vec![Term::Pid(p.self_pid()), Term::atom("sys_tag")]);
            let request = Term::tuple(vec![Term::atom("replace_state"), fun]);
            p.send(server, Term::tuple(vec![Term::atom("system"), from, request]));
            p.recv_timeout(WAIT).await.and_then(|m| m.as_tuple().map(|t| t[1].clone()))
        };
        let set = replace(&mut p, "set").await;
        let wrong = replace(&mut p, "wrong").await;
        let boom = replace(&mut p, "boom").await;
        let after = gen_server::call(&mut p, server, t("get"), WAIT).await;
        (set, wrong, boom, after)
    })
    .await;
    assert_eq!(got.0, Some(t("{ok, {count, 42}}")));
    let failed = |why: &str| {
        Some(t(&format!("{{error, {{callback_failed, {{gen_server, system_replace_state}}, {{error, {why}}}}}}}")))
    };
    assert_eq!(got.1, failed("{not_a_count, nonsense}"));
    let boom = got.2.map(|b| b.to_string()).unwrap_or_default();
    assert!(boom.starts_with("{error,{callback_failed,{gen_server,system_replace_state},{error,"), "{boom}");
    assert!(boom.contains("replace_state panics"), "{boom}");
    assert_eq!(got.3, Ok(Term::from(42)), "the server lives on with the state it took");
}
