//! Control messages: the tuple at the head of every distribution message.
//!
//! Each message between two connected nodes starts with a control tuple whose first element, the op, says
//! what the message is (`{1, FromPid, ToPid}` is `LINK`). Some ops are followed by a second term, the
//! payload: the message of a send, the reason of a `PAYLOAD_EXIT`, the argument list of a spawn request
//! (see [`Control::has_payload`]). This module maps the tuple, never the payload, to a [`Control`] and back.
//!
//! Every op of OTP 23 to 27 is understood, with the layouts of OTP's `erl_dist_protocol` guide:
//!
//! - Unused elements (the second element of `SEND`, the third of `REG_SEND`) are dropped on decode,
//!   whatever they hold, and written as `''` on encode, as OTP does.
//! - The `_TT` ops (`SEND_TT`, `EXIT_TT`, ...) are the plain ops plus a sequential trace token. erlnode does
//!   not trace: a `_TT` op decodes to the variant of its plain op with the token dropped, and encoding never
//!   produces a `_TT` op. The token is the last element, except in `EXIT_TT` and `EXIT2_TT`, where it comes
//!   before the reason: `{13, FromPid, ToPid, Token, Reason}`.
//! - Ops that OTP never sends to a node without the flag that enables them (`37 ALTACT_SIG_SEND` of
//!   OTP 28) and the ancient `5 NODE_LINK` are [`ControlError::UnknownOp`].
//!
//! Decoding checks the size of the tuple and the type of each element it keeps, and reports the first
//! problem as a [`ControlError`]; it never panics on what a peer sends.
//!
//! ```
//! use erlnode_dist::control::Control;
//! use erlnode_etf::Term;
//!
//! let tuple: Term = "{22, <a@h.80.0>, <b@h.91.0>}".parse().unwrap();
//! let control = Control::from_term(&tuple).unwrap();
//! assert!(matches!(control, Control::SendSender { .. }));
//! assert!(control.has_payload());
//! assert_eq!(control.to_term(), tuple);
//! ```

use erlnode_etf::{Atom, BodyReader, EncodeError, Encoder, Pid, Ref, Term};

/// The op numbers (the first element of a control tuple).
pub mod op {
    /// `{1, FromPid, ToPid}`
    pub const LINK: u8 = 1;
    /// `{2, Unused, ToPid}`, then the message.
    pub const SEND: u8 = 2;
    /// `{3, FromPid, ToPid, Reason}`
    pub const EXIT: u8 = 3;
    /// `{4, FromPid, ToPid}` (obsolete, replaced by `UNLINK_ID`).
    pub const UNLINK: u8 = 4;
    /// `{6, FromPid, Unused, ToName}`, then the message.
    pub const REG_SEND: u8 = 6;
    /// `{7, FromPid, ToPid}`
    pub const GROUP_LEADER: u8 = 7;
    /// `{8, FromPid, ToPid, Reason}`
    pub const EXIT2: u8 = 8;
    /// `{12, Unused, ToPid, Token}`, then the message.
    pub const SEND_TT: u8 = 12;
    /// `{13, FromPid, ToPid, Token, Reason}`
    pub const EXIT_TT: u8 = 13;
    /// `{16, FromPid, Unused, ToName, Token}`, then the message.
    pub const REG_SEND_TT: u8 = 16;
    /// `{18, FromPid, ToPid, Token, Reason}`
    pub const EXIT2_TT: u8 = 18;
    /// `{19, FromPid, ToProc, Ref}`
    pub const MONITOR_P: u8 = 19;
    /// `{20, FromPid, ToProc, Ref}`
    pub const DEMONITOR_P: u8 = 20;
    /// `{21, FromProc, ToPid, Ref, Reason}`
    pub const MONITOR_P_EXIT: u8 = 21;
    /// `{22, FromPid, ToPid}`, then the message.
    pub const SEND_SENDER: u8 = 22;
    /// `{23, FromPid, ToPid, Token}`, then the message.
    pub const SEND_SENDER_TT: u8 = 23;
    /// `{24, FromPid, ToPid}`, then the reason.
    pub const PAYLOAD_EXIT: u8 = 24;
    /// `{25, FromPid, ToPid, Token}`, then the reason.
    pub const PAYLOAD_EXIT_TT: u8 = 25;
    /// `{26, FromPid, ToPid}`, then the reason.
    pub const PAYLOAD_EXIT2: u8 = 26;
    /// `{27, FromPid, ToPid, Token}`, then the reason.
    pub const PAYLOAD_EXIT2_TT: u8 = 27;
    /// `{28, FromProc, ToPid, Ref}`, then the reason.
    pub const PAYLOAD_MONITOR_P_EXIT: u8 = 28;
    /// `{29, ReqId, From, GroupLeader, {Module, Function, Arity}, OptList}`, then the argument list.
    pub const SPAWN_REQUEST: u8 = 29;
    /// `{30, ReqId, From, GroupLeader, {Module, Function, Arity}, OptList, Token}`, then the argument list.
    pub const SPAWN_REQUEST_TT: u8 = 30;
    /// `{31, ReqId, To, Flags, Result}`
    pub const SPAWN_REPLY: u8 = 31;
    /// `{32, ReqId, To, Flags, Result, Token}`
    pub const SPAWN_REPLY_TT: u8 = 32;
    /// `{33, FromPid, Alias}`, then the message.
    pub const ALIAS_SEND: u8 = 33;
    /// `{34, FromPid, Alias, Token}`, then the message.
    pub const ALIAS_SEND_TT: u8 = 34;
    /// `{35, Id, FromPid, ToPid}`
    pub const UNLINK_ID: u8 = 35;
    /// `{36, Id, FromPid, ToPid}`
    pub const UNLINK_ID_ACK: u8 = 36;
}

/// `SPAWN_REPLY` flag: the new process was linked to the requester.
pub const SPAWN_REPLY_LINK: u32 = 1;
/// `SPAWN_REPLY` flag: the requester monitors the new process (the request id is the monitor reference).
pub const SPAWN_REPLY_MONITOR: u32 = 2;

/// A process named by pid or by registered name: the target of a monitor (`ToProc`) and the sender of
/// its down message (`FromProc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Proc {
    /// A process identifier.
    Pid(Pid),
    /// A registered name on the node that hosts it.
    Name(Atom),
}

impl Proc {
    /// Appends the encoding of [`Proc::to_term`].
    fn encode(&self, encoder: &mut Encoder<'_>, out: &mut Vec<u8>) {
        match self {
            Proc::Pid(pid) => encoder.encode_pid(pid, out),
            Proc::Name(name) => encoder.encode_atom(*name, out),
        }
    }

    /// The pid or atom as a term.
    pub fn to_term(&self) -> Term {
        match *self {
            Proc::Pid(pid) => Term::Pid(pid),
            Proc::Name(name) => Term::Atom(name),
        }
    }

    /// A pid or an atom; `None` for any other term.
    pub fn from_term(term: &Term) -> Option<Proc> {
        match term {
            Term::Pid(pid) => Some(Proc::Pid(*pid)),
            Term::Atom(name) => Some(Proc::Name(*name)),
            _ => None,
        }
    }
}

impl From<Pid> for Proc {
    fn from(pid: Pid) -> Proc {
        Proc::Pid(pid)
    }
}

impl From<Atom> for Proc {
    fn from(name: Atom) -> Proc {
        Proc::Name(name)
    }
}

