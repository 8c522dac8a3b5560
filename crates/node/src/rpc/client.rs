//! The calling side: a process calls, casts to and spawns on another node (or its own).

use std::time::Duration;

use erlnode_dist::control::Control;
use erlnode_dist::flags::DistFlags;
use erlnode_etf::{Atom, Pid, Ref, Term};

use super::RpcError;
use super::spawn::{self, Pending, Reply, Request};
use crate::gen_server::{self, CallError};
use crate::{Node, Process, atoms, exit};

/// How [`Process::spawn_request`] ties the new process to the requester, and which answer it wants as
/// a message (Erlang's `spawn_request/5` options `link`, `monitor` and `{reply, ...}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpawnOptions {
    /// Link the new process to the requester.
    pub link: bool,
    /// The requester monitors the new process; the monitor's reference is the request id.
    pub monitor: bool,
    /// Which of `{spawn_reply, ReqId, ok, Pid}` and `{spawn_reply, ReqId, error, Reason}` to deliver.
    pub reply: Reply,
}

impl Default for SpawnOptions {
    /// No link, no monitor, every answer delivered (`spawn_request/5` with `[]`).
    fn default() -> SpawnOptions {
        SpawnOptions { link: false, monitor: false, reply: Reply::Yes }
    }
}

impl SpawnOptions {
    fn wire(&self) -> Vec<Term> {
        let mut opts = Vec::new();
        if self.link {
            opts.push(Term::Atom(atoms::link()));
        }
        if self.monitor {
            opts.push(Term::Atom(atoms::monitor()));
        }
        opts
    }
}

/// The flags of the connection to `peer`, connecting first if need be; `None` when it cannot be reached
/// before `deadline`.
async fn peer_flags(node: &Node, peer: Atom, deadline: Option<tokio::time::Instant>) -> Option<DistFlags> {
    if let Some(flags) = crate::dist::peer_flags(node, peer) {
        return Some(flags);
    }
    let connected = match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline, node.connect(peer)).await.unwrap_or(false),
        None => node.connect(peer).await,
    };
    if !connected {
        return None;
    }
    crate::dist::peer_flags(node, peer)
}

fn mf_atoms(module: &str, function: &str) -> (Atom, Atom) {
    (Atom::new(module), Atom::new(function))
}

/// `{Kind, M, F, Args, user}`, what `rex` takes for a call or a cast (`user` as the group leader, so
/// output goes to the called node's terminal).
fn rex_request(kind: &str, module: &str, function: &str, args: Vec<Term>) -> Term {
    let (m, f) = mf_atoms(module, function);
    Term::tuple(vec![Term::atom(kind), Term::Atom(m), Term::Atom(f), Term::List(args), Term::Atom(atoms::user())])
}

impl Process {
    /// Asks `node` to spawn `module:function(args)` (Erlang's `erlang:spawn_request/5`) and returns the
    /// request id at once. The answer comes as the message `{spawn_reply, ReqId, ok, Pid}` or
    /// `{spawn_reply, ReqId, error, Reason}` (as `options.reply` says); with `options.monitor` the
    /// request id is also the monitor's reference. A node that cannot be reached answers `noconnection`.
    pub fn spawn_request(
        &self,
        node: Atom,
        module: &str,
        function: &str,
        args: Vec<Term>,
        options: SpawnOptions,
    ) -> Ref {
        let (module, function) = mf_atoms(module, function);
        // Refusals known at once are answered at once, as the BEAM does.
        let here = self.node();
        let refusal = if node == here.name() {
            None
        } else if here.distribution().is_none() {
            Some(crate::exit::noconnection())
        } else if crate::dist::peer_flags(here, node).is_some_and(|flags| !flags.contains(DistFlags::SPAWN)) {
            Some(Term::atom("notsup"))
        } else {
            None
        };
        match refusal {
            Some(reason) => self.refuse_spawn(reason, options),
            None => self.request_spawn(node, module, function, args, options),
        }
    }

