//! Process identifiers.

use crate::Atom;

/// An Erlang process identifier: the node it lives on, its number and serial, and the node's creation.
///
/// The layout is the wire's (NEW_PID_EXT), so a pid crosses nodes unchanged. Two pids are equal only when
/// all four parts are: a pid from an earlier incarnation of a node (another creation) is another process.
///
/// ```
/// use erlnode_etf::{Atom, Pid};
/// let pid = Pid::new(Atom::new("demo@localhost"), 42, 0, 1);
/// assert_eq!(pid.to_string(), "<demo@localhost.42.0>");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pid {
    /// The node the process runs on.
    pub node: Atom,
    /// The process number (15 bits are used by OTP for local pids; all 32 may arrive from peers).
    pub id: u32,
    /// The serial, bumped when process numbers wrap.
    pub serial: u32,
    /// The node's creation (its incarnation number, from EPMD).
    pub creation: u32,
}

/// Hashes number and serial in one word, and the node: pids are map keys on hot paths (links, monitors),
/// and equal pids still hash alike (the creation, left out, only tells apart pids that are unequal).
impl std::hash::Hash for Pid {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(u64::from(self.id) | (u64::from(self.serial) << 32));
        self.node.hash(state);
    }
}

impl Pid {
    /// A pid from its four parts.
    pub const fn new(node: Atom, id: u32, serial: u32, creation: u32) -> Pid {
        Pid { node, id, serial, creation }
    }
}

/// A port identifier: node, number and creation (NEW_PORT_EXT / V4_PORT_EXT).
///
/// ```
/// use erlnode_etf::{Atom, Port};
/// assert_eq!(Port::new(Atom::new("a@h"), 7, 1).to_string(), "#Port<a@h.7>");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Port {
    /// The node the port belongs to.
    pub node: Atom,
    /// The port number (64 bits since OTP 24).
    pub id: u64,
    /// The node's creation.
    pub creation: u32,
}

impl Port {
    /// A port from its three parts.
    pub const fn new(node: Atom, id: u64, creation: u32) -> Port {
        Port { node, id, creation }
    }
}