/// A control message. Field names follow the protocol guide; `reference` is its `Ref`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// `LINK`: `from` links to `to`.
    Link {
        /// The process setting up the link.
        from: Pid,
        /// The process linked to.
        to: Pid,
    },
    /// `SEND` (or `SEND_TT`): a message to a pid, from an unnamed sender. Payload: the message.
    Send {
        /// The receiver.
        to: Pid,
    },
    /// `EXIT` (or `EXIT_TT`): a link broke because `from` exited.
    Exit {
        /// The process that exited.
        from: Pid,
        /// The linked process.
        to: Pid,
        /// The exit reason.
        reason: Term,
    },
    /// `UNLINK`: the unlink of the old link protocol (refused by OTP 26+, which use `UNLINK_ID`).
    Unlink {
        /// The process removing the link.
        from: Pid,
        /// The process unlinked from.
        to: Pid,
    },
    /// `REG_SEND` (or `REG_SEND_TT`): a message to a registered name. Payload: the message.
    RegSend {
        /// The sender.
        from: Pid,
        /// The registered name on the receiving node.
        to: Atom,
    },
    /// `GROUP_LEADER`: `from` sets the group leader of `to` to itself.
    GroupLeader {
        /// The new group leader.
        from: Pid,
        /// The process whose group leader changes.
        to: Pid,
    },
    /// `EXIT2` (or `EXIT2_TT`): `from` called `exit(to, reason)`.
    Exit2 {
        /// The process calling `exit/2`.
        from: Pid,
        /// The process signalled.
        to: Pid,
        /// The exit reason.
        reason: Term,
    },
    /// `MONITOR_P`: `from` starts monitoring `to`.
    MonitorP {
        /// The monitoring process.
        from: Pid,
        /// The monitored process, by pid or name.
        to: Proc,
        /// The monitor reference.
        reference: Ref,
    },
    /// `DEMONITOR_P`: `from` stops monitoring `to`.
    DemonitorP {
        /// The monitoring process.
        from: Pid,
        /// The monitored process, by pid or name (as in the `MONITOR_P`).
        to: Proc,
        /// The monitor reference.
        reference: Ref,
    },
    /// `MONITOR_P_EXIT`: the monitored process `from` is gone.
    MonitorPExit {
        /// The monitored process, by pid or by the name it was monitored with.
        from: Proc,
        /// The monitoring process.
        to: Pid,
        /// The monitor reference.
        reference: Ref,
        /// The exit reason.
        reason: Term,
    },
    /// `SEND_SENDER` (or `SEND_SENDER_TT`): a message to a pid. Payload: the message.
    SendSender {
        /// The sender.
        from: Pid,
        /// The receiver.
        to: Pid,
    },
    /// `PAYLOAD_EXIT` (or `PAYLOAD_EXIT_TT`): `EXIT` with the reason as payload.
    PayloadExit {
        /// The process that exited.
        from: Pid,
        /// The linked process.
        to: Pid,
    },
    /// `PAYLOAD_EXIT2` (or `PAYLOAD_EXIT2_TT`): `EXIT2` with the reason as payload.
    PayloadExit2 {
        /// The process calling `exit/2`.
        from: Pid,
        /// The process signalled.
        to: Pid,
    },
    /// `PAYLOAD_MONITOR_P_EXIT`: `MONITOR_P_EXIT` with the reason as payload.
    PayloadMonitorPExit {
        /// The monitored process, by pid or by the name it was monitored with.
        from: Proc,
        /// The monitoring process.
        to: Pid,
        /// The monitor reference.
        reference: Ref,
    },
    /// `SPAWN_REQUEST` (or `SPAWN_REQUEST_TT`): spawn `module:function/arity`. Payload: the argument list.
    SpawnRequest {
        /// The request id, also the monitor reference with the `monitor` option.
        req_id: Ref,
        /// The requesting process, the parent to be.
        from: Pid,
        /// The group leader of the new process.
        group_leader: Pid,
        /// The module of the entry point.
        module: Atom,
        /// The function of the entry point.
        function: Atom,
        /// The number of arguments (Erlang functions take at most 255).
        arity: u8,
        /// The spawn options (`link`, `monitor`, `{priority, high}`, ...).
        opts: Vec<Term>,
    },
    /// `SPAWN_REPLY` (or `SPAWN_REPLY_TT`): the answer to a `SPAWN_REQUEST`.
    SpawnReply {
        /// The request id of the `SPAWN_REQUEST`.
        req_id: Ref,
        /// The requesting process.
        to: Pid,
        /// [`SPAWN_REPLY_LINK`] and [`SPAWN_REPLY_MONITOR`], or'ed together.
        flags: u32,
        /// The new process, or the atom saying why there is none (`badopt`, `system_limit`, ...).
        result: Result<Pid, Atom>,
    },
    /// `ALIAS_SEND` (or `ALIAS_SEND_TT`): a message to a process alias. Payload: the message.
    AliasSend {
        /// The sender.
        from: Pid,
        /// The alias.
        alias: Ref,
    },
    /// `UNLINK_ID`: `from` removes its link to `to`; `to` answers with `UNLINK_ID_ACK`.
    UnlinkId {
        /// The unlink operation's id, unique among the unacknowledged ones from `from` to `to`.
        id: u64,
        /// The process removing the link.
        from: Pid,
        /// The process unlinked from.
        to: Pid,
    },
    /// `UNLINK_ID_ACK`: `from` acknowledges the `UNLINK_ID` that `to` sent.
    UnlinkIdAck {
        /// The id of the acknowledged `UNLINK_ID`.
        id: u64,
        /// The process acknowledging (the receiver of the `UNLINK_ID`).
        from: Pid,
        /// The sender of the `UNLINK_ID`.
        to: Pid,
    },
}

/// Why a term is not a control message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// The term is not a tuple.
    #[error("control message is not a tuple")]
    NotATuple,
    /// The tuple is `{}`.
    #[error("control message is an empty tuple")]
    EmptyTuple,
    /// The first element is not an integer that fits in 64 bits.
    #[error("control message op is not an integer")]
    OpNotAnInteger,
    /// The op is not one this module knows.
    #[error("unknown control message op {0}")]
    UnknownOp(i64),
    /// The tuple has the wrong number of elements for its op.
    #[error("control message op {op} needs a tuple of {expected} elements, got {got}")]
    WrongArity {
        /// The op.
        op: u8,
        /// The tuple size the op has.
        expected: usize,
        /// The tuple size received.
        got: usize,
    },
    /// An element has the wrong type or is out of range.
    #[error("element {element} of control message op {op} is not {expected}")]
    WrongType {
        /// The op.
        op: u8,
        /// The element, numbered from 1 as Erlang's `element/2` does (the op is element 1).
        element: usize,
        /// What the element should be, such as "a pid".
        expected: &'static str,
    },
}

/// The tuple size of each op, the op included; `None` for an unknown op.
fn tuple_size(op: u8) -> Option<usize> {
    let size = match op {
        op::LINK | op::SEND | op::UNLINK | op::GROUP_LEADER | op::SEND_SENDER => 3,
        op::PAYLOAD_EXIT | op::PAYLOAD_EXIT2 | op::ALIAS_SEND => 3,
        op::EXIT | op::REG_SEND | op::EXIT2 | op::SEND_TT | op::MONITOR_P | op::DEMONITOR_P => 4,
        op::SEND_SENDER_TT | op::PAYLOAD_EXIT_TT | op::PAYLOAD_EXIT2_TT | op::PAYLOAD_MONITOR_P_EXIT => 4,
        op::ALIAS_SEND_TT | op::UNLINK_ID | op::UNLINK_ID_ACK => 4,
        op::EXIT_TT | op::REG_SEND_TT | op::EXIT2_TT | op::MONITOR_P_EXIT | op::SPAWN_REPLY => 5,
        op::SPAWN_REQUEST | op::SPAWN_REPLY_TT => 6,
        op::SPAWN_REQUEST_TT => 7,
        _ => return None,
    };
    Some(size)
}

