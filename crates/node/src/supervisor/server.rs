//! The supervisor as a [`GenServer`]: starting, restarting and stopping children, and OTP's calls.

use std::collections::VecDeque;
use std::time::Instant;

use erlnode_etf::{Pid, Term};

use super::child::{Child, is_clean_exit};
use super::{AutoShutdown, ChildSpec, ChildType, Flags, Restart, Strategy, take_handoff};
use crate::atoms;
use crate::gen_server::{CallResult, Caller, Ctx, Flow, GenServer, InitError};

/// The message a supervisor sends itself to try a failed restart again.
const TRY_AGAIN: &str = "$erlnode_try_again_restart";

/// A supervisor's state; start one with [`start`](super::start) or [`start_link`](super::start_link), or
/// as a child with [`ChildSpec::supervisor`].
pub struct Supervisor {
    flags: Flags,
    /// In start order. For `simple_one_for_one`, the running children.
    children: Vec<Child>,
    /// The template of a `simple_one_for_one` supervisor.
    template: Option<ChildSpec>,
    /// When the restarts within the last period happened.
    restarts: VecDeque<Instant>,
}

impl GenServer for Supervisor {
    type Args = (Flags, Vec<ChildSpec>);

    async fn init(ctx: &mut Ctx<'_>, (flags, specs): Self::Args) -> Result<Self, InitError> {
        ctx.trap_exit(true);
        ctx.entry().supervisor.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut sup = Supervisor { flags, children: Vec::new(), template: None, restarts: VecDeque::new() };
        if flags.strategy == Strategy::SimpleOneForOne {
            let mut specs = specs;
            let (Some(template), true) = (specs.pop(), specs.is_empty()) else {
                return Err(InitError::Stop(Term::tuple(vec![
                    Term::atom("bad_start_spec"),
                    Term::atom("simple_one_for_one"),
                ])));
            };
            if let Err(reason) = check_significant(&template, flags.auto_shutdown) {
                return Err(InitError::Stop(Term::tuple(vec![Term::atom("start_spec"), reason])));
            }
            sup.template = Some(template);
            return Ok(sup);
        }
        for (i, spec) in specs.iter().enumerate() {
            if specs[..i].iter().any(|other| other.id == spec.id) {
                let duplicate = Term::tuple(vec![Term::atom("duplicate_child_name"), spec.id.clone()]);
                return Err(InitError::Stop(Term::tuple(vec![Term::atom("start_spec"), duplicate])));
            }
            if let Err(reason) = check_significant(spec, flags.auto_shutdown) {
                return Err(InitError::Stop(Term::tuple(vec![Term::atom("start_spec"), reason])));
            }
        }
        for spec in specs {
            let mut child = Child::new(spec);
            if let Err(reason) = child.start(ctx).await {
                let id = child.spec.id.clone();
                sup.stop_from(ctx, 0).await;
                let failed = Term::tuple(vec![Term::atom("failed_to_start_child"), id, reason]);
                return Err(InitError::Stop(Term::tuple(vec![Term::atom("shutdown"), failed])));
            }
            sup.children.push(child);
        }
        Ok(sup)
    }

    async fn handle_call(&mut self, ctx: &mut Ctx<'_>, request: Term, _from: &Caller) -> CallResult {
        let reply = match (request.as_atom(), request.as_tuple()) {
            (Some(a), _) if a.as_str() == "which_children" => self.which_children(),
            (Some(a), _) if a.as_str() == "count_children" => self.count_children(),
            (_, Some([Term::Atom(a), arg])) => match a.as_str() {
                "start_child" => self.start_child(ctx, arg).await,
                "terminate_child" => self.terminate_child(ctx, arg).await,
                "restart_child" => self.restart_child(ctx, arg).await,
                "delete_child" => self.delete_child(arg),
                "get_childspec" => match self.find(arg) {
                    Some(i) => Term::ok(self.spec_of(i).to_term()),
                    None => Term::error(Term::atom("not_found")),
                },
                _ => Term::error(Term::tuple(vec![Term::atom("bad_call"), request.clone()])),
            },
            _ => Term::error(Term::tuple(vec![Term::atom("bad_call"), request.clone()])),
        };
        CallResult::Reply(reply)
    }