    /// A new request id, answered at once with `{spawn_reply, ReqId, error, Reason}` unless no answer
    /// is wanted.
    fn refuse_spawn(&self, reason: Term, options: SpawnOptions) -> Ref {
        let req_id = self.make_ref();
        if options.reply != Reply::No {
            self.send(self.self_pid(), spawn::answer(req_id, Term::Atom(atoms::error()), reason));
        }
        req_id
    }

    /// [`Process::spawn_request`] with the names as atoms, to a node this process may spawn on (this
    /// node, or a peer that is connecting or offers `SPAWN`).
    fn request_spawn(&self, node: Atom, module: Atom, function: Atom, args: Vec<Term>, options: SpawnOptions) -> Ref {
        let Ok(arity) = u8::try_from(args.len()) else { return self.refuse_spawn(crate::exit::badarg(), options) };
        let req_id = self.make_ref();
        let from = self.self_pid();
        let here = self.node().clone();
        let pending = Pending { node, reply: options.reply, link: options.link };
        let opts = options.wire();
        if node == here.name() {
            self.entry().lock().ties().spawn_requests.insert(req_id, pending);
            let request = Request { req_id, from, module, function, arity, opts, args: Term::List(args) };
            let answer = |flags, result| spawn::reply(&here, here.name(), req_id, from, flags, result);
            spawn::serve(&here, request, &answer, false);
            return req_id;
        }
        let group_leader = here.whereis(atoms::user()).unwrap_or(from);
        let control = Control::SpawnRequest { req_id, from, group_leader, module, function, arity, opts };
        let entry = self.entry();
        let record = |ties: &mut crate::process::Ties| {
            ties.spawn_requests.insert(req_id, pending);
        };
        // Not sent: answered as a lost connection answers it, unless given up meanwhile.
        if !crate::process::tie(&here, entry, node, control, Some(Term::List(args)), record)
            && entry.lock().ties_if_any().is_some_and(|ties| ties.spawn_requests.remove(&req_id).is_some())
            && options.reply != Reply::No
        {
            entry.deliver(spawn::answer(req_id, Term::Atom(atoms::error()), exit::noconnection()));
        }
        req_id
    }

    /// Gives up a spawn request not answered yet (Erlang's `spawn_request_abandon/1`): `true` if it was
    /// pending. Its answer is then never delivered; a process it started anyway is sent the exit signal
    /// `abandoned` if it was to be linked, and is not monitored.
    pub fn spawn_request_abandon(&self, req_id: Ref) -> bool {
        self.entry().lock().ties_if_any().is_some_and(|ties| ties.spawn_requests.remove(&req_id).is_some())
    }

    /// Spawns `module:function(args)` on `node` and waits for the answer: the new pid, and the monitor's
    /// reference when `monitor` is asked (Erlang's `spawn_link/4` and `spawn_monitor/4` with a node). The
    /// error is the node's refusal (`badarg`, `system_limit`, `notsup`, `noconnection`, ...).
    pub async fn spawn_remote(
        &mut self,
        node: Atom,
        module: &str,
        function: &str,
        args: Vec<Term>,
        link: bool,
        monitor: bool,
    ) -> Result<(Pid, Option<Ref>), Term> {
        let options = SpawnOptions { link, monitor, reply: Reply::Yes };
        let req_id = self.spawn_request(node, module, function, args, options);
        let answer = self.recv_match(|m| is_spawn_reply(m, &req_id, None)).await;
        match answer.as_tuple() {
            Some([_, _, ok, Term::Pid(pid)]) if ok.as_atom().is_some_and(|a| a.as_str() == "ok") => {
                Ok((*pid, monitor.then_some(req_id)))
            }
            Some([_, _, _, reason]) => Err(reason.clone()),
            _ => Err(crate::exit::badarg()),
        }
    }