impl Control {
    /// Reads a control tuple. `_TT` ops give the variant of their plain op, without the trace token.
    pub fn from_term(term: &Term) -> Result<Control, ControlError> {
        let elements = term.as_tuple().ok_or(ControlError::NotATuple)?;
        let first = elements.first().ok_or(ControlError::EmptyTuple)?;
        let number = first.as_i64().ok_or(ControlError::OpNotAnInteger)?;
        let op = u8::try_from(number).map_err(|_| ControlError::UnknownOp(number))?;
        let expected = tuple_size(op).ok_or(ControlError::UnknownOp(number))?;
        if elements.len() != expected {
            return Err(ControlError::WrongArity { op, expected, got: elements.len() });
        }
        let t = Elements { op, elements };
        let control = match op {
            op::LINK => Control::Link { from: t.pid(2)?, to: t.pid(3)? },
            op::SEND | op::SEND_TT => Control::Send { to: t.pid(3)? },
            op::EXIT => Control::Exit { from: t.pid(2)?, to: t.pid(3)?, reason: t.any(4)? },
            op::EXIT_TT => Control::Exit { from: t.pid(2)?, to: t.pid(3)?, reason: t.any(5)? },
            op::UNLINK => Control::Unlink { from: t.pid(2)?, to: t.pid(3)? },
            op::REG_SEND | op::REG_SEND_TT => Control::RegSend { from: t.pid(2)?, to: t.atom(4)? },
            op::GROUP_LEADER => Control::GroupLeader { from: t.pid(2)?, to: t.pid(3)? },
            op::EXIT2 => Control::Exit2 { from: t.pid(2)?, to: t.pid(3)?, reason: t.any(4)? },
            op::EXIT2_TT => Control::Exit2 { from: t.pid(2)?, to: t.pid(3)?, reason: t.any(5)? },
            op::MONITOR_P => Control::MonitorP { from: t.pid(2)?, to: t.proc(3)?, reference: t.reference(4)? },
            op::DEMONITOR_P => Control::DemonitorP { from: t.pid(2)?, to: t.proc(3)?, reference: t.reference(4)? },
            op::MONITOR_P_EXIT => {
                Control::MonitorPExit { from: t.proc(2)?, to: t.pid(3)?, reference: t.reference(4)?, reason: t.any(5)? }
            }
            op::SEND_SENDER | op::SEND_SENDER_TT => Control::SendSender { from: t.pid(2)?, to: t.pid(3)? },
            op::PAYLOAD_EXIT | op::PAYLOAD_EXIT_TT => Control::PayloadExit { from: t.pid(2)?, to: t.pid(3)? },
            op::PAYLOAD_EXIT2 | op::PAYLOAD_EXIT2_TT => Control::PayloadExit2 { from: t.pid(2)?, to: t.pid(3)? },
            op::PAYLOAD_MONITOR_P_EXIT => {
                Control::PayloadMonitorPExit { from: t.proc(2)?, to: t.pid(3)?, reference: t.reference(4)? }
            }
            op::SPAWN_REQUEST | op::SPAWN_REQUEST_TT => {
                let (req_id, from, group_leader) = (t.reference(2)?, t.pid(3)?, t.pid(4)?);
                let (module, function, arity) = t.mfa(5)?;
                Control::SpawnRequest { req_id, from, group_leader, module, function, arity, opts: t.list(6)? }
            }
            op::SPAWN_REPLY | op::SPAWN_REPLY_TT => Control::SpawnReply {
                req_id: t.reference(2)?,
                to: t.pid(3)?,
                flags: t.flags(4)?,
                result: t.spawn_result(5)?,
            },
            op::ALIAS_SEND | op::ALIAS_SEND_TT => Control::AliasSend { from: t.pid(2)?, alias: t.reference(3)? },
            op::UNLINK_ID => Control::UnlinkId { id: t.id(2)?, from: t.pid(3)?, to: t.pid(4)? },
            op::UNLINK_ID_ACK => Control::UnlinkIdAck { id: t.id(2)?, from: t.pid(3)?, to: t.pid(4)? },
            _ => return Err(ControlError::UnknownOp(number)),
        };
        Ok(control)
    }

    /// `true` for a send to a pid or a name (`SEND`, `REG_SEND`, `SEND_SENDER`): the control message that a
    /// stream from one process to another repeats.
    pub fn is_send(&self) -> bool {
        matches!(self, Control::Send { .. } | Control::RegSend { .. } | Control::SendSender { .. })
    }

    /// Reads a control tuple straight from its encoding, without building the tuple, for the usual shape
    /// of each op. `None` for any other shape: the caller decodes the term and [`Control::from_term`] says
    /// what is wrong with it. What it reads is what `from_term` makes of the same bytes.
    pub fn read(reader: &mut BodyReader<'_, '_>) -> Option<Control> {
        let arity = reader.tuple()?;
        let op = u8::try_from(reader.int()?).ok()?;
        if tuple_size(op)? != arity {
            return None;
        }
        let mut e = Parts { reader, read: 1 };
        let control = match op {
            op::LINK => Control::Link { from: e.pid()?, to: e.pid()? },
            op::SEND | op::SEND_TT => {
                e.skip()?;
                Control::Send { to: e.pid()? }
            }
            op::EXIT | op::EXIT_TT | op::EXIT2 | op::EXIT2_TT => {
                let (from, to) = (e.pid()?, e.pid()?);
                if op == op::EXIT_TT || op == op::EXIT2_TT {
                    e.skip()?;
                }
                let reason = e.term()?;
                match op {
                    op::EXIT | op::EXIT_TT => Control::Exit { from, to, reason },
                    _ => Control::Exit2 { from, to, reason },
                }
            }
            op::UNLINK => Control::Unlink { from: e.pid()?, to: e.pid()? },
            op::REG_SEND | op::REG_SEND_TT => {
                let from = e.pid()?;
                e.skip()?;
                Control::RegSend { from, to: e.atom()? }
            }
            op::GROUP_LEADER => Control::GroupLeader { from: e.pid()?, to: e.pid()? },
            op::MONITOR_P => Control::MonitorP { from: e.pid()?, to: e.proc()?, reference: e.reference()? },
            op::DEMONITOR_P => Control::DemonitorP { from: e.pid()?, to: e.proc()?, reference: e.reference()? },
            op::MONITOR_P_EXIT => {
                Control::MonitorPExit { from: e.proc()?, to: e.pid()?, reference: e.reference()?, reason: e.term()? }
            }
            op::SEND_SENDER | op::SEND_SENDER_TT => Control::SendSender { from: e.pid()?, to: e.pid()? },
            op::PAYLOAD_EXIT | op::PAYLOAD_EXIT_TT => Control::PayloadExit { from: e.pid()?, to: e.pid()? },
            op::PAYLOAD_EXIT2 | op::PAYLOAD_EXIT2_TT => Control::PayloadExit2 { from: e.pid()?, to: e.pid()? },
            op::PAYLOAD_MONITOR_P_EXIT => {
                Control::PayloadMonitorPExit { from: e.proc()?, to: e.pid()?, reference: e.reference()? }
            }
            op::SPAWN_REQUEST | op::SPAWN_REQUEST_TT => {
                let (req_id, from, group_leader) = (e.reference()?, e.pid()?, e.pid()?);
                let (module, function, arity) = e.mfa()?;
                Control::SpawnRequest { req_id, from, group_leader, module, function, arity, opts: e.list()? }
            }
            op::SPAWN_REPLY | op::SPAWN_REPLY_TT => {
                let (req_id, to) = (e.reference()?, e.pid()?);
                let flags = u32::try_from(e.uint()?).ok()?;
                let result = match e.proc()? {
                    Proc::Pid(new) => Ok(new),
                    Proc::Name(reason) => Err(reason),
                };
                Control::SpawnReply { req_id, to, flags, result }
            }
            op::ALIAS_SEND | op::ALIAS_SEND_TT => Control::AliasSend { from: e.pid()?, alias: e.reference()? },
            op::UNLINK_ID | op::UNLINK_ID_ACK => {
                let id = e.uint()?;
                let (from, to) = (e.pid()?, e.pid()?);
                match op {
                    op::UNLINK_ID => Control::UnlinkId { id, from, to },
                    _ => Control::UnlinkIdAck { id, from, to },
                }
            }
            _ => return None,
        };
        // What is left is a trace token.
        while e.read < arity {
            e.skip()?;
        }
        e.reader.end();
        Some(control)
    }

