//! Supervisors on one node: each strategy and restart type with the exact order of stops and starts,
//! intensity exceeded, shutdown timeouts that escalate to kill, dynamic children, `simple_one_for_one`,
//! and a child that fails to start.

mod common;

use std::time::Duration;

use common::{WAIT, node, t, within};
use erlnode::gen_server::{self, CallResult, Caller, Ctx, Flow, GenServer, InitError, StartError};
use erlnode::supervisor::{self, ChildSpec, Flags, Restart, Shutdown, Start, Strategy};
use erlnode::{Pid, Process, Term};

/// A child that reports `{started, Id}` and `{stopped, Id, Reason}` to the test; `cast({crash, R})`
/// stops it with `R`. Modes: `ok`, `fail` (init fails), `stubborn` (terminate takes 5 s).
struct Worker {
    id: Term,
    watcher: Pid,
    stubborn: bool,
}

impl GenServer for Worker {
    type Args = (Term, Pid, Term);

    async fn init(ctx: &mut Ctx<'_>, (id, watcher, mode): Self::Args) -> Result<Self, InitError> {
        if mode == t("fail") {
            return Err(InitError::Stop(t("cannot_start")));
        }
        ctx.trap_exit(true);
        ctx.send(watcher, Term::tuple(vec![t("started"), id.clone()]));
        Ok(Worker { id, watcher, stubborn: mode == t("stubborn") })
    }

    async fn handle_call(&mut self, ctx: &mut Ctx<'_>, _request: Term, _from: &Caller) -> CallResult {
        CallResult::reply(ctx.self_pid())
    }

    async fn handle_cast(&mut self, _ctx: &mut Ctx<'_>, message: Term) -> Flow {
        match message.as_tuple() {
            Some([_, reason]) => Flow::Stop(reason.clone()),
            _ => Flow::Continue,
        }
    }