    /// Calls `module:function(args)` on `node` and waits up to `timeout` for the result (Erlang's
    /// `erpc:call/5`; `Duration::MAX` waits for ever). The call runs in a process of its own, which this
    /// one monitors: the process's end carries the result, so a lost connection or a killed process is
    /// an error at once. A peer that cannot spawn on request is called through its `rex` server, as
    /// `rpc:call` does. After a timeout the function may still run; its result never reaches this
    /// process's mailbox.
    ///
    /// ```no_run
    /// # async fn demo(p: &mut erlnode::Process) {
    /// use std::time::Duration;
    /// use erlnode::{Atom, Term};
    /// let reversed = p
    ///     .rpc_call(Atom::new("erl@host"), "lists", "reverse", vec!["[1,2,3]".parse().unwrap()], Duration::from_secs(5))
    ///     .await;
    /// assert_eq!(reversed, Ok("[3,2,1]".parse().unwrap()));
    /// # }
    /// ```
    pub async fn rpc_call(
        &mut self,
        node: Atom,
        module: &str,
        function: &str,
        args: Vec<Term>,
        timeout: Duration,
    ) -> Result<Term, RpcError> {
        let start = tokio::time::Instant::now();
        let deadline = start.checked_add(timeout);
        if node != self.node().name() {
            match peer_flags(self.node(), node, deadline).await {
                None if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) => return Err(RpcError::Timeout),
                None => return Err(RpcError::NoConnection),
                Some(flags) if !flags.contains(DistFlags::SPAWN) => {
                    let left = timeout.saturating_sub(start.elapsed());
                    return self.rex_call(node, module, function, args, left).await;
                }
                Some(_) => {}
            }
        }
        let res = self.make_ref();
        let (m, f) = mf_atoms(module, function);
        let call_args = vec![Term::Ref(res), Term::Atom(m), Term::Atom(f), Term::List(args)];
        let options = SpawnOptions { link: false, monitor: true, reply: Reply::ErrorOnly };
        let req_id = self.request_spawn(node, atoms::erpc(), atoms::execute_call(), call_args, options);
        let is_answer = |m: &Term| is_spawn_reply(m, &req_id, Some(atoms::error())) || exit::is_down_of(m, &req_id);
        if let Some(answer) = self.recv_match_until(is_answer, deadline).await {
            return erpc_result(answer, &res);
        }
        // As erpc: give up the request, or the monitor if it was answered. If neither was left, the
        // answer is the result: a DOWN is in the mailbox once demonitor finds no monitor, and a spawn
        // reply taken out of the table is being delivered.
        if self.spawn_request_abandon(req_id) || self.demonitor(req_id) {
            return Err(RpcError::Timeout);
        }
        erpc_result(self.recv_match(is_answer).await, &res)
    }

    /// Runs `module:function(args)` on `node` without waiting for it (Erlang's `erpc:cast/4`, and
    /// `rpc:cast/4` for a peer without spawn support). Nothing comes back, failures included.
    pub async fn rpc_cast(&self, node: Atom, module: &str, function: &str, args: Vec<Term>) {
        if node != self.node().name() {
            match peer_flags(self.node(), node, None).await {
                None => return,
                Some(flags) if !flags.contains(DistFlags::SPAWN) => {
                    gen_server::cast(self, (Atom::new("rex"), node), rex_request("cast", module, function, args));
                    return;
                }
                Some(_) => {}
            }
        }
        let (m, f) = mf_atoms(module, function);
        let options = SpawnOptions { link: false, monitor: false, reply: Reply::No };
        let cast_args = vec![Term::Atom(m), Term::Atom(f), Term::List(args)];
        self.request_spawn(node, atoms::erpc(), atoms::execute_cast(), cast_args, options);
    }

    /// Calls `module:function(args)` on `node` through its `rex` server (`gen_server:call({rex, Node},
    /// {call, M, F, A, user})`, `rpc:call`'s way before OTP 23). The answer is `rex`'s: the value (a
    /// thrown value counts as one), or [`RpcError::BadRpc`] with the reason of `{badrpc, Reason}`.
    pub async fn rex_call(
        &mut self,
        node: Atom,
        module: &str,
        function: &str,
        args: Vec<Term>,
        timeout: Duration,
    ) -> Result<Term, RpcError> {
        let request = rex_request("call", module, function, args);
        match gen_server::call(self, (Atom::new("rex"), node), request, timeout).await {
            Ok(answer) => match answer.as_tuple() {
                Some([tag, reason]) if tag.as_atom().is_some_and(|a| a.as_str() == "badrpc") => {
                    Err(RpcError::BadRpc(reason.clone()))
                }
                _ => Ok(answer),
            },
            Err(CallError::Timeout) => Err(RpcError::Timeout),
            Err(CallError::NodeDown(_)) => Err(RpcError::NoConnection),
            Err(e) => Err(RpcError::BadRpc(Term::tuple(vec![Term::atom("EXIT"), e.to_exit_reason()]))),
        }
    }
}