    /// Appends the encoding of [`Control::to_term`] (without a version byte) with `encoder`, byte for byte,
    /// without building the term.
    pub fn encode(&self, encoder: &mut Encoder<'_>, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let mut tuple = |arity: u8, out: &mut Vec<u8>| {
            encoder.encode_tuple_header(arity, out);
            encoder.encode_int(i64::from(self.op()), out);
        };
        match self {
            Control::Link { from, to }
            | Control::Unlink { from, to }
            | Control::GroupLeader { from, to }
            | Control::SendSender { from, to }
            | Control::PayloadExit { from, to }
            | Control::PayloadExit2 { from, to } => {
                tuple(3, out);
                encoder.encode_pid(from, out);
                encoder.encode_pid(to, out);
            }
            Control::Send { to } => {
                tuple(3, out);
                encoder.encode_atom(Atom::EMPTY, out);
                encoder.encode_pid(to, out);
            }
            Control::Exit { from, to, reason } | Control::Exit2 { from, to, reason } => {
                tuple(4, out);
                encoder.encode_pid(from, out);
                encoder.encode_pid(to, out);
                encoder.encode_body(reason, out)?;
            }
            Control::RegSend { from, to } => {
                tuple(4, out);
                encoder.encode_pid(from, out);
                encoder.encode_atom(Atom::EMPTY, out);
                encoder.encode_atom(*to, out);
            }
            Control::MonitorP { from, to, reference } | Control::DemonitorP { from, to, reference } => {
                tuple(4, out);
                encoder.encode_pid(from, out);
                to.encode(encoder, out);
                encoder.encode_ref(reference, out);
            }
            Control::MonitorPExit { from, to, reference, reason } => {
                tuple(5, out);
                from.encode(encoder, out);
                encoder.encode_pid(to, out);
                encoder.encode_ref(reference, out);
                encoder.encode_body(reason, out)?;
            }
            Control::PayloadMonitorPExit { from, to, reference } => {
                tuple(4, out);
                from.encode(encoder, out);
                encoder.encode_pid(to, out);
                encoder.encode_ref(reference, out);
            }
            Control::SpawnRequest { req_id, from, group_leader, module, function, arity, opts } => {
                tuple(6, out);
                encoder.encode_ref(req_id, out);
                encoder.encode_pid(from, out);
                encoder.encode_pid(group_leader, out);
                encoder.encode_tuple_header(3, out);
                encoder.encode_atom(*module, out);
                encoder.encode_atom(*function, out);
                encoder.encode_int(i64::from(*arity), out);
                encoder.encode_list(opts, out)?;
            }
            Control::SpawnReply { req_id, to, flags, result } => {
                tuple(5, out);
                encoder.encode_ref(req_id, out);
                encoder.encode_pid(to, out);
                encoder.encode_int(i64::from(*flags), out);
                match result {
                    Ok(new) => encoder.encode_pid(new, out),
                    Err(reason) => encoder.encode_atom(*reason, out),
                }
            }
            Control::AliasSend { from, alias } => {
                tuple(3, out);
                encoder.encode_pid(from, out);
                encoder.encode_ref(alias, out);
            }
            Control::UnlinkId { id, from, to } | Control::UnlinkIdAck { id, from, to } => {
                tuple(4, out);
                // Ids past 63 bits are bigs, as `Term::from` makes them.
                match i64::try_from(*id) {
                    Ok(small) => encoder.encode_int(small, out),
                    Err(_) => encoder.encode_body(&Term::from(*id), out)?,
                }
                encoder.encode_pid(from, out);
                encoder.encode_pid(to, out);
            }
        }
        Ok(())
    }

    /// The control tuple, always with the plain (non-`_TT`) op and `''` in unused elements.
    pub fn to_term(&self) -> Term {
        let elements = match self {
            Control::Link { from, to } => vec![int(op::LINK), pid(from), pid(to)],
            Control::Send { to } => vec![int(op::SEND), Term::Atom(Atom::EMPTY), pid(to)],
            Control::Exit { from, to, reason } => vec![int(op::EXIT), pid(from), pid(to), reason.clone()],
            Control::Unlink { from, to } => vec![int(op::UNLINK), pid(from), pid(to)],
            Control::RegSend { from, to } => {
                vec![int(op::REG_SEND), pid(from), Term::Atom(Atom::EMPTY), Term::Atom(*to)]
            }
            Control::GroupLeader { from, to } => vec![int(op::GROUP_LEADER), pid(from), pid(to)],
            Control::Exit2 { from, to, reason } => vec![int(op::EXIT2), pid(from), pid(to), reason.clone()],
            Control::MonitorP { from, to, reference } => {
                vec![int(op::MONITOR_P), pid(from), to.to_term(), Term::Ref(*reference)]
            }
            Control::DemonitorP { from, to, reference } => {
                vec![int(op::DEMONITOR_P), pid(from), to.to_term(), Term::Ref(*reference)]
            }
            Control::MonitorPExit { from, to, reference, reason } => {
                vec![int(op::MONITOR_P_EXIT), from.to_term(), pid(to), Term::Ref(*reference), reason.clone()]
            }
            Control::SendSender { from, to } => vec![int(op::SEND_SENDER), pid(from), pid(to)],
            Control::PayloadExit { from, to } => vec![int(op::PAYLOAD_EXIT), pid(from), pid(to)],
            Control::PayloadExit2 { from, to } => vec![int(op::PAYLOAD_EXIT2), pid(from), pid(to)],
            Control::PayloadMonitorPExit { from, to, reference } => {
                vec![int(op::PAYLOAD_MONITOR_P_EXIT), from.to_term(), pid(to), Term::Ref(*reference)]
            }
            Control::SpawnRequest { req_id, from, group_leader, module, function, arity, opts } => vec![
                int(op::SPAWN_REQUEST),
                Term::Ref(*req_id),
                pid(from),
                pid(group_leader),
                Term::Tuple(vec![Term::Atom(*module), Term::Atom(*function), int(*arity)]),
                Term::List(opts.clone()),
            ],
            Control::SpawnReply { req_id, to, flags, result } => {
                let result = match *result {
                    Ok(new) => Term::Pid(new),
                    Err(reason) => Term::Atom(reason),
                };
                vec![int(op::SPAWN_REPLY), Term::Ref(*req_id), pid(to), Term::from(*flags), result]
            }
            Control::AliasSend { from, alias } => vec![int(op::ALIAS_SEND), pid(from), Term::Ref(*alias)],
            Control::UnlinkId { id, from, to } => vec![int(op::UNLINK_ID), Term::from(*id), pid(from), pid(to)],
            Control::UnlinkIdAck { id, from, to } => {
                vec![int(op::UNLINK_ID_ACK), Term::from(*id), pid(from), pid(to)]
            }
        };
        Term::Tuple(elements)
    }

    /// The op [`Control::to_term`] writes (never a `_TT` op).
    pub fn op(&self) -> u8 {
        match self {
            Control::Link { .. } => op::LINK,
            Control::Send { .. } => op::SEND,
            Control::Exit { .. } => op::EXIT,
            Control::Unlink { .. } => op::UNLINK,
            Control::RegSend { .. } => op::REG_SEND,
            Control::GroupLeader { .. } => op::GROUP_LEADER,
            Control::Exit2 { .. } => op::EXIT2,
            Control::MonitorP { .. } => op::MONITOR_P,
            Control::DemonitorP { .. } => op::DEMONITOR_P,
            Control::MonitorPExit { .. } => op::MONITOR_P_EXIT,
            Control::SendSender { .. } => op::SEND_SENDER,
            Control::PayloadExit { .. } => op::PAYLOAD_EXIT,
            Control::PayloadExit2 { .. } => op::PAYLOAD_EXIT2,
            Control::PayloadMonitorPExit { .. } => op::PAYLOAD_MONITOR_P_EXIT,
            Control::SpawnRequest { .. } => op::SPAWN_REQUEST,
            Control::SpawnReply { .. } => op::SPAWN_REPLY,
            Control::AliasSend { .. } => op::ALIAS_SEND,
            Control::UnlinkId { .. } => op::UNLINK_ID,
            Control::UnlinkIdAck { .. } => op::UNLINK_ID_ACK,
        }
    }

    /// `true` when a second term follows the control tuple in the same message: the message of a send
    /// (`SEND`, `REG_SEND`, `SEND_SENDER`, `ALIAS_SEND`), the exit reason of the `PAYLOAD_*` ops, or the
    /// argument list of a `SPAWN_REQUEST`.
    pub fn has_payload(&self) -> bool {
        matches!(
            self,
            Control::Send { .. }
                | Control::RegSend { .. }
                | Control::SendSender { .. }
                | Control::AliasSend { .. }
                | Control::PayloadExit { .. }
                | Control::PayloadExit2 { .. }
                | Control::PayloadMonitorPExit { .. }
                | Control::SpawnRequest { .. }
        )
    }
}