    async fn handle_info(&mut self, ctx: &mut Ctx<'_>, message: Term) -> Flow {
        match message.as_tuple() {
            Some([Term::Atom(e), Term::Pid(pid), reason]) if *e == atoms::exit_tag() => {
                self.child_exited(ctx, *pid, reason).await
            }
            Some([Term::Atom(tag), Term::Int(key)]) if tag.as_str() == TRY_AGAIN => {
                self.try_again(ctx, *key as u64).await
            }
            _ => {
                tracing::warn!(supervisor = %ctx.self_pid(), %message, "supervisor got an unexpected message");
                Flow::Continue
            }
        }
    }

    async fn terminate(&mut self, ctx: &mut Ctx<'_>, _reason: &Term) {
        self.stop_from(ctx, 0).await;
    }

    fn state(&self) -> Term {
        let ids: Vec<Term> = self.children.iter().map(|c| c.spec.id.clone()).collect();
        Term::tuple(vec![Term::atom("supervisor"), strategy_term(self.flags.strategy), Term::list(ids)])
    }
}

impl Supervisor {
    fn simple(&self) -> bool {
        self.flags.strategy == Strategy::SimpleOneForOne
    }

    /// The index of the child `id` (a pid for `simple_one_for_one`).
    fn find(&self, id: &Term) -> Option<usize> {
        if self.simple() {
            let pid = id.as_pid()?;
            self.children.iter().position(|c| c.pid == Some(pid))
        } else {
            self.children.iter().position(|c| c.spec.id == *id)
        }
    }

    fn spec_of(&self, index: usize) -> &ChildSpec {
        &self.children[index].spec
    }

    /// Stops the running children from `from` on, the last started first; a `simple_one_for_one`
    /// supervisor's children all at once, as OTP stops them (they have no order).
    async fn stop_from(&mut self, p: &mut crate::Process, from: usize) {
        if self.simple() {
            return super::child::stop_together(p, &mut self.children[from..]).await;
        }
        for child in self.children[from..].iter_mut().rev() {
            child.stop(p).await;
        }
    }

    /// Notes a restart; `false` once there have been more than `intensity` within `period`.
    fn add_restart(&mut self) -> bool {
        let now = Instant::now();
        self.restarts.push_back(now);
        while self.restarts.front().is_some_and(|t| now.duration_since(*t) > self.flags.period) {
            self.restarts.pop_front();
        }
        self.restarts.len() <= self.flags.intensity as usize
    }

    async fn child_exited(&mut self, p: &mut crate::Process, pid: Pid, reason: &Term) -> Flow {
        let Some(index) = self.children.iter().position(|c| c.pid == Some(pid)) else {
            // Not a child's (a process this supervisor linked to by other means): nothing to do.
            return Flow::Continue;
        };
        self.children[index].pid = None;
        let child = &self.children[index];
        let restart = match child.spec.restart {
            Restart::Permanent => true,
            Restart::Transient => !is_clean_exit(reason),
            Restart::Temporary => false,
        };
        if !restart {
            let significant = child.spec.significant;
            if child.spec.restart == Restart::Temporary || self.simple() {
                self.children.remove(index);
            }
            let shut_down = significant
                && match self.flags.auto_shutdown {
                    AutoShutdown::Never => false,
                    AutoShutdown::AnySignificant => true,
                    // A child waiting for a restart that failed still counts, as OTP's `restarting` does.
                    AutoShutdown::AllSignificant => {
                        !self.children.iter().any(|c| c.spec.significant && (c.pid.is_some() || c.restarting))
                    }
                };
            if shut_down {
                tracing::info!(supervisor = %p.self_pid(), "significant children ended; shutting down (auto_shutdown)");
                return Flow::Stop(Term::atom("shutdown"));
            }
            return Flow::Continue;
        }
        tracing::error!(supervisor = %p.self_pid(), child = %child.spec.id, %reason, "child terminated; restarting");
        self.restart(p, index).await
    }

