//! erlnode's local process semantics against real Erlang's, scenario by scenario.
//!
//! `tests/erlang/semantics.erl` runs a list of scenarios (links, exit signals, monitors, names, aliases,
//! timers) in a fresh `erl`, each in its own observer process, and prints what each observer saw: the
//! messages it received in order, what the built-ins it called returned or raised, and the exit reasons its
//! monitors reported. This test runs the same scenarios in erlnode, one fresh node each, records the same
//! events, and requires both to be equal, scenario by scenario.
//!
//! Both sides normalize their results the same way before comparing: each pid becomes `{pid, N}` and each
//! reference `{ref, N}`, numbered in order of first appearance within the scenario, and the node's own name
//! becomes the atom `node`. The scenarios are sequenced with monitors, acknowledgement messages and markers
//! (a message a process sends itself: when it is the next one received, nothing else was in the mailbox),
//! not with sleeps, so both results are deterministic.
//!
//! Without Erlang/OTP (`erl`, `erlc`, `epmd`) on `PATH` the test prints "skipped" and passes, unless `CI=true`.

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::time::Duration;

use erlnode::{Atom, ExitResult, MonitorTarget, Node, Pid, Process, Ref, Term, exit};
use erlnode_erltest::{Erlang, TempDir};

const MODULE_SOURCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/erlang/semantics.erl");

/// How long an observer waits for a message it expects (`?WAIT` in the Erlang module).
const WAIT: Duration = Duration::from_secs(2);

/// How long a whole scenario may take (`?SCENARIO_TIMEOUT` in the Erlang module).
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(10);

/// The name of the node each scenario runs on.
const NODE_NAME: &str = "semantics@localhost";

// ---------------------------------------------------------------------------------------------------------
// The test.

#[tokio::test]
async fn local_semantics_match_erlang() {
    const TEST: &str = "local_semantics_match_erlang";
    let Some(erlang) = Erlang::find(TEST) else { return };
    let erlang_side = tokio::task::spawn_blocking(move || {
        let dir = TempDir::new("erlnode-semantics");
        erlang.compile(Path::new(MODULE_SOURCE), &dir);
        let output = erlang.run(&dir, "semantics", "semantics", "main", &[]);
        output.assert_success("erl -run semantics main");
        output.stdout
    });

    let mut ours = Vec::new();
    for name in NAMES {
        ours.push(run(name).await);
    }

    let stdout = match erlang_side.await {
        Ok(stdout) => stdout,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("the Erlang side did not finish: {e}"),
    };
    let theirs = erlang_results(&stdout);
    let their_names: Vec<&str> = theirs.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(their_names, NAMES, "the Erlang module and this test list different scenarios");

    let mut disagreements = Vec::new();
    for ((name, erlang), ours) in theirs.iter().zip(&ours) {
        if erlang != ours {
            disagreements.push(format!("scenario {name}:\n  erlang:  {erlang}\n  erlnode: {ours}"));
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} of {} scenarios disagree with Erlang:\n{}",
        disagreements.len(),
        NAMES.len(),
        disagreements.join("\n")
    );
}