fn int(value: impl Into<i64>) -> Term {
    Term::Int(value.into())
}

fn pid(pid: &Pid) -> Term {
    Term::Pid(*pid)
}

/// The elements of a control tuple of a known op and size, read with typed errors.
struct Elements<'a> {
    op: u8,
    elements: &'a [Term],
}

/// The elements of a control tuple as [`Control::read`] reads them, counted.
struct Parts<'x, 'a, 'c> {
    reader: &'x mut BodyReader<'a, 'c>,
    /// Elements read so far, the op included.
    read: usize,
}

impl<'a, 'c> Parts<'_, 'a, 'c> {
    fn next(&mut self) -> &mut BodyReader<'a, 'c> {
        self.read += 1;
        self.reader
    }

    fn skip(&mut self) -> Option<()> {
        self.next().term().map(drop)
    }

    fn term(&mut self) -> Option<Term> {
        self.next().term()
    }

    fn pid(&mut self) -> Option<Pid> {
        self.next().pid()
    }

    fn atom(&mut self) -> Option<Atom> {
        self.next().atom()
    }

    fn reference(&mut self) -> Option<Ref> {
        self.next().reference()
    }

    fn uint(&mut self) -> Option<u64> {
        self.next().uint()
    }

    /// A pid or an atom, read as such rather than as a whole term.
    fn proc(&mut self) -> Option<Proc> {
        let reader = self.next();
        let at = reader.position();
        match reader.pid() {
            Some(pid) => Some(Proc::Pid(pid)),
            // Not a pid at all, rather than a broken one.
            None if reader.position() == at => reader.atom().map(Proc::Name),
            None => None,
        }
    }

    fn list(&mut self) -> Option<Vec<Term>> {
        self.term()?.into_list().ok()
    }

    fn mfa(&mut self) -> Option<(Atom, Atom, u8)> {
        let reader = self.next();
        if reader.tuple()? != 3 {
            return None;
        }
        let (module, function) = (reader.atom()?, reader.atom()?);
        let arity = u8::try_from(reader.int()?).ok()?;
        reader.end();
        Some((module, function, arity))
    }
}