    /// Restarts after child `index` ended, as the strategy says. If a start fails, the children started
    /// in this round stop again and the supervisor tries again through a message to itself (as OTP's
    /// does), so calls and exits are seen between tries; each try counts against the intensity, past
    /// which the supervisor stops with `shutdown` (its `terminate` stops the rest).
    async fn restart(&mut self, p: &mut crate::Process, index: usize) -> Flow {
        if !self.add_restart() {
            tracing::error!(supervisor = %p.self_pid(), "reached_max_restart_intensity; shutting down");
            return Flow::Stop(Term::atom("shutdown"));
        }
        let (first, last) = match self.flags.strategy {
            Strategy::OneForOne | Strategy::SimpleOneForOne => (index, index + 1),
            Strategy::OneForAll => (0, self.children.len()),
            Strategy::RestForOne => (index, self.children.len()),
        };
        let key = self.children[index].key;
        if last > index + 1 || first < index {
            self.stop_from(p, first).await;
            // Temporary children that were stopped for the others' sake are not started again.
            let mut position = 0;
            self.children.retain(|c| {
                let keep = position < first || c.spec.restart != Restart::Temporary || c.key == key;
                position += 1;
                keep
            });
        }
        let last = last.min(self.children.len());
        for i in first..last {
            if let Err(reason) = self.children[i].start(p).await {
                tracing::error!(supervisor = %p.self_pid(), child = %self.children[i].spec.id, %reason, "restart failed; trying again");
                for child in self.children[first..i].iter_mut().rev() {
                    child.stop(p).await;
                }
                for child in &mut self.children[first..last] {
                    child.restarting = true;
                }
                let again = Term::tuple(vec![Term::atom(TRY_AGAIN), Term::from(key as i64)]);
                p.send(p.self_pid(), again);
                return Flow::Continue;
            }
        }
        Flow::Continue
    }

    /// A restart that failed is tried again, if the child is still there and stopped.
    async fn try_again(&mut self, p: &mut crate::Process, key: u64) -> Flow {
        match self.children.iter().position(|c| c.key == key && c.pid.is_none()) {
            Some(index) => self.restart(p, index).await,
            None => Flow::Continue,
        }
    }

    fn which_children(&self) -> Term {
        let simple = self.simple();
        let list = self
            .children
            .iter()
            .rev()
            .map(|c| c.describe(if simple { Term::atom("undefined") } else { c.spec.id.clone() }));
        Term::list(list.collect::<Vec<_>>())
    }

    fn count_children(&self) -> Term {
        let count = |f: &dyn Fn(&Child) -> bool| Term::from(self.children.iter().filter(|c| f(c)).count() as i64);
        let pair = |key: &str, n: Term| Term::tuple(vec![Term::atom(key), n]);
        // A simple_one_for_one supervisor has one spec, its template, however many children.
        let specs = if self.simple() { Term::from(1) } else { count(&|_| true) };
        Term::list(vec![
            pair("specs", specs),
            pair("active", count(&|c| c.pid.is_some())),
            pair("supervisors", count(&|c| c.spec.child_type == ChildType::Supervisor)),
            pair("workers", count(&|c| c.spec.child_type == ChildType::Worker)),
        ])
    }