/// The `{Scenario, Result}` lines `erl` printed, as names and results.
fn erlang_results(stdout: &str) -> Vec<(String, Term)> {
    let lines = Term::parse_all(stdout).unwrap_or_else(|e| panic!("cannot read erl's output: {e}\n{stdout}"));
    lines
        .iter()
        .map(|line| match line.as_tuple() {
            Some([name, result]) => match name.as_atom() {
                Some(name) => (name.as_str().to_owned(), result.clone()),
                None => panic!("erl printed a scenario name that is not an atom: {line}"),
            },
            _ => panic!("erl printed {line}, not {{Scenario, Result}}"),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------------------
// Running a scenario, and what it records with.

/// The observer of a scenario: its process and the events recorded so far.
struct Obs {
    p: Process,
    events: Vec<Term>,
}

/// Runs the scenario `name` in a fresh observer on a fresh node: the normalized list of its events,
/// `{crashed, Reason}` when the observer ended before finishing, or `timeout`.
async fn run(name: &'static str) -> Term {
    let node = Node::new(NODE_NAME, 1).expect("a valid node name");
    let (tx, rx) = tokio::sync::oneshot::channel();
    // A driver process, so that the observer's end is seen through a monitor as in Erlang.
    node.spawn(move |mut driver| async move {
        let (events_tx, events_rx) = tokio::sync::oneshot::channel();
        let (_, monitor) = driver.spawn_monitor(move |p| async move {
            let mut o = Obs { p, events: Vec::new() };
            scenario(name, &mut o).await;
            events_tx.send(o.events).ok();
            Ok(())
        })?;
        let outcome = match events_rx.await {
            Ok(events) => Term::list(events),
            Err(_) => {
                let down = driver.recv_match(|m| is_down_of(m, monitor)).await;
                let reason = down.as_tuple().map(|d| d[4].clone()).unwrap_or_default();
                tuple([atom("crashed"), reason])
            }
        };
        tx.send(outcome).ok();
        Ok(())
    })
    .expect("spawn the driver");
    let outcome = match tokio::time::timeout(SCENARIO_TIMEOUT, rx).await {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(_)) => tuple([atom("crashed"), atom("driver")]),
        Err(_) => atom("timeout"),
    };
    normalize(&outcome, node.name(), &mut Numbering::default())
}

impl Obs {
    /// Records an event.
    fn event(&mut self, event: Term) {
        self.events.push(event);
    }

    /// Records `{Tag, Value}` (what a built-in returned, or `{error, Reason}`); returns `value`.
    fn record<T: Clone + Into<Term>>(&mut self, tag: &str, value: T) -> T {
        self.event(tuple([atom(tag), value.clone().into()]));
        value
    }

    /// This process's pid.
    fn me(&self) -> Pid {
        self.p.self_pid()
    }

    /// Sets trap_exit, recording the old value.
    fn trap(&mut self, flag: bool) {
        let old = self.p.trap_exit(flag);
        self.record("trap_exit", old);
    }

    /// The next message, recorded.
    async fn next(&mut self) -> Term {
        self.next_matching(|_| true).await
    }

    /// The next message for which `matches` is true, recorded.
    async fn next_matching(&mut self, matches: impl FnMut(&Term) -> bool) -> Term {
        let message = self.p.recv_match_timeout(matches, WAIT).await.unwrap_or_else(|| atom("timeout"));
        self.event(tuple([atom("recv"), message.clone()]));
        message
    }

    /// The next DOWN of `monitor`, recorded.
    async fn next_down(&mut self, monitor: Ref) -> Term {
        self.next_matching(|m| is_down_of(m, monitor)).await
    }

    /// The next `{'EXIT', From, _}`, recorded.
    async fn next_exit(&mut self, from: Pid) -> Term {
        self.next_matching(
            |m| matches!(m.as_tuple(), Some([tag, f, _]) if *tag == atom("EXIT") && f.as_pid() == Some(from)),
        )
        .await
    }

    /// Sends itself `marker` and records the next message: `marker` when nothing else was in the mailbox.
    async fn marker(&mut self) -> Term {
        self.p.send(self.me(), atom("marker"));
        self.next().await
    }

    /// Spawns `body` with a monitor, recording `{spawn_monitor, Pid, Ref}`.
    fn spawn_monitor<F, Fut>(&mut self, body: F) -> (Pid, Ref)
    where
        F: FnOnce(Process) -> Fut + Send + 'static,
        Fut: Future<Output = ExitResult> + Send + 'static,
    {
        let (pid, monitor) = self.p.spawn_monitor(body).expect("spawn_monitor");
        self.event(tuple([atom("spawn_monitor"), Term::Pid(pid), Term::Ref(monitor)]));
        (pid, monitor)
    }

    /// A process that has ended: spawned with a monitor, its DOWN received and recorded.
    async fn dead(&mut self) -> Pid {
        let (pid, monitor) = self.p.spawn_monitor(|_| async { Ok(()) }).expect("spawn_monitor");
        self.next_down(monitor).await;
        pid
    }

    /// Waits until the mailbox holds at least `n` messages.
    async fn wait_mailbox(&mut self, n: usize) {
        while self.p.mailbox_len() < n {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Ends the processes `pids` and waits for their ends, recording nothing.
    async fn stop(&mut self, pids: &[Pid]) {
        for &pid in pids {
            let monitor = self.p.monitor(pid);
            self.p.exit(pid, exit::kill());
            self.p.recv_match(|m| is_down_of(m, monitor)).await;
        }
    }

    /// `link(Pid)`, recorded.
    fn link(&mut self, pid: Pid) {
        let result = bif(self.p.link(pid));
        self.record("link", result);
    }

    /// `unlink(Pid)`, recorded (it always returns true).
    fn unlink(&mut self, pid: Pid) {
        self.p.unlink(pid);
        self.record("unlink", true);
    }

    /// `monitor(process, Target)`, recorded.
    fn monitor(&mut self, target: impl Into<MonitorTarget>) -> Ref {
        let monitor = self.p.monitor(target);
        self.record("monitor", monitor)
    }

    /// `demonitor(Ref, [info])`, recorded.
    fn demonitor(&mut self, monitor: Ref) {
        let active = self.p.demonitor(monitor);
        self.record("demonitor", active);
    }

    /// `exit(Pid, Reason)`, recorded (it always returns true).
    fn exit(&mut self, pid: Pid, reason: Term) {
        self.p.exit(pid, reason);
        self.record("exit", true);
    }

    /// `is_process_alive(Pid)`, recorded.
    fn is_alive(&mut self, pid: Pid) {
        let alive = self.p.node().is_alive(pid);
        self.record("is_process_alive", alive);
    }

    /// `register(Name, Pid)`, recorded.
    fn register(&mut self, name: &str, pid: Pid) {
        let result = bif(self.p.node().register(Atom::new(name), pid));
        self.record("register", result);
    }

    /// `unregister(Name)`, recorded.
    fn unregister(&mut self, name: &str) {
        let result = bif(self.p.node().unregister(Atom::new(name)));
        self.record("unregister", result);
    }

    /// `whereis(Name)`, recorded.
    fn whereis(&mut self, name: &str) {
        let pid = self.p.node().whereis(Atom::new(name)).map_or_else(|| atom("undefined"), Term::Pid);
        self.record("whereis", pid);
    }

    /// `Name ! Message`, recorded: the message, or `{error, badarg}`.
    fn send_named(&mut self, name: &str, message: Term) {
        let result = match self.p.send_named(Atom::new(name), message.clone()) {
            Ok(()) => message,
            Err(e) => Term::error(e.into()),
        };
        self.record("send", result);
    }

    /// `erlang:send_after(Ms, Pid, Message)`, recorded.
    fn send_after(&mut self, ms: u64, to: Pid, message: Term) -> Ref {
        let timer = self.p.send_after(Duration::from_millis(ms), to, message);
        self.record("send_after", timer)
    }

    /// `erlang:cancel_timer(Ref)`, recorded: the milliseconds left, or `false`.
    fn cancel_timer(&mut self, timer: Ref) {
        let left = time_left(self.p.cancel_timer(timer));
        self.record("cancel_timer", left);
    }

    /// `erlang:read_timer(Ref)`, recorded: the milliseconds left, or `false`.
    fn read_timer(&mut self, timer: Ref) {
        let left = time_left(self.p.node().read_timer(timer));
        self.record("read_timer", left);
    }
}

/// The atom `name`.
fn atom(name: &str) -> Term {
    Term::atom(name)
}

/// A tuple.
fn tuple<const N: usize>(elements: [Term; N]) -> Term {
    Term::tuple(elements.to_vec())
}

/// What an Erlang built-in that returns `true` gives: `true`, or `{error, Reason}` for what it raises.
fn bif<E: Into<Term>>(result: Result<(), E>) -> Term {
    match result {
        Ok(()) => Term::bool(true),
        Err(e) => Term::error(e.into()),
    }
}

/// A timer's time left as `cancel_timer` and `read_timer` return it: milliseconds, or `false`.
fn time_left(left: Option<Duration>) -> Term {
    left.map_or_else(|| Term::bool(false), |left| Term::from(left.as_millis()))
}

/// `true` for `{'DOWN', Monitor, _, _, _}`.
fn is_down_of(message: &Term, monitor: Ref) -> bool {
    matches!(message.as_tuple(), Some([tag, m, _, _, _]) if *tag == atom("DOWN") && m.as_ref() == Some(&monitor))
}

/// Waits for the atom `what` (`receive What -> ... end`).
async fn receive(p: &mut Process, what: &str) {
    let what = atom(what);
    p.recv_match(|m| *m == what).await;
}

/// `fun() -> receive What -> exit(Reason) end end`.
async fn until(mut p: Process, what: &'static str, reason: &'static str) -> ExitResult {
    receive(&mut p, what).await;
    exit_with(reason)
}

/// `exit(Reason)`: `normal` is the ordinary end.
fn exit_with(reason: &str) -> ExitResult {
    if reason == "normal" { Ok(()) } else { Err(atom(reason)) }
}

/// `receive stop -> ok after 200 -> exit(still_alive) end`: for a process that should have ended already.
async fn still_alive(p: &mut Process) -> ExitResult {
    let stop = atom("stop");
    match p.recv_match_timeout(|m| *m == stop, Duration::from_millis(200)).await {
        Some(_) => Ok(()),
        None => Err(atom("still_alive")),
    }
}

// ---------------------------------------------------------------------------------------------------------
// Normalizing.

/// The pids and references seen so far in one scenario, with their numbers.
#[derive(Default)]
struct Numbering {
    pids: HashMap<Pid, usize>,
    refs: HashMap<Ref, usize>,
}

/// `term` with each pid replaced by `{pid, N}`, each reference by `{ref, N}` (numbered in order of first
/// appearance, left to right) and the node's name by the atom `node`.
fn normalize(term: &Term, node: Atom, seen: &mut Numbering) -> Term {
    fn number<K: std::hash::Hash + Eq>(kind: &str, key: K, seen: &mut HashMap<K, usize>) -> Term {
        let next = seen.len() + 1;
        let n = *seen.entry(key).or_insert(next);
        tuple([atom(kind), Term::from(n)])
    }
    match term {
        Term::Pid(pid) => number("pid", *pid, &mut seen.pids),
        Term::Ref(r) => number("ref", *r, &mut seen.refs),
        Term::Atom(a) if *a == node => atom("node"),
        Term::Tuple(elements) => Term::Tuple(elements.iter().map(|e| normalize(e, node, seen)).collect()),
        Term::List(elements) => Term::List(elements.iter().map(|e| normalize(e, node, seen)).collect()),
        Term::Improper(elements, tail) => {
            let elements = elements.iter().map(|e| normalize(e, node, seen)).collect();
            Term::improper(elements, normalize(tail, node, seen))
        }
        other => other.clone(),
    }
}

// ---------------------------------------------------------------------------------------------------------
// The scenarios: each mirrors the clause of the same name in semantics.erl.

/// Lists the scenarios in the order `erl` prints them, and dispatches on their names.
macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        const NAMES: &[&str] = &[$(stringify!($name)),*];

        async fn scenario(name: &str, o: &mut Obs) {
            match name {
                $(stringify!($name) => $name(o).await,)*
                other => panic!("no scenario {other}"),
            }
        }
    };
}

scenarios![
    link_dead_trapping,
    link_dead_not_trapping,
    link_self,
    link_twice,
    link_then_exit_trapping,
    monitor_dead_pid,
    monitor_unregistered_name,
    monitor_registered_name,
    monitor_name_follows_process,
    monitor_twice,
    exit_normal_not_trapping,
    exit_reason_not_trapping,
    exit_kill_trapping,
    exit_kill_then_is_process_alive,
    exit_reason_to_trapping,
    exit_normal_to_trapping,
    exit_self_normal_trapping,
    exit_self_normal_not_trapping,
    exit_self_kill_trapping,
    linked_chain,
    linked_normal_exit_trapping,
    linked_normal_exit_not_trapping,
    linked_crash_not_trapping,
    linked_own_exit_kill_trapping,
    linked_own_exit_kill_not_trapping,
    linked_killed_trapping,
    unlink_then_exit,
    unlink_after_exit_message,
    register_taken_name,
    register_second_name,
    register_dead_pid,
    register_undefined,
    unregister_unknown,
    unregister_then_register_again,
    whereis_after_exit,
    send_named,
    send_to_dead_pid,
    demonitor_flush_after_down,
    demonitor_after_down,
    demonitor_active,
    demonitor_flush_active,
    alias_then_unalias,
    alias_reply,
    alias_from_another_process,
    unalias_of_another_process,
    spawn_monitor_normal,
    spawn_monitor_exit_reason,
    spawn_monitor_own_exit_kill,
    timer_fires,
    cancel_timer_before_fire,
    timer_to_dead_pid,
];

async fn link_dead_trapping(o: &mut Obs) {
    o.trap(true);
    let p = o.dead().await;
    o.link(p);
    o.next().await;
}

async fn link_dead_not_trapping(o: &mut Obs) {
    let p = o.dead().await;
    o.link(p);
    o.marker().await;
}

async fn link_self(o: &mut Obs) {
    o.link(o.me());
    o.marker().await;
}

async fn link_twice(o: &mut Obs) {
    // Two link calls make one link: one exit message.
    o.trap(true);
    let p = o.p.spawn(|p| until(p, "go", "bye")).expect("spawn");
    o.link(p);
    o.link(p);
    o.p.send(p, atom("go"));
    o.next().await;
    o.marker().await;
}

async fn link_then_exit_trapping(o: &mut Obs) {
    o.trap(true);
    let p = o.p.spawn(|p| until(p, "go", "bye")).expect("spawn");
    o.link(p);
    o.p.send(p, atom("go"));
    o.next().await;
}

async fn monitor_dead_pid(o: &mut Obs) {
    let p = o.dead().await;
    o.monitor(p);
    o.next().await;
}

async fn monitor_unregistered_name(o: &mut Obs) {
    o.monitor(Atom::new("sem_nobody"));
    o.next().await;
}

async fn monitor_registered_name(o: &mut Obs) {
    let p = o.p.spawn(|p| until(p, "go", "bye")).expect("spawn");
    o.register("sem_watched", p);
    o.monitor(Atom::new("sem_watched"));
    o.p.send(p, atom("go"));
    o.next().await;
    o.whereis("sem_watched");
    o.monitor(Atom::new("sem_watched"));
    o.next().await;
}

async fn monitor_name_follows_process(o: &mut Obs) {
    // The monitor follows the process that held the name, and its DOWN still names {Name, Node}.
    let p = o.p.spawn(|p| until(p, "go", "bye")).expect("spawn");
    o.register("sem_follow", p);
    o.monitor(Atom::new("sem_follow"));
    o.unregister("sem_follow");
    o.p.send(p, atom("go"));
    o.next().await;
}

async fn monitor_twice(o: &mut Obs) {
    // Two monitors on one process: two DOWN messages.
    let p = o.p.spawn(|p| until(p, "go", "bye")).expect("spawn");
    let r1 = o.monitor(p);
    let r2 = o.monitor(p);
    o.p.send(p, atom("go"));
    o.next_down(r1).await;
    o.next_down(r2).await;
    o.marker().await;
}

async fn exit_normal_not_trapping(o: &mut Obs) {
    let p = o.p.spawn(|p| until(p, "stop", "normal")).expect("spawn");
    o.monitor(p);
    o.exit(p, exit::normal());
    o.is_alive(p);
    o.p.send(p, atom("stop"));
    o.next().await;
}

async fn exit_reason_not_trapping(o: &mut Obs) {
    let p = o.p.spawn(|p| until(p, "stop", "normal")).expect("spawn");
    o.monitor(p);
    o.exit(p, atom("foo"));
    o.next().await;
}

async fn exit_kill_trapping(o: &mut Obs) {
    let me = o.me();
    let p =
        o.p.spawn(move |mut p| async move {
            p.trap_exit(true);
            p.send(me, atom("ready"));
            receive(&mut p, "stop").await;
            Ok(())
        })
        .expect("spawn");
    o.next().await;
    o.monitor(p);
    o.exit(p, exit::kill());
    o.next().await;
}

async fn exit_kill_then_is_process_alive(o: &mut Obs) {
    // Signals from the caller reach the target before is_process_alive/1 looks at it.
    let p = o.p.spawn(|p| until(p, "stop", "normal")).expect("spawn");
    o.monitor(p);
    o.exit(p, exit::kill());
    o.is_alive(p);
    o.next().await;
}

async fn exit_reason_to_trapping(o: &mut Obs) {
    let me = o.me();
    let p =
        o.p.spawn(move |mut p| async move {
            p.trap_exit(true);
            p.send(me, atom("ready"));
            let m = p.recv().await;
            p.send(me, tuple([atom("got"), m]));
            Ok(())
        })
        .expect("spawn");
    o.next().await;
    o.monitor(p);
    o.exit(p, atom("foo"));
    o.next().await;
    o.next().await;
}

async fn exit_normal_to_trapping(o: &mut Obs) {
    let me = o.me();
    let p =
        o.p.spawn(move |mut p| async move {
            p.trap_exit(true);
            p.send(me, atom("ready"));
            let m = p.recv().await;
            p.send(me, tuple([atom("got"), m]));
            Ok(())
        })
        .expect("spawn");
    o.next().await;
    o.exit(p, exit::normal());
    o.next().await;
}

async fn exit_self_normal_trapping(o: &mut Obs) {
    o.trap(true);
    o.exit(o.me(), exit::normal());
    o.next().await;
}

async fn exit_self_normal_not_trapping(o: &mut Obs) {
    o.spawn_monitor(|mut p| async move {
        p.exit(p.self_pid(), exit::normal());
        still_alive(&mut p).await
    });
    o.next().await;
}

async fn exit_self_kill_trapping(o: &mut Obs) {
    o.spawn_monitor(|mut p| async move {
        p.trap_exit(true);
        p.exit(p.self_pid(), exit::kill());
        still_alive(&mut p).await
    });
    o.next().await;
}

async fn linked_chain(o: &mut Obs) {
    // observer <-> B <-> C; C exits with boom, which kills B, which the observer traps.
    o.trap(true);
    let me = o.me();
    let b =
        o.p.spawn_link(move |mut b| async move {
            let c = b.spawn_link(|c| until(c, "go", "boom"))?;
            b.send(me, tuple([atom("c"), Term::Pid(c)]));
            receive(&mut b, "stop").await;
            Ok(())
        })
        .expect("spawn_link");
    let c = o.next().await.as_tuple().and_then(|m| m.get(1)?.as_pid()).expect("{c, C}");
    let rb = o.monitor(b);
    let rc = o.monitor(c);
    o.p.send(c, atom("go"));
    o.next_down(rc).await;
    o.next_exit(b).await;
    o.next_down(rb).await;
    o.marker().await;
}

async fn linked_normal_exit_trapping(o: &mut Obs) {
    o.trap(true);
    let p = o.p.spawn_link(|p| until(p, "go", "normal")).expect("spawn_link");
    o.p.send(p, atom("go"));
    o.next().await;
}

async fn linked_normal_exit_not_trapping(o: &mut Obs) {
    // M, which does not trap exits, outlives C, its linked child, which ends normally.
    let me = o.me();
    let (m, _) = o.spawn_monitor(move |mut m| async move {
        let c = m.spawn_link(|c| until(c, "go", "normal"))?;
        let rc = m.monitor(c);
        m.send(c, atom("go"));
        let down = m.recv_match(|msg| is_down_of(msg, rc)).await;
        let reason = down.as_tuple().map(|d| d[4].clone()).unwrap_or_default();
        m.send(me, tuple([atom("c_down"), Term::Pid(c), reason]));
        receive(&mut m, "stop").await;
        Ok(())
    });
    o.next().await;
    o.is_alive(m);
    o.p.send(m, atom("stop"));
    o.next().await;
}

async fn linked_crash_not_trapping(o: &mut Obs) {
    o.spawn_monitor(|mut m| async move {
        m.spawn_link(|_| async { Err(atom("boom")) })?;
        receive(&mut m, "stop").await;
        Ok(())
    });
    o.next().await;
}

async fn linked_own_exit_kill_trapping(o: &mut Obs) {
    // A linked process that exits with reason kill: its link carries kill, an ordinary reason.
    o.trap(true);
    let p = o.p.spawn_link(|p| until(p, "go", "kill")).expect("spawn_link");
    o.p.send(p, atom("go"));
    o.next().await;
}

async fn linked_own_exit_kill_not_trapping(o: &mut Obs) {
    o.spawn_monitor(|mut m| async move {
        m.spawn_link(|_| async { Err(exit::kill()) })?;
        receive(&mut m, "stop").await;
        Ok(())
    });
    o.next().await;
}

async fn linked_killed_trapping(o: &mut Obs) {
    o.trap(true);
    let p = o.p.spawn_link(|p| until(p, "stop", "normal")).expect("spawn_link");
    o.exit(p, exit::kill());
    o.next().await;
}

async fn unlink_then_exit(o: &mut Obs) {
    o.trap(true);
    let p = o.p.spawn_link(|p| until(p, "go", "bye")).expect("spawn_link");
    o.monitor(p);
    o.unlink(p);
    o.p.send(p, atom("go"));
    o.next().await;
    o.marker().await;
}

async fn unlink_after_exit_message(o: &mut Obs) {
    // An exit message delivered before unlink stays in the mailbox.
    o.trap(true);
    let p = o.p.spawn_link(|_| async { Err(atom("bye")) }).expect("spawn_link");
    o.wait_mailbox(1).await;
    o.unlink(p);
    o.next().await;
}

async fn register_taken_name(o: &mut Obs) {
    let p1 = o.p.spawn(|p| until(p, "stop", "normal")).expect("spawn");
    let p2 = o.p.spawn(|p| until(p, "stop", "normal")).expect("spawn");
    o.register("sem_taken", p1);
    o.register("sem_taken", p2);
    o.whereis("sem_taken");
    o.stop(&[p1, p2]).await;
}

async fn register_second_name(o: &mut Obs) {
    let p = o.p.spawn(|p| until(p, "stop", "normal")).expect("spawn");
    o.register("sem_first", p);
    o.register("sem_second", p);
    o.whereis("sem_first");
    o.whereis("sem_second");
    o.stop(&[p]).await;
}

async fn register_dead_pid(o: &mut Obs) {
    let p = o.dead().await;
    o.register("sem_dead", p);
    o.whereis("sem_dead");
}

async fn register_undefined(o: &mut Obs) {
    o.register("undefined", o.me());
    o.whereis("undefined");
}

async fn unregister_unknown(o: &mut Obs) {
    o.unregister("sem_unknown");
}

async fn unregister_then_register_again(o: &mut Obs) {
    let p = o.p.spawn(|p| until(p, "stop", "normal")).expect("spawn");
    o.register("sem_again", p);
    o.unregister("sem_again");
    o.whereis("sem_again");
    o.register("sem_again", p);
    o.whereis("sem_again");
    o.stop(&[p]).await;
}

async fn whereis_after_exit(o: &mut Obs) {
    let p = o.p.spawn(|p| until(p, "stop", "normal")).expect("spawn");
    o.register("sem_gone", p);
    o.monitor(p);
    o.p.send(p, atom("stop"));
    o.next().await;
    o.whereis("sem_gone");
    o.register("sem_gone", o.me());
    o.whereis("sem_gone");
}

async fn send_named(o: &mut Obs) {
    o.send_named("sem_nobody", atom("hello"));
    o.register("sem_me", o.me());
    o.send_named("sem_me", atom("hello"));
    o.next().await;
}

async fn send_to_dead_pid(o: &mut Obs) {
    let p = o.dead().await;
    o.p.send(p, atom("hello"));
    o.record("send", atom("hello"));
    o.marker().await;
}

async fn demonitor_flush_after_down(o: &mut Obs) {
    let (_, monitor) = o.spawn_monitor(|_| async { Err(atom("gone")) });
    o.wait_mailbox(1).await;
    let active = o.p.demonitor_flush(monitor);
    o.record("demonitor", active);
    o.marker().await;
}

async fn demonitor_after_down(o: &mut Obs) {
    let (_, monitor) = o.spawn_monitor(|_| async { Err(atom("gone")) });
    o.wait_mailbox(1).await;
    o.demonitor(monitor);
    o.next().await;
}

async fn demonitor_active(o: &mut Obs) {
    let p = o.p.spawn(|p| until(p, "go", "bye")).expect("spawn");
    let monitor = o.monitor(p);
    o.demonitor(monitor);
    o.demonitor(monitor);
    o.monitor(p);
    o.p.send(p, atom("go"));
    o.next().await;
    o.marker().await;
}

async fn demonitor_flush_active(o: &mut Obs) {
    let p = o.p.spawn(|p| until(p, "go", "bye")).expect("spawn");
    let monitor = o.monitor(p);
    let active = o.p.demonitor_flush(monitor);
    o.record("demonitor", active);
    o.monitor(p);
    o.p.send(p, atom("go"));
    o.next().await;
    o.marker().await;
}

async fn alias_then_unalias(o: &mut Obs) {
    let alias = o.p.alias();
    o.record("alias", alias);
    o.p.send_alias(alias, atom("hello"));
    o.next().await;
    let active = o.p.unalias(alias);
    o.record("unalias", active);
    o.p.send_alias(alias, atom("dropped"));
    o.marker().await;
    let active = o.p.unalias(alias);
    o.record("unalias", active);
}

async fn alias_reply(o: &mut Obs) {
    let alias = o.p.alias_reply();
    o.record("alias", alias);
    o.p.send_alias(alias, atom("one"));
    o.p.send_alias(alias, atom("two"));
    o.next().await;
    o.marker().await;
    let active = o.p.unalias(alias);
    o.record("unalias", active);
}

async fn alias_from_another_process(o: &mut Obs) {
    let alias = o.p.alias();
    o.record("alias", alias);
    o.p.spawn(move |c| async move {
        c.send_alias(alias, tuple([atom("via_alias"), Term::Pid(c.self_pid())]));
        Ok(())
    })
    .expect("spawn");
    o.next().await;
}

async fn unalias_of_another_process(o: &mut Obs) {
    // Only the process that made an alias can deactivate it.
    let me = o.me();
    let p =
        o.p.spawn(move |mut p| async move {
            p.send(me, tuple([atom("alias"), Term::Ref(p.alias())]));
            Err(tuple([atom("got"), p.recv().await]))
        })
        .expect("spawn");
    let alias = o.next().await.as_tuple().and_then(|m| m.get(1)?.as_ref().copied()).expect("{alias, A}");
    o.monitor(p);
    let active = o.p.unalias(alias);
    o.record("unalias", active);
    o.p.send_alias(alias, atom("hello"));
    o.next().await;
}

async fn spawn_monitor_normal(o: &mut Obs) {
    o.spawn_monitor(|_| async { Ok(()) });
    o.next().await;
}

async fn spawn_monitor_exit_reason(o: &mut Obs) {
    o.spawn_monitor(|_| async { Err(tuple([atom("shutdown"), atom("done")])) });
    o.next().await;
}

async fn spawn_monitor_own_exit_kill(o: &mut Obs) {
    o.spawn_monitor(|_| async { Err(exit::kill()) });
    o.next().await;
}

async fn timer_fires(o: &mut Obs) {
    let timer = o.send_after(10, o.me(), atom("tick"));
    o.next().await;
    o.cancel_timer(timer);
}

async fn cancel_timer_before_fire(o: &mut Obs) {
    let timer = o.send_after(20, o.me(), atom("cancelled"));
    let had_time_left = o.p.cancel_timer(timer).is_some();
    o.record("cancel_timer_had_time_left", had_time_left);
    o.cancel_timer(timer);
    o.read_timer(timer);
    // A later timer: had the cancelled one fired, its message would come first.
    o.p.send_after(Duration::from_millis(60), o.me(), atom("later"));
    o.next().await;
}

async fn timer_to_dead_pid(o: &mut Obs) {
    let p = o.dead().await;
    let timer = o.send_after(10, p, atom("never"));
    o.cancel_timer(timer);
    o.read_timer(timer);
}