    async fn terminate(&mut self, ctx: &mut Ctx<'_>, reason: &Term) {
        if self.stubborn {
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        ctx.send(self.watcher, Term::tuple(vec![t("stopped"), self.id.clone(), reason.clone()]));
    }
}

fn worker(id: &str, watcher: Pid) -> ChildSpec {
    ChildSpec::gen_server::<Worker>(t(id), (t(id), watcher, t("ok")), None)
}

/// The child `id`'s pid, from `which_children`.
async fn pid_of(p: &mut Process, sup: Pid, id: &str) -> Option<Pid> {
    let children = supervisor::which_children(p, sup).await.ok()?.to_list()?;
    children.iter().find_map(|c| match c.as_tuple() {
        Some([cid, Term::Pid(pid), ..]) if *cid == t(id) => Some(*pid),
        _ => None,
    })
}

/// The next `n` messages (events), or fewer if they stop coming.
async fn events(p: &mut Process, n: usize) -> Vec<Term> {
    let mut got = Vec::new();
    for _ in 0..n {
        match p.recv_timeout(WAIT).await {
            Some(m) => got.push(m),
            None => break,
        }
    }
    got
}

/// Nothing more within a short while.
async fn quiet(p: &mut Process) -> Option<Term> {
    p.recv_timeout(Duration::from_millis(100)).await
}

async fn crash_and_watch(strategy: Strategy) -> (Vec<Term>, Vec<Term>, Option<Term>, bool) {
    let node = node();
    within(&node, move |mut p| async move {
        let me = p.self_pid();
        let children = vec![worker("a", me), worker("b", me), worker("c", me)];
        let sup = supervisor::start(p.node(), Flags::new(strategy), children, None).await.expect("the supervisor");
        let started = events(&mut p, 3).await;
        let b = pid_of(&mut p, sup, "b").await.expect("child b");
        gen_server::cast(&p, b, t("{crash, boom}"));
        let n = match strategy {
            Strategy::OneForAll => 6,
            Strategy::RestForOne => 4,
            _ => 2,
        };
        let after = events(&mut p, n).await;
        let more = quiet(&mut p).await;
        let new_b = pid_of(&mut p, sup, "b").await;
        (started, after, more, new_b.is_some_and(|nb| nb != b))
    })
    .await
}

#[tokio::test]
async fn one_for_one_restarts_only_the_child_that_died() {
    let (started, after, more, restarted) = crash_and_watch(Strategy::OneForOne).await;
    assert_eq!(started, vec![t("{started, a}"), t("{started, b}"), t("{started, c}")]);
    assert_eq!(after, vec![t("{stopped, b, boom}"), t("{started, b}")]);
    assert_eq!(more, None);
    assert!(restarted);
}

#[tokio::test]
async fn one_for_all_stops_the_others_in_reverse_and_starts_all_in_order() {
    let (_, after, more, restarted) = crash_and_watch(Strategy::OneForAll).await;
    assert_eq!(
        after,
        vec![
            t("{stopped, b, boom}"),
            t("{stopped, c, shutdown}"),
            t("{stopped, a, shutdown}"),
            t("{started, a}"),
            t("{started, b}"),
            t("{started, c}"),
        ]
    );
    assert_eq!(more, None);
    assert!(restarted);
}

#[tokio::test]
async fn rest_for_one_restarts_the_child_and_those_after_it() {
    let (_, after, more, restarted) = crash_and_watch(Strategy::RestForOne).await;
    assert_eq!(after, vec![t("{stopped, b, boom}"), t("{stopped, c, shutdown}"), t("{started, b}"), t("{started, c}")]);
    assert_eq!(more, None);
    assert!(restarted);
}

#[tokio::test]
async fn transient_and_temporary_children_follow_their_restart_type() {
    let node = node();
    let got = within(&node, move |mut p| async move {
        let me = p.self_pid();
        let children = vec![worker("tr", me).restart(Restart::Transient), worker("te", me).restart(Restart::Temporary)];
        let sup = supervisor::start(p.node(), Flags::new(Strategy::OneForOne).intensity(5, WAIT), children, None)
            .await
            .unwrap();
        events(&mut p, 2).await;
        // A transient child that crashes comes back; one that ends normally does not.
        let target = pid_of(&mut p, sup, "tr").await.unwrap();
        gen_server::cast(&p, target, t("{crash, boom}"));
        let crashed = events(&mut p, 2).await;
        let target = pid_of(&mut p, sup, "tr").await.unwrap();
        gen_server::cast(&p, target, t("{stop, normal}"));
        let normal = events(&mut p, 1).await;
        let normal_more = quiet(&mut p).await;
        // A temporary child never comes back, and its spec goes.
        let target = pid_of(&mut p, sup, "te").await.unwrap();
        gen_server::cast(&p, target, t("{crash, boom}"));
        let temporary = events(&mut p, 1).await;
        let temporary_more = quiet(&mut p).await;
        let which = supervisor::which_children(&mut p, sup).await.unwrap();
        (crashed, normal, normal_more, temporary, temporary_more, which)
    })
    .await;
    assert_eq!(got.0, vec![t("{stopped, tr, boom}"), t("{started, tr}")]);
    assert_eq!(got.1, vec![t("{stopped, tr, normal}")]);
    assert_eq!(got.2, None);
    assert_eq!(got.3, vec![t("{stopped, te, boom}")]);
    assert_eq!(got.4, None);
    assert_eq!(got.5.to_list().map(|l| l.len()), Some(1), "{}", got.5);
    assert!(got.5.to_string().contains("{tr,undefined,worker"), "{}", got.5);
}

#[tokio::test]
async fn too_many_restarts_stop_every_child_in_reverse_and_the_supervisor_with_shutdown() {
    let node = node();
    let got = within(&node, move |mut p| async move {
        let me = p.self_pid();
        let children = vec![worker("a", me), worker("b", me), worker("c", me)];
        let flags = Flags::new(Strategy::OneForOne).intensity(2, Duration::from_secs(10));
        let sup = supervisor::start(p.node(), flags, children, None).await.unwrap();
        let watch = p.monitor(sup);
        events(&mut p, 3).await;
        let mut log = Vec::new();
        for _ in 0..2 {
            let target = pid_of(&mut p, sup, "a").await.unwrap();
            gen_server::cast(&p, target, t("{crash, boom}"));
            log.extend(events(&mut p, 2).await);
        }
        // The third crash within the period is one too many.
        let target = pid_of(&mut p, sup, "a").await.unwrap();
        gen_server::cast(&p, target, t("{crash, boom}"));
        log.extend(events(&mut p, 4).await);
        (log, watch)
    })
    .await;
    let (log, watch) = got;
    assert_eq!(
        log,
        vec![
            t("{stopped, a, boom}"),
            t("{started, a}"),
            t("{stopped, a, boom}"),
            t("{started, a}"),
            t("{stopped, a, boom}"),
            t("{stopped, c, shutdown}"),
            t("{stopped, b, shutdown}"),
            common::down(watch, Term::Pid(log_sup_pid(&log)), t("shutdown")),
        ]
    );
}

/// The supervisor's pid, as the DOWN in `log` names it (the test does not keep it otherwise).
fn log_sup_pid(log: &[Term]) -> Pid {
    log.last().and_then(|m| m.as_tuple().and_then(|t| t[3].as_pid())).expect("a DOWN last")
}

#[tokio::test]
async fn a_child_that_ignores_shutdown_is_killed_after_its_timeout_and_brutal_kill_kills() {
    let node = node();
    let got = within(&node, move |mut p| async move {
        let me = p.self_pid();
        let stubborn = ChildSpec::gen_server::<Worker>(t("s"), (t("s"), me, t("stubborn")), None)
            .shutdown(Shutdown::Timeout(Duration::from_millis(200)));
        let brutal = worker("k", me).shutdown(Shutdown::BrutalKill);
        let sup =
            supervisor::start(p.node(), Flags::new(Strategy::OneForOne), vec![stubborn, brutal], None).await.unwrap();
        events(&mut p, 2).await;
        let s = pid_of(&mut p, sup, "s").await.unwrap();
        let k = pid_of(&mut p, sup, "k").await.unwrap();
        let (ws, wk) = (p.monitor(s), p.monitor(k));
        let stopped_s = supervisor::terminate_child(&mut p, sup, t("s")).await;
        let down_s = p.recv_timeout(WAIT).await;
        let stopped_k = supervisor::terminate_child(&mut p, sup, t("k")).await;
        let down_k = p.recv_timeout(WAIT).await;
        // Neither ran terminate to its end: no {stopped, ...} event.
        let more = quiet(&mut p).await;
        (stopped_s, down_s, ws, s, stopped_k, down_k, wk, k, more)
    })
    .await;
    assert_eq!(got.0, Ok(()));
    assert_eq!(got.1, Some(common::down(got.2, Term::Pid(got.3), t("killed"))));
    assert_eq!(got.4, Ok(()));
    assert_eq!(got.5, Some(common::down(got.6, Term::Pid(got.7), t("killed"))));
    assert_eq!(got.8, None);
}

#[tokio::test]
async fn dynamic_children_start_stop_restart_and_delete() {
    let node = node();
    let got = within(&node, move |mut p| async move {
        let me = p.self_pid();
        let sup =
            supervisor::start(p.node(), Flags::new(Strategy::OneForOne), vec![worker("a", me)], None).await.unwrap();
        events(&mut p, 1).await;
        let mut log = Vec::new();
        let d = supervisor::start_child(&mut p, sup, worker("d", me)).await;
        log.push(format!("start {}", d.as_ref().map(Option::is_some).unwrap_or(false)));
        log.push(format!(
            "again {:?}",
            supervisor::start_child(&mut p, sup, worker("d", me)).await.map_err(|e| e.to_string())
        ));
        log.push(format!("count {}", supervisor::count_children(&mut p, sup).await.unwrap()));
        log.push(format!("delete running {:?}", supervisor::delete_child(&mut p, sup, t("d")).await));
        log.push(format!("terminate {:?}", supervisor::terminate_child(&mut p, sup, t("d")).await));
        log.push(format!("which {}", supervisor::which_children(&mut p, sup).await.unwrap()));
        log.push(format!(
            "restart {}",
            supervisor::restart_child(&mut p, sup, t("d")).await.is_ok_and(|x| x.is_some())
        ));
        log.push(format!("restart running {:?}", supervisor::restart_child(&mut p, sup, t("d")).await));
        supervisor::terminate_child(&mut p, sup, t("d")).await.unwrap();
        log.push(format!("delete {:?}", supervisor::delete_child(&mut p, sup, t("d")).await));
        log.push(format!("missing {:?}", supervisor::terminate_child(&mut p, sup, t("d")).await));
        log.push(format!("spec {}", supervisor::get_childspec(&mut p, sup, t("a")).await.unwrap()));
        let events = events(&mut p, 4).await;
        (d.ok().flatten(), log, events)
    })
    .await;
    let (d, log, events) = got;
    let d = d.unwrap();
    assert_eq!(log[0], "start true");
    assert_eq!(log[1], format!("again Err(\"{{already_started,{d}}}\")"));
    assert_eq!(log[2], "count [{specs,2},{active,2},{supervisors,0},{workers,2}]");
    assert_eq!(log[3], "delete running Err(Atom(running))".replace("Atom(running)", &format!("{:?}", t("running"))));
    assert_eq!(log[4], "terminate Ok(())");
    assert!(log[5].starts_with("which [{d,undefined,worker,"), "{}", log[5]);
    assert_eq!(log[6], "restart true");
    assert_eq!(log[7], format!("restart running Err({:?})", t("running")));
    assert_eq!(log[8], "delete Ok(())");
    assert_eq!(log[9], format!("missing Err({:?})", t("not_found")));
    assert!(log[10].contains("id => a") && log[10].contains("restart => permanent"), "{}", log[10]);
    assert_eq!(
        events,
        vec![t("{started, d}"), t("{stopped, d, shutdown}"), t("{started, d}"), t("{stopped, d, shutdown}")]
    );
}

#[tokio::test]
async fn simple_one_for_one_starts_children_from_a_template_with_arguments() {
    let node = node();
    let got = within(&node, move |mut p| async move {
        let me = p.self_pid();
        let template = ChildSpec::new("tmpl", move |s: Start| async move {
            let id = s.args.first().cloned().unwrap_or_default();
            s.gen_server::<Worker>((id, me, t("ok")), None).await
        });
        let sup =
            supervisor::start(p.node(), Flags::new(Strategy::SimpleOneForOne), vec![template], None).await.unwrap();
        let x = supervisor::start_child_with(&mut p, sup, vec![t("x")]).await.unwrap().unwrap();
        let y = supervisor::start_child_with(&mut p, sup, vec![t("y")]).await.unwrap().unwrap();
        let started = events(&mut p, 2).await;
        let which = supervisor::which_children(&mut p, sup).await.unwrap();
        gen_server::cast(&p, x, t("{crash, boom}"));
        let restarted = events(&mut p, 2).await;
        let stopped = supervisor::terminate_child(&mut p, sup, Term::Pid(y)).await;
        let y_events = events(&mut p, 1).await;
        let count = supervisor::count_children(&mut p, sup).await.unwrap();
        (started, which, restarted, stopped, y_events, count, y)
    })
    .await;
    assert_eq!(got.0, vec![t("{started, x}"), t("{started, y}")]);
    assert!(got.1.to_string().starts_with(&format!("[{{undefined,{},worker,", got.6)), "{}", got.1);
    assert_eq!(got.2, vec![t("{stopped, x, boom}"), t("{started, x}")]);
    assert_eq!(got.3, Ok(()));
    assert_eq!(got.4, vec![t("{stopped, y, shutdown}")]);
    assert_eq!(got.5, t("[{specs, 1}, {active, 1}, {supervisors, 0}, {workers, 1}]"));
}

#[tokio::test]
async fn a_child_that_fails_to_start_fails_the_supervisor_after_stopping_the_others() {
    let node = node();
    let got = within(&node, move |mut p| async move {
        let me = p.self_pid();
        let bad = ChildSpec::gen_server::<Worker>(t("bad"), (t("bad"), me, t("fail")), None);
        let children = vec![worker("a", me), bad, worker("c", me)];
        let result = supervisor::start(p.node(), Flags::new(Strategy::OneForOne), children, None).await;
        (result, events(&mut p, 2).await, quiet(&mut p).await)
    })
    .await;
    assert_eq!(got.0, Err(StartError::Init(t("{shutdown, {failed_to_start_child, bad, cannot_start}}"))));
    assert_eq!(got.1, vec![t("{started, a}"), t("{stopped, a, shutdown}")]);
    assert_eq!(got.2, None);
}

#[tokio::test]
async fn one_for_all_drops_temporary_children_and_a_failing_restart_is_tried_again_until_intensity() {
    let node = node();
    let got = within(&node, move |mut p| async move {
        let me = p.self_pid();
        let children = vec![worker("a", me), worker("t", me).restart(Restart::Temporary), worker("c", me)];
        let flags = Flags::new(Strategy::OneForAll).intensity(3, Duration::from_secs(10));
        let sup = supervisor::start(p.node(), flags, children, None).await.unwrap();
        events(&mut p, 3).await;
        let target = pid_of(&mut p, sup, "c").await.unwrap();
        gen_server::cast(&p, target, t("{crash, boom}"));
        let restart = events(&mut p, 5).await;
        let which = supervisor::which_children(&mut p, sup).await.unwrap();
        (restart, which)
    })
    .await;
    // t was stopped for c's sake and, being temporary, not started again (and its spec is gone).
    assert_eq!(
        got.0,
        vec![
            t("{stopped, c, boom}"),
            t("{stopped, t, shutdown}"),
            t("{stopped, a, shutdown}"),
            t("{started, a}"),
            t("{started, c}")
        ]
    );
    assert_eq!(got.1.to_list().map(|l| l.len()), Some(2), "{}", got.1);

    // A child whose restart keeps failing: the supervisor tries again (answering calls meanwhile) until
    // its intensity is spent, then stops with shutdown.
    let got = within(&node, move |mut p| async move {
        let me = p.self_pid();
        let starts = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let flaky = ChildSpec::new(t("flaky"), move |s: Start| {
            let starts = std::sync::Arc::clone(&starts);
            async move {
                // The first start works; every later one fails.
                if starts.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                    s.gen_server::<Worker>((t("flaky"), me, t("ok")), None).await
                } else {
                    Err(t("cannot_restart"))
                }
            }
        });
        let flags = Flags::new(Strategy::OneForOne).intensity(3, Duration::from_secs(10));
        let sup = supervisor::start(p.node(), flags, vec![flaky], None).await.unwrap();
        let watch = p.monitor(sup);
        events(&mut p, 1).await;
        let target = pid_of(&mut p, sup, "flaky").await.unwrap();
        gen_server::cast(&p, target, t("{crash, boom}"));
        let log = events(&mut p, 2).await;
        (log, watch, sup)
    })
    .await;
    assert_eq!(got.0[0], t("{stopped, flaky, boom}"));
    assert_eq!(got.0[1], common::down(got.1, Term::Pid(got.2), t("shutdown")));
}