impl Node {
    /// [`Process::rpc_call`] from outside any process: the call is made by a short-lived process.
    pub async fn rpc_call(
        &self,
        node: Atom,
        module: &str,
        function: &str,
        args: Vec<Term>,
        timeout: Duration,
    ) -> Result<Term, RpcError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let (module, function) = (module.to_owned(), function.to_owned());
        let spawned = self.spawn(move |mut p| async move {
            tx.send(p.rpc_call(node, &module, &function, args, timeout).await).ok();
            Ok(())
        });
        if spawned.is_err() {
            return Err(RpcError::Refused(crate::exit::system_limit()));
        }
        rx.await.unwrap_or(Err(RpcError::Signal(crate::exit::killed())))
    }

    /// [`Process::rpc_cast`] from outside any process.
    pub fn rpc_cast(&self, node: Atom, module: &str, function: &str, args: Vec<Term>) {
        let (module, function) = (module.to_owned(), function.to_owned());
        let _ = self.spawn(move |p| async move {
            p.rpc_cast(node, &module, &function, args).await;
            Ok(())
        });
    }
}

/// `{spawn_reply, ReqId, Status, _}`, with `Status` as given when one is.
fn is_spawn_reply(message: &Term, req_id: &Ref, status: Option<Atom>) -> bool {
    matches!(message.as_tuple(), Some([Term::Atom(tag), Term::Ref(r), s, _])
        if r == req_id
            && *tag == atoms::spawn_reply()
            && status.is_none_or(|want| matches!(s, Term::Atom(a) if *a == want)))
}

/// The result of an erpc call from its answer: a refused spawn, or the `DOWN` of the process that ran it.
fn erpc_result(answer: Term, res: &Ref) -> Result<Term, RpcError> {
    let Term::Tuple(mut parts) = answer else { return Err(RpcError::Refused(crate::exit::badarg())) };
    // {spawn_reply, ReqId, error, Reason} or {'DOWN', Ref, process, Pid, Reason}: the reason is last.
    let reason = parts.pop().unwrap_or_default();
    let no_connection = |reason: &Term| matches!(reason, Term::Atom(a) if *a == atoms::noconnection());
    if matches!(parts.first(), Some(Term::Atom(tag)) if *tag == atoms::spawn_reply()) {
        return Err(if no_connection(&reason) { RpcError::NoConnection } else { RpcError::Refused(reason) });
    }
    let mut result = match reason {
        Term::Tuple(result) if matches!(result.first(), Some(Term::Ref(r)) if r == res) => result,
        // Not an erpc result: the process ended by an exit signal with this reason.
        other if no_connection(&other) => return Err(RpcError::NoConnection),
        other => return Err(RpcError::Signal(other)),
    };
    let class = match result.get(1) {
        Some(Term::Atom(class)) => *class,
        _ => return Err(RpcError::Signal(Term::Tuple(result))),
    };
    match result.len() {
        3 if class == atoms::return_() => Ok(result.pop().unwrap_or_default()),
        3 if class == atoms::throw() => Err(RpcError::Throw(result.pop().unwrap_or_default())),
        3 if class == atoms::exit() => Err(RpcError::Exit(result.pop().unwrap_or_default())),
        // {Res, error, {erpc, Reason}}: the node could not apply the function at all.
        3 if class == atoms::error() => match result.pop().unwrap_or_default() {
            Term::Tuple(mut t) if t.len() == 2 && crate::atoms::is(&t[0], "erpc") => {
                Err(RpcError::Refused(t.pop().unwrap_or_default()))
            }
            other => Err(RpcError::Refused(other)),
        },
        4 if class == atoms::error() => {
            let stack = result.pop().unwrap_or_default();
            Err(RpcError::Error { reason: result.pop().unwrap_or_default(), stack })
        }
        _ => Err(RpcError::Signal(Term::Tuple(result))),
    }
}