impl Elements<'_> {
    /// Element `element`, numbered from 1.
    fn get(&self, element: usize) -> Result<&Term, ControlError> {
        element.checked_sub(1).and_then(|i| self.elements.get(i)).ok_or(ControlError::WrongArity {
            op: self.op,
            expected: tuple_size(self.op).unwrap_or(element),
            got: self.elements.len(),
        })
    }

    fn wrong(&self, element: usize, expected: &'static str) -> ControlError {
        ControlError::WrongType { op: self.op, element, expected }
    }

    fn any(&self, element: usize) -> Result<Term, ControlError> {
        self.get(element).cloned()
    }

    fn pid(&self, element: usize) -> Result<Pid, ControlError> {
        self.get(element)?.as_pid().ok_or_else(|| self.wrong(element, "a pid"))
    }

    fn atom(&self, element: usize) -> Result<Atom, ControlError> {
        self.get(element)?.as_atom().ok_or_else(|| self.wrong(element, "an atom"))
    }

    fn reference(&self, element: usize) -> Result<Ref, ControlError> {
        self.get(element)?.as_ref().copied().ok_or_else(|| self.wrong(element, "a reference"))
    }

    fn proc(&self, element: usize) -> Result<Proc, ControlError> {
        Proc::from_term(self.get(element)?).ok_or_else(|| self.wrong(element, "a pid or an atom"))
    }

    fn list(&self, element: usize) -> Result<Vec<Term>, ControlError> {
        self.get(element)?.to_list().ok_or_else(|| self.wrong(element, "a proper list"))
    }

    fn flags(&self, element: usize) -> Result<u32, ControlError> {
        let flags = self.get(element)?.as_i64().and_then(|f| u32::try_from(f).ok());
        flags.ok_or_else(|| self.wrong(element, "an integer in 0..2^32"))
    }

    fn id(&self, element: usize) -> Result<u64, ControlError> {
        let id = match self.get(element)? {
            Term::Int(i) => u64::try_from(*i).ok(),
            Term::Big(big) => big.to_u128().and_then(|b| u64::try_from(b).ok()),
            _ => None,
        };
        id.ok_or_else(|| self.wrong(element, "an integer in 0..2^64"))
    }

    fn mfa(&self, element: usize) -> Result<(Atom, Atom, u8), ControlError> {
        let mfa = match self.get(element)?.as_tuple() {
            Some([module, function, arity]) => match (module.as_atom(), function.as_atom(), arity.as_i64()) {
                (Some(module), Some(function), Some(arity)) => u8::try_from(arity).ok().map(|a| (module, function, a)),
                _ => None,
            },
            _ => None,
        };
        mfa.ok_or_else(|| self.wrong(element, "{Module, Function, Arity} with an arity in 0..=255"))
    }

    fn spawn_result(&self, element: usize) -> Result<Result<Pid, Atom>, ControlError> {
        match self.get(element)? {
            Term::Pid(new) => Ok(Ok(*new)),
            Term::Atom(reason) => Ok(Err(*reason)),
            _ => Err(self.wrong(element, "a pid or an atom")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Term {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn p(id: u32) -> Pid {
        Pid::new(Atom::new("a@h"), id, 0, 0)
    }

    fn r(id: u32) -> Ref {
        Ref::new(Atom::new("b@h"), 0, &[id, 2, 3]).unwrap()
    }

    /// One control message of each variant, and its tuple in Erlang syntax.
    fn samples() -> Vec<(Control, &'static str)> {
        let a = |s: &str| Atom::new(s);
        vec![
            (Control::Link { from: p(1), to: p(2) }, "{1, <a@h.1.0>, <a@h.2.0>}"),
            (Control::Send { to: p(2) }, "{2, '', <a@h.2.0>}"),
            (
                Control::Exit { from: p(1), to: p(2), reason: parse("{shutdown, \"x\"}") },
                "{3, <a@h.1.0>, <a@h.2.0>, {shutdown, \"x\"}}",
            ),
            (Control::Unlink { from: p(1), to: p(2) }, "{4, <a@h.1.0>, <a@h.2.0>}"),
            (Control::RegSend { from: p(1), to: a("net_kernel") }, "{6, <a@h.1.0>, '', net_kernel}"),
            (Control::GroupLeader { from: p(1), to: p(2) }, "{7, <a@h.1.0>, <a@h.2.0>}"),
            (Control::Exit2 { from: p(1), to: p(2), reason: parse("kill") }, "{8, <a@h.1.0>, <a@h.2.0>, kill}"),
            (
                Control::MonitorP { from: p(1), to: Proc::Pid(p(2)), reference: r(9) },
                "{19, <a@h.1.0>, <a@h.2.0>, #Ref<b@h.3.2.9>}",
            ),
            (
                Control::MonitorP { from: p(1), to: Proc::Name(a("net_kernel")), reference: r(9) },
                "{19, <a@h.1.0>, net_kernel, #Ref<b@h.3.2.9>}",
            ),
            (
                Control::DemonitorP { from: p(1), to: Proc::Name(a("rex")), reference: r(9) },
                "{20, <a@h.1.0>, rex, #Ref<b@h.3.2.9>}",
            ),
            (
                Control::MonitorPExit { from: Proc::Pid(p(2)), to: p(1), reference: r(9), reason: parse("normal") },
                "{21, <a@h.2.0>, <a@h.1.0>, #Ref<b@h.3.2.9>, normal}",
            ),
            (Control::SendSender { from: p(1), to: p(2) }, "{22, <a@h.1.0>, <a@h.2.0>}"),
            (Control::PayloadExit { from: p(1), to: p(2) }, "{24, <a@h.1.0>, <a@h.2.0>}"),
            (Control::PayloadExit2 { from: p(1), to: p(2) }, "{26, <a@h.1.0>, <a@h.2.0>}"),
            (
                Control::PayloadMonitorPExit { from: Proc::Name(a("net_kernel")), to: p(1), reference: r(9) },
                "{28, net_kernel, <a@h.1.0>, #Ref<b@h.3.2.9>}",
            ),
            (
                Control::SpawnRequest {
                    req_id: r(9),
                    from: p(1),
                    group_leader: p(5),
                    module: a("erpc"),
                    function: a("execute_call"),
                    arity: 4,
                    opts: vec![parse("monitor"), parse("{priority, high}")],
                },
                "{29, #Ref<b@h.3.2.9>, <a@h.1.0>, <a@h.5.0>, {erpc, execute_call, 4}, [monitor, {priority, high}]}",
            ),
            (
                Control::SpawnReply { req_id: r(9), to: p(1), flags: SPAWN_REPLY_MONITOR, result: Ok(p(6)) },
                "{31, #Ref<b@h.3.2.9>, <a@h.1.0>, 2, <a@h.6.0>}",
            ),
            (
                Control::SpawnReply { req_id: r(9), to: p(1), flags: 0, result: Err(a("system_limit")) },
                "{31, #Ref<b@h.3.2.9>, <a@h.1.0>, 0, system_limit}",
            ),
            (Control::AliasSend { from: p(1), alias: r(9) }, "{33, <a@h.1.0>, #Ref<b@h.3.2.9>}"),
            (Control::UnlinkId { id: 1, from: p(1), to: p(2) }, "{35, 1, <a@h.1.0>, <a@h.2.0>}"),
            (
                Control::UnlinkId { id: u64::MAX, from: p(1), to: p(2) },
                "{35, 18446744073709551615, <a@h.1.0>, <a@h.2.0>}",
            ),
            (Control::UnlinkIdAck { id: 1 << 40, from: p(2), to: p(1) }, "{36, 1099511627776, <a@h.2.0>, <a@h.1.0>}"),
        ]
    }

    #[test]
    fn every_op_round_trips() {
        let samples = samples();
        for (control, text) in &samples {
            let tuple = parse(text);
            assert_eq!(control.to_term(), tuple, "{control:?}");
            assert_eq!(Control::from_term(&tuple).as_ref(), Ok(control), "{text}");
            assert_eq!(tuple.as_tuple().and_then(|t| t[0].as_i64()), Some(i64::from(control.op())), "{text}");
            // Through the bytes too: the integers and atoms come back in the same shape.
            let bytes = tuple.encode().unwrap();
            assert_eq!(Control::from_term(&Term::decode(&bytes).unwrap()).as_ref(), Ok(control), "{text}");
            assert_eq!(control.to_term().encode().unwrap(), bytes, "{text}");
        }
        let mut ops: Vec<u8> = samples.iter().map(|(c, _)| c.op()).collect();
        ops.dedup();
        assert_eq!(ops, [1, 2, 3, 4, 6, 7, 8, 19, 20, 21, 22, 24, 26, 28, 29, 31, 33, 35, 36]);
    }

    /// What [`Control::read`] makes of the encoding of `term`, checked against [`Control::from_term`]: when
    /// it reads one, it is `from_term`'s and it read the whole term.
    fn read_checked(term: &Term) -> Option<Control> {
        let mut bytes = Vec::new();
        erlnode_etf::Encoder::new().utf8_atoms(true).encode_body(term, &mut bytes).unwrap();
        read_bytes_checked(&bytes)
    }

    fn read_bytes_checked(bytes: &[u8]) -> Option<Control> {
        let bytes = bytes::Bytes::copy_from_slice(bytes);
        let decoder = erlnode_etf::Decoder::new();
        let mut reader = BodyReader::new(&decoder, &bytes, 0);
        let read = Control::read(&mut reader)?;
        let (term, used) = decoder.decode_body_bytes(&bytes).expect("what read takes decodes");
        assert_eq!((Control::from_term(&term), used), (Ok(read.clone()), reader.position()), "{term}");
        Some(read)
    }

    #[test]
    fn read_from_bytes_agrees_with_from_term() {
        for (control, text) in samples() {
            assert_eq!(read_checked(&parse(text)), Some(control), "{text}");
        }
        let token = "{0, label, 3, <a@h.1.0>, 2}";
        for traced in [
            "{12, '', <a@h.2.0>, T}",
            "{13, <a@h.1.0>, <a@h.2.0>, T, {shutdown, \"x\"}}",
            "{16, <a@h.1.0>, '', net_kernel, T}",
            "{30, #Ref<b@h.3.2.9>, <a@h.1.0>, <a@h.5.0>, {erlang, apply, 2}, [link], T}",
            "{32, #Ref<b@h.3.2.9>, <a@h.1.0>, 1, <a@h.6.0>, T}",
            "{34, <a@h.1.0>, #Ref<b@h.3.2.9>, T}",
            "{2, some_cookie, <a@h.2.0>}",
            "{6, <a@h.1.0>, [1, 2], rex}",
            "{29, #Ref<b@h.1.2.3>, <a@h.1.0>, <a@h.2.0>, {m, f, 255}, \"ab\"}",
            "{21, rex, <a@h.1.0>, #Ref<b@h.1.2.3>, {big, 123456789012345678901234567890}}",
        ] {
            let term = parse(&traced.replace('T', token));
            assert!(read_checked(&term).is_some(), "{term}");
        }
        let big_id = Term::Tuple(vec![Term::Int(35), Term::Big(5u64.into()), Term::Pid(p(1)), Term::Pid(p(2))]);
        assert_eq!(read_checked(&big_id), Some(Control::UnlinkId { id: 5, from: p(1), to: p(2) }));
        // Other shapes are left to from_term, which says what is wrong (or reads an odd but valid form).
        for other in [
            "[1, 2]",
            "{}",
            "{link, <a@h.1.0>, <a@h.2.0>}",
            "{5, <a@h.1.0>, <a@h.2.0>}",
            "{1, <a@h.1.0>}",
            "{1, <a@h.1.0>, foo}",
            "{6, <a@h.1.0>, '', \"rex\"}",
            "{29, #Ref<b@h.1.2.3>, <a@h.1.0>, <a@h.2.0>, {m, f, 256}, []}",
            "{29, #Ref<b@h.1.2.3>, <a@h.1.0>, <a@h.2.0>, {m, f, 1}, [link | monitor]}",
            "{31, #Ref<b@h.1.2.3>, <a@h.1.0>, -1, badopt}",
            "{31, #Ref<b@h.1.2.3>, <a@h.1.0>, 4294967296, badopt}",
            "{35, 18446744073709551616, <a@h.1.0>, <a@h.2.0>}",
            "{35, -1, <a@h.1.0>, <a@h.2.0>}",
        ] {
            assert_eq!(read_checked(&parse(other)), None, "{other}");
        }
    }

    #[test]
    fn read_keeps_to_the_decoders_depth_limit() {
        let text = "{29, #Ref<b@h.1.2.3>, <a@h.1.0>, <a@h.2.0>, {m, f, 1}, [{monitor, []}]}";
        let mut bytes = Vec::new();
        erlnode_etf::Encoder::new().encode_body(&parse(text), &mut bytes).unwrap();
        let bytes = bytes::Bytes::from(bytes);
        for depth in 0..4 {
            let decoder = erlnode_etf::Decoder::new().max_depth(depth);
            let read = Control::read(&mut BodyReader::new(&decoder, &bytes, 0));
            let whole = decoder.decode_body_bytes(&bytes).ok().map(|(term, _)| Control::from_term(&term).unwrap());
            assert_eq!(read, whole, "max_depth {depth}");
        }
    }

    proptest::proptest! {
        /// Damaged encodings: whatever `read` still reads is what `from_term` reads.
        #[test]
        fn read_agrees_with_from_term_on_damaged_bytes(
            sample in 0..19usize,
            damage in proptest::collection::vec((0..200usize, proptest::num::u8::ANY), 1..4),
            cut in 0..200usize,
        ) {
            let samples = samples();
            let (_, text) = samples[sample % samples.len()];
            let mut bytes = Vec::new();
            erlnode_etf::Encoder::new().utf8_atoms(true).encode_body(&parse(text), &mut bytes).unwrap();
            for (at, byte) in damage {
                let at = at % bytes.len();
                bytes[at] = byte;
            }
            bytes.truncate(bytes.len() - cut % bytes.len());
            let _ = read_bytes_checked(&bytes);
        }
    }

    #[test]
    fn encode_writes_the_bytes_of_to_term() {
        let mut controls: Vec<Control> = samples().into_iter().map(|(control, _)| control).collect();
        // A big id, an exit with a nested reason, options that make a string, none at all.
        controls.push(Control::UnlinkId { id: u64::MAX, from: p(1), to: p(2) });
        controls.push(Control::Exit { from: p(1), to: p(2), reason: parse("{shutdown, [{a, <<1, 2>>}]}") });
        let spawn = |opts: Vec<Term>| Control::SpawnRequest {
            req_id: r(1),
            from: p(1),
            group_leader: p(2),
            module: Atom::new("m"),
            function: Atom::new("f"),
            arity: 0,
            opts,
        };
        controls.push(spawn(vec![Term::Int(1), Term::Int(2)]));
        controls.push(spawn(Vec::new()));
        for utf8 in [true, false] {
            for control in &controls {
                let mut direct = Vec::new();
                control.encode(&mut Encoder::new().utf8_atoms(utf8), &mut direct).unwrap();
                let mut via_term = Vec::new();
                Encoder::new().utf8_atoms(utf8).encode_body(&control.to_term(), &mut via_term).unwrap();
                assert_eq!(direct, via_term, "{control:?}");
            }
        }
        let bad = Control::Exit { from: p(1), to: p(2), reason: Term::Float(f64::NAN) };
        assert!(bad.encode(&mut Encoder::new(), &mut Vec::new()).is_err());
    }

    #[test]
    fn payload_ops() {
        for (control, text) in samples() {
            let expected = matches!(control.op(), 2 | 6 | 22 | 24 | 26 | 28 | 29 | 33);
            assert_eq!(control.has_payload(), expected, "{text}");
        }
    }

    #[test]
    fn unused_elements_may_hold_anything() {
        let send = Control::from_term(&parse("{2, some_cookie, <a@h.2.0>}")).unwrap();
        assert_eq!(send, Control::Send { to: p(2) });
        assert_eq!(send.to_term(), parse("{2, '', <a@h.2.0>}"));
        let reg = Control::from_term(&parse("{6, <a@h.1.0>, [1, 2], rex}")).unwrap();
        assert_eq!(reg, Control::RegSend { from: p(1), to: Atom::new("rex") });
        assert_eq!(reg.to_term(), parse("{6, <a@h.1.0>, '', rex}"));
    }

    #[test]
    fn trace_tokens_are_dropped() {
        let token = "{0, label, 3, <a@h.1.0>, 2}";
        let cases = [
            ("{12, '', <a@h.2.0>, T}", "{2, '', <a@h.2.0>}"),
            ("{13, <a@h.1.0>, <a@h.2.0>, T, {shutdown, \"x\"}}", "{3, <a@h.1.0>, <a@h.2.0>, {shutdown, \"x\"}}"),
            ("{16, <a@h.1.0>, '', net_kernel, T}", "{6, <a@h.1.0>, '', net_kernel}"),
            ("{18, <a@h.1.0>, <a@h.2.0>, T, kill}", "{8, <a@h.1.0>, <a@h.2.0>, kill}"),
            ("{23, <a@h.1.0>, <a@h.2.0>, T}", "{22, <a@h.1.0>, <a@h.2.0>}"),
            ("{25, <a@h.1.0>, <a@h.2.0>, T}", "{24, <a@h.1.0>, <a@h.2.0>}"),
            ("{27, <a@h.1.0>, <a@h.2.0>, T}", "{26, <a@h.1.0>, <a@h.2.0>}"),
            (
                "{30, #Ref<b@h.3.2.9>, <a@h.1.0>, <a@h.5.0>, {erlang, apply, 2}, [link], T}",
                "{29, #Ref<b@h.3.2.9>, <a@h.1.0>, <a@h.5.0>, {erlang, apply, 2}, [link]}",
            ),
            ("{32, #Ref<b@h.3.2.9>, <a@h.1.0>, 1, <a@h.6.0>, T}", "{31, #Ref<b@h.3.2.9>, <a@h.1.0>, 1, <a@h.6.0>}"),
            ("{34, <a@h.1.0>, #Ref<b@h.3.2.9>, T}", "{33, <a@h.1.0>, #Ref<b@h.3.2.9>}"),
        ];
        for (traced, plain) in cases {
            let traced = parse(&traced.replace('T', token));
            let control = Control::from_term(&traced).unwrap_or_else(|e| panic!("{traced}: {e}"));
            assert_eq!(control.to_term(), parse(plain), "{traced}");
            assert_eq!(Control::from_term(&parse(plain)).unwrap(), control, "{plain}");
        }
    }

    #[test]
    fn not_a_control_tuple() {
        assert_eq!(Control::from_term(&parse("[1, 2]")), Err(ControlError::NotATuple));
        assert_eq!(Control::from_term(&parse("{}")), Err(ControlError::EmptyTuple));
        assert_eq!(Control::from_term(&parse("{link, <a@h.1.0>, <a@h.2.0>}")), Err(ControlError::OpNotAnInteger));
        assert_eq!(Control::from_term(&parse("{99999999999999999999}")), Err(ControlError::OpNotAnInteger));
    }

    #[test]
    fn unknown_ops() {
        for op in [0, 5, 9, 10, 11, 14, 15, 17, 37, 255, 256, -1, i64::MAX] {
            let tuple = Term::Tuple(vec![Term::Int(op), Term::Pid(p(1)), Term::Pid(p(2))]);
            assert_eq!(Control::from_term(&tuple), Err(ControlError::UnknownOp(op)), "{op}");
        }
        // OTP 28's ALTACT_SIG_SEND, which erlnode never negotiates.
        let altact = parse("{37, 0, <a@h.1.0>, <a@h.2.0>}");
        assert_eq!(Control::from_term(&altact), Err(ControlError::UnknownOp(37)));
    }

    #[test]
    fn wrong_arity_for_every_op() {
        let ops: Vec<u8> = (0..=u8::MAX).filter(|&op| tuple_size(op).is_some()).collect();
        assert_eq!(ops.len(), 29);
        for op in ops {
            let expected = tuple_size(op).unwrap();
            for got in [1, expected - 1, expected + 1] {
                let mut elements = vec![Term::Int(i64::from(op))];
                elements.resize(got, Term::Pid(p(1)));
                let result = Control::from_term(&Term::Tuple(elements));
                assert_eq!(result, Err(ControlError::WrongArity { op, expected, got }), "op {op}");
            }
        }
    }

    #[test]
    fn wrong_element_types() {
        let wrong = |text: &str| Control::from_term(&parse(text)).unwrap_err();
        let case = |op, element, expected| ControlError::WrongType { op, element, expected };
        assert_eq!(wrong("{1, <a@h.1.0>, foo}"), case(1, 3, "a pid"));
        assert_eq!(wrong("{2, '', foo}"), case(2, 3, "a pid"));
        assert_eq!(wrong("{3, 1, <a@h.2.0>, normal}"), case(3, 2, "a pid"));
        assert_eq!(wrong("{6, <a@h.1.0>, '', \"rex\"}"), case(6, 4, "an atom"));
        assert_eq!(wrong("{19, <a@h.1.0>, {rex, 'a@h'}, #Ref<b@h.1.2.3>}"), case(19, 3, "a pid or an atom"));
        assert_eq!(wrong("{20, <a@h.1.0>, rex, make_ref}"), case(20, 4, "a reference"));
        assert_eq!(wrong("{21, 7, <a@h.1.0>, #Ref<b@h.1.2.3>, normal}"), case(21, 2, "a pid or an atom"));
        assert_eq!(wrong("{28, rex, rex, #Ref<b@h.1.2.3>}"), case(28, 3, "a pid"));
        let mfa = "{Module, Function, Arity} with an arity in 0..=255";
        let spawn = |mfa_text: &str, opts: &str| {
            wrong(&format!("{{29, #Ref<b@h.1.2.3>, <a@h.1.0>, <a@h.2.0>, {mfa_text}, {opts}}}"))
        };
        assert_eq!(spawn("{m, f, 256}", "[]"), case(29, 5, mfa));
        assert_eq!(spawn("{m, f, -1}", "[]"), case(29, 5, mfa));
        assert_eq!(spawn("{m, f}", "[]"), case(29, 5, mfa));
        assert_eq!(spawn("{m, \"f\", 1}", "[]"), case(29, 5, mfa));
        assert_eq!(spawn("[m, f, 1]", "[]"), case(29, 5, mfa));
        assert_eq!(spawn("{m, f, 1}", "[link | monitor]"), case(29, 6, "a proper list"));
        assert_eq!(spawn("{m, f, 1}", "link"), case(29, 6, "a proper list"));
        assert_eq!(wrong("{29, <a@h.1.0>, <a@h.1.0>, <a@h.2.0>, {m, f, 1}, []}"), case(29, 2, "a reference"));
        // The first wrong element is the one reported.
        assert_eq!(wrong("{29, <a@h.1.0>, <a@h.1.0>, <a@h.2.0>, {m, f}, x}"), case(29, 2, "a reference"));
        let flags = "an integer in 0..2^32";
        assert_eq!(wrong("{31, #Ref<b@h.1.2.3>, <a@h.1.0>, -1, badopt}"), case(31, 4, flags));
        assert_eq!(wrong("{31, #Ref<b@h.1.2.3>, <a@h.1.0>, 4294967296, badopt}"), case(31, 4, flags));
        assert_eq!(wrong("{31, #Ref<b@h.1.2.3>, <a@h.1.0>, 0, {error, badopt}}"), case(31, 5, "a pid or an atom"));
        assert_eq!(wrong("{33, <a@h.1.0>, <a@h.2.0>}"), case(33, 3, "a reference"));
        let id = "an integer in 0..2^64";
        assert_eq!(wrong("{35, -1, <a@h.1.0>, <a@h.2.0>}"), case(35, 2, id));
        assert_eq!(wrong("{35, 18446744073709551616, <a@h.1.0>, <a@h.2.0>}"), case(35, 2, id));
        assert_eq!(wrong("{36, 1.0, <a@h.1.0>, <a@h.2.0>}"), case(36, 2, id));
        // The token of a _TT op is not looked at, but the rest is.
        assert_eq!(wrong("{13, <a@h.1.0>, x, token, normal}"), case(13, 3, "a pid"));
    }

    #[test]
    fn odd_but_valid_elements() {
        // A non-canonical big for an id, a charlist of options, and the smallest and largest arities.
        let id = Term::Big(erlnode_etf::BigInt::from(5u64));
        let tuple = Term::Tuple(vec![Term::Int(35), id, Term::Pid(p(1)), Term::Pid(p(2))]);
        assert_eq!(Control::from_term(&tuple), Ok(Control::UnlinkId { id: 5, from: p(1), to: p(2) }));
        let spawn = Control::from_term(&parse("{29, #Ref<b@h.1.2.3>, <a@h.1.0>, <a@h.2.0>, {m, f, 255}, \"ab\"}"));
        assert!(matches!(spawn, Ok(Control::SpawnRequest { arity: 255, ref opts, .. }) if opts.len() == 2));
        let spawn = Control::from_term(&parse("{29, #Ref<b@h.1.2.3>, <a@h.1.0>, <a@h.2.0>, {m, f, 0}, []}"));
        assert!(matches!(spawn, Ok(Control::SpawnRequest { arity: 0, .. })));
    }

    #[test]
    fn errors_read_well() {
        let e = ControlError::WrongType { op: 19, element: 3, expected: "a pid or an atom" };
        assert_eq!(e.to_string(), "element 3 of control message op 19 is not a pid or an atom");
        let e = ControlError::WrongArity { op: 1, expected: 3, got: 4 };
        assert_eq!(e.to_string(), "control message op 1 needs a tuple of 3 elements, got 4");
        assert_eq!(ControlError::UnknownOp(37).to_string(), "unknown control message op 37");
    }

    #[test]
    fn proc_conversions() {
        assert_eq!(Proc::from(p(1)).to_term(), Term::Pid(p(1)));
        assert_eq!(Proc::from(Atom::new("rex")).to_term(), Term::atom("rex"));
        assert_eq!(Proc::from_term(&Term::atom("rex")), Some(Proc::Name(Atom::new("rex"))));
        assert_eq!(Proc::from_term(&Term::Int(1)), None);
    }
}