#[tokio::test]
async fn a_simple_one_for_one_supervisor_stops_its_children_all_at_once() {
    let node = node();
    let reasons = within(&node, move |mut p| async move {
        let me = p.self_pid();
        // Each child, told to shut down, says so and waits for `go`: stopped one after another, the first
        // would wait for ever and be killed when its shutdown time is up.
        let template = ChildSpec::new("tmpl", move |s: Start| async move {
            let id = s.args.first().cloned().unwrap_or_default();
            s.spawn_link(move |mut c| async move {
                c.trap_exit(true);
                loop {
                    let message = c.recv().await;
                    if matches!(message.as_tuple(), Some([_, _, reason]) if *reason == t("shutdown")) {
                        c.send(me, Term::tuple(vec![t("stopping"), id.clone()]));
                        let go = t("go");
                        c.recv_match_timeout(|m| *m == go, WAIT).await;
                        return Err(t("shutdown"));
                    }
                }
            })
        })
        .shutdown(Shutdown::Timeout(Duration::from_secs(1)));
        let sup =
            supervisor::start(p.node(), Flags::new(Strategy::SimpleOneForOne), vec![template], None).await.unwrap();
        let mut monitors = Vec::new();
        for id in ["a", "b", "c"] {
            let pid = supervisor::start_child_with(&mut p, sup, vec![t(id)]).await.unwrap().unwrap();
            monitors.push((pid, p.monitor(pid)));
        }
        // gen_server:stop waits for the children, which wait for this process: another one asks.
        p.spawn(move |mut q| async move {
            let _ = gen_server::stop(&mut q, sup, t("shutdown"), WAIT).await;
            Ok(())
        })
        .unwrap();
        let mut stopping = Vec::new();
        for _ in 0..3 {
            let m =
                p.recv_match_timeout(|m| matches!(m.as_tuple(), Some([tag, _]) if *tag == t("stopping")), WAIT).await;
            stopping.push(m);
        }
        for (pid, _) in &monitors {
            p.send(*pid, t("go"));
        }
        let mut reasons = Vec::new();
        for (_, monitor) in monitors {
            reasons.push(common::down_reason(&mut p, monitor).await);
        }
        (stopping.iter().all(Option::is_some), reasons)
    })
    .await;
    assert_eq!(reasons, (true, vec![t("shutdown"), t("shutdown"), t("shutdown")]));
}