    async fn start_child(&mut self, p: &mut crate::Process, arg: &Term) -> Term {
        let mut child = if let Some(template) = &self.template {
            let Some(args) = arg.to_list() else {
                return Term::error(Term::tuple(vec![Term::atom("badarg"), arg.clone()]));
            };
            Child { args, ..Child::new(template.clone()) }
        } else {
            let spec = match arg.as_tuple() {
                Some([Term::Atom(tag), Term::Ref(key)]) if tag.as_str() == "$erlnode_spec" => take_handoff(key),
                _ => None,
            };
            // Otherwise a spec from Erlang, naming a registered function.
            let spec = match spec.map_or_else(|| super::erlang_spec::parse(arg), Ok) {
                Ok(spec) => spec,
                Err(reason) => return Term::error(reason),
            };
            if let Err(reason) = check_significant(&spec, self.flags.auto_shutdown) {
                return Term::error(reason);
            }
            if let Some(existing) = self.children.iter().find(|c| c.spec.id == spec.id) {
                return Term::error(match existing.pid {
                    Some(pid) => Term::tuple(vec![Term::atom("already_started"), Term::Pid(pid)]),
                    None => Term::atom("already_present"),
                });
            }
            Child::new(spec)
        };
        match child.start(p).await {
            Ok(pid) => {
                // A simple_one_for_one child that said ignore is not kept; a static one is, stopped.
                if pid.is_some() || !self.simple() {
                    self.children.push(child);
                }
                Term::ok(pid.map_or_else(|| Term::atom("undefined"), Term::Pid))
            }
            Err(reason) => Term::error(reason),
        }
    }

    async fn terminate_child(&mut self, p: &mut crate::Process, id: &Term) -> Term {
        let Some(index) = self.find(id) else { return Term::error(Term::atom("not_found")) };
        self.children[index].stop(p).await;
        if self.simple() || self.children[index].spec.restart == Restart::Temporary {
            self.children.remove(index);
        }
        Term::atom("ok")
    }

    async fn restart_child(&mut self, p: &mut crate::Process, id: &Term) -> Term {
        if self.simple() {
            return Term::error(Term::atom("simple_one_for_one"));
        }
        let Some(index) = self.find(id) else { return Term::error(Term::atom("not_found")) };
        if self.children[index].pid.is_some() {
            return Term::error(Term::atom("running"));
        }
        match self.children[index].start(p).await {
            Ok(pid) => Term::ok(pid.map_or_else(|| Term::atom("undefined"), Term::Pid)),
            Err(reason) => Term::error(reason),
        }
    }

    fn delete_child(&mut self, id: &Term) -> Term {
        if self.simple() {
            return Term::error(Term::atom("simple_one_for_one"));
        }
        let Some(index) = self.find(id) else { return Term::error(Term::atom("not_found")) };
        if self.children[index].pid.is_some() {
            return Term::error(Term::atom("running"));
        }
        self.children.remove(index);
        Term::atom("ok")
    }
}

fn strategy_term(strategy: Strategy) -> Term {
    Term::atom(match strategy {
        Strategy::OneForOne => "one_for_one",
        Strategy::OneForAll => "one_for_all",
        Strategy::RestForOne => "rest_for_one",
        Strategy::SimpleOneForOne => "simple_one_for_one",
    })
}

/// OTP's rule: a significant child needs a supervisor with `auto_shutdown`, and must be transient or
/// temporary; else `{bad_combination, [{Key, Value}, {significant, true}]}`.
fn check_significant(spec: &ChildSpec, auto_shutdown: AutoShutdown) -> Result<(), Term> {
    let pair = |k: &str, v: Term| Term::tuple(vec![Term::atom(k), v]);
    let conflict = match (spec.significant, auto_shutdown, spec.restart) {
        (false, ..) => return Ok(()),
        (true, AutoShutdown::Never, _) => pair("auto_shutdown", Term::atom("never")),
        (true, _, Restart::Permanent) => pair("restart", Term::atom("permanent")),
        (true, ..) => return Ok(()),
    };
    Err(pair("bad_combination", Term::list(vec![conflict, pair("significant", Term::bool(true))])))
}
