//! One child of a supervisor: its spec, its process when running, and how it is started and stopped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use erlnode_etf::{Pid, Ref, Term};

use super::{ChildSpec, ChildType, Shutdown, Start};
use crate::hash::NumberMap;
use crate::{Process, exit};

/// A child: its spec and, while it runs, its pid.
#[derive(Debug, Clone)]
pub(super) struct Child {
    pub(super) spec: ChildSpec,
    pub(super) pid: Option<Pid>,
    /// The extra arguments of a `simple_one_for_one` child, for its restarts.
    pub(super) args: Vec<Term>,
    /// Names this child for the supervisor's messages to itself (unique in the OS process).
    pub(super) key: u64,
    /// A restart of it failed and is to be tried again (`which_children` shows `restarting`).
    pub(super) restarting: bool,
}

impl Child {
    pub(super) fn new(spec: ChildSpec) -> Child {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Child { spec, pid: None, args: Vec::new(), key: NEXT.fetch_add(1, Ordering::Relaxed), restarting: false }
    }

    /// Starts the child, linked to the supervisor `p`: its pid, `None` when its start said ignore.
    pub(super) async fn start(&mut self, p: &Process) -> Result<Option<Pid>, Term> {
        let start = Start { node: p.node().clone(), supervisor: p.self_pid(), args: self.args.clone() };
        let pid = (self.spec.start)(start).await?;
        self.pid = pid;
        self.restarting = false;
        Ok(pid)
    }

    /// Stops the running child as its spec says and waits for its end (OTP's `shutdown/2`).
    pub(super) async fn stop(&mut self, p: &mut Process) {
        stop_together(p, std::slice::from_mut(self)).await;
    }

    /// Unlinks the running child and watches it instead, so its end is seen once, as a `DOWN`: the
    /// monitor and the pid, or `None` when it is not running.
    async fn watch_instead(&mut self, p: &mut Process) -> Option<(Ref, Pid)> {
        let pid = self.pid.take()?;
        let monitor = p.monitor(pid);
        p.unlink(pid);
        // An exit that came before the unlink is this stop's business, not a restart's.
        let _ = p.recv_match_timeout(|m| exit::is_exit_from(m, pid), Duration::ZERO).await;
        Some((monitor, pid))
    }

    /// `{Id, Child, Type, Modules}` for `which_children`.
    pub(super) fn describe(&self, id: Term) -> Term {
        let child = match self.pid {
            Some(pid) => Term::Pid(pid),
            None if self.restarting => Term::atom("restarting"),
            None => Term::atom("undefined"),
        };
        let child_type = Term::atom(match self.spec.child_type {
            ChildType::Worker => "worker",
            ChildType::Supervisor => "supervisor",
        });
        let modules = match self.spec.start_mfa.as_tuple() {
            Some([module, ..]) => Term::list(vec![module.clone()]),
            _ => Term::list(vec![]),
        };
        Term::tuple(vec![id, child, child_type, modules])
    }
}

/// Stops `children` (one, or a template's, so with one shutdown) all at once and waits for them all, as
/// OTP stops a child and a `simple_one_for_one` supervisor's children: each is unlinked and watched
/// instead, so its end is seen once, and gets `shutdown` (or `kill`); those still running when the
/// shutdown time is up are killed.
pub(super) async fn stop_together(p: &mut Process, children: &mut [Child]) {
    let Some(shutdown) = children.first().map(|c| c.spec.shutdown) else { return };
    let mut running: NumberMap<Ref, Pid> = NumberMap::default();
    for child in children.iter_mut() {
        if let Some((monitor, pid)) = child.watch_instead(p).await {
            running.insert(monitor, pid);
        }
    }
    let first = if shutdown == Shutdown::BrutalKill { exit::kill() } else { Term::atom("shutdown") };
    for pid in running.values() {
        p.exit(*pid, first.clone());
    }
    let mut deadline = match shutdown {
        Shutdown::Timeout(timeout) => tokio::time::Instant::now().checked_add(timeout),
        Shutdown::BrutalKill | Shutdown::Infinity => None,
    };
    let down_of = |m: &Term, running: &NumberMap<Ref, Pid>| match m.as_tuple() {
        Some([_, Term::Ref(r), ..]) if running.contains_key(r) && exit::is_down_of(m, r) => Some(*r),
        _ => None,
    };
    while !running.is_empty() {
        let left = deadline.map_or(Duration::MAX, |d| d.saturating_duration_since(tokio::time::Instant::now()));
        match p.recv_match_timeout(|m| down_of(m, &running).is_some(), left).await {
            Some(down) => {
                if let Some(monitor) = down_of(&down, &running) {
                    running.remove(&monitor);
                }
            }
            None => {
                let ids: Vec<String> = children.iter().map(|c| c.spec.id.to_string()).collect();
                tracing::warn!(left = running.len(), ?shutdown, children = ?ids, "children did not stop in time; killed");
                for pid in running.values() {
                    p.exit(*pid, exit::kill());
                }
                // Killed, they end at once.
                deadline = None;
            }
        }
    }
}

/// `normal`, `shutdown` or `{shutdown, _}`: an exit a transient child is not restarted after.
pub(super) fn is_clean_exit(reason: &Term) -> bool {
    match reason {
        Term::Atom(a) => a.as_str() == "normal" || a.as_str() == "shutdown",
        _ => matches!(reason.as_tuple(), Some([Term::Atom(a), _]) if a.as_str() == "shutdown"),
    }
}