/// A transient child that ends `normal` when sent `done`, reporting its start.
fn ending(id: &str, watcher: Pid) -> ChildSpec {
    let name = t(id);
    ChildSpec::new(t(id), move |s: Start| {
        let name = name.clone();
        async move {
            s.spawn_link(move |mut c| async move {
                c.send(watcher, Term::tuple(vec![t("started"), name]));
                let done = t("done");
                c.recv_match(|m| *m == done).await;
                Ok(())
            })
        }
    })
    .restart(Restart::Transient)
    .significant(true)
}

#[tokio::test]
async fn significant_children_that_end_shut_the_supervisor_down_as_auto_shutdown_says() {
    use erlnode::supervisor::AutoShutdown;
    let node = node();
    let got = within(&node, move |mut p| async move {
        let me = p.self_pid();
        // any_significant: the first significant child that ends stops the others and the supervisor.
        let children = vec![worker("a", me), ending("b", me)];
        let flags = Flags::new(Strategy::OneForOne).auto_shutdown(AutoShutdown::AnySignificant);
        let sup = supervisor::start(p.node(), flags, children, None).await.unwrap();
        let monitor = p.monitor(sup);
        let started = events(&mut p, 2).await;
        let b = pid_of(&mut p, sup, "b").await.unwrap();
        p.send(b, t("done"));
        let any = (started, events(&mut p, 1).await, common::down_reason(&mut p, monitor).await);

        // all_significant: only once every significant child has ended.
        let children = vec![ending("c", me), ending("d", me)];
        let flags = Flags::new(Strategy::OneForOne).auto_shutdown(AutoShutdown::AllSignificant);
        let sup = supervisor::start(p.node(), flags, children, None).await.unwrap();
        let monitor = p.monitor(sup);
        events(&mut p, 2).await;
        let (c, d) = (pid_of(&mut p, sup, "c").await.unwrap(), pid_of(&mut p, sup, "d").await.unwrap());
        let c_monitor = p.monitor(c);
        p.send(c, t("done"));
        // Its end reaches the supervisor (through the link) before this process's DOWN.
        common::down_reason(&mut p, c_monitor).await;
        let after_one = supervisor::count_children(&mut p, sup).await;
        p.send(d, t("done"));
        let all = (after_one, common::down_reason(&mut p, monitor).await);

        // OTP's combinations: significant needs auto_shutdown, and is never permanent.
        let refused = supervisor::start(p.node(), Flags::new(Strategy::OneForOne), vec![ending("e", me)], None).await;
        let permanent = ending("f", me).restart(Restart::Permanent);
        let flags = Flags::new(Strategy::OneForOne).auto_shutdown(AutoShutdown::AnySignificant);
        let refused_permanent = supervisor::start(p.node(), flags, vec![permanent], None).await;
        (any, all, refused.err(), refused_permanent.err())
    })
    .await;
    let (any, all, refused, refused_permanent) = got;
    assert_eq!(any, (vec![t("{started, a}"), t("{started, b}")], vec![t("{stopped, a, shutdown}")], t("shutdown")));
    // A transient child that ended normally keeps its spec.
    assert_eq!(all.0, Ok(t("[{specs, 2}, {active, 1}, {supervisors, 0}, {workers, 2}]")));
    assert_eq!(all.1, t("shutdown"));
    let start_spec = |conflict: &str| {
        StartError::Init(t(&format!("{{start_spec, {{bad_combination, [{conflict}, {{significant, true}}]}}}}")))
    };
    assert_eq!(refused, Some(start_spec("{auto_shutdown, never}")));
    assert_eq!(refused_permanent, Some(start_spec("{restart, permanent}")));
}

#[tokio::test]
async fn a_crashed_significant_child_restarts_and_one_stopped_by_the_supervisor_does_not_count() {
    use erlnode::supervisor::AutoShutdown;
    let node = node();
    let got = within(&node, move |mut p| async move {
        let me = p.self_pid();
        let flags = Flags::new(Strategy::OneForOne).auto_shutdown(AutoShutdown::AnySignificant);
        let sup = supervisor::start(p.node(), flags, vec![ending("a", me), ending("b", me)], None).await.unwrap();
        let monitor = p.monitor(sup);
        events(&mut p, 2).await;
        // A transient child that crashes is restarted: the restart comes first.
        let a = pid_of(&mut p, sup, "a").await.unwrap();
        p.exit(a, t("boom"));
        let restarted = events(&mut p, 1).await;
        // A significant child the supervisor stops does not shut it down.
        let stopped = supervisor::terminate_child(&mut p, sup, t("b")).await;
        let alive = supervisor::count_children(&mut p, sup).await;
        p.demonitor(monitor);
        // OTP checks a simple_one_for_one template too.
        let template = ending("tmpl", me).restart(Restart::Permanent);
        let flags = Flags::new(Strategy::SimpleOneForOne).auto_shutdown(AutoShutdown::AnySignificant);
        let refused = supervisor::start(p.node(), flags, vec![template], None).await.err();
        (restarted, stopped, alive, refused)
    })
    .await;
    assert_eq!(got.0, vec![t("{started, a}")]);
    assert_eq!(got.1, Ok(()));
    assert_eq!(got.2, Ok(t("[{specs, 2}, {active, 1}, {supervisors, 0}, {workers, 2}]")));
    let conflict = "{start_spec, {bad_combination, [{restart, permanent}, {significant, true}]}}";
    assert_eq!(got.3, Some(StartError::Init(t(conflict))));
}
