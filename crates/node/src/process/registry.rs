//! Registered names, with Erlang's rules.
//!
//! A name maps to one live local process and a process has at most one name. `register` fails (Erlang's
//! `badarg`) for the name `undefined`, a name already taken, a process that already has a name, and a
//! process that is not alive; `unregister` fails for a name nobody holds. A name is released when its
//! process ends, before the process's links and monitors hear of it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::hash::BuildNumberHasher;
use std::sync::{Mutex, MutexGuard, PoisonError};

use erlnode_etf::{Atom, Pid};

use crate::Node;

/// Why `register` failed; Erlang raises `badarg` for each.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegisterError {
    /// The name `undefined` cannot be registered.
    #[error("badarg: the name 'undefined' cannot be registered")]
    Undefined,
    /// Another process holds the name.
    #[error("badarg: {name} is already registered to {holder}")]
    NameTaken {
        /// The name.
        name: Atom,
        /// The process that holds it.
        holder: Pid,
    },
    /// The process already has a name (Erlang's error cause `registered_name`).
    #[error("badarg: {pid} is already registered as {name}")]
    AlreadyNamed {
        /// The process.
        pid: Pid,
        /// Its name.
        name: Atom,
    },
    /// The process is not alive, or not a process of this node (Erlang's error cause `notalive`).
    #[error("badarg: {0} is not alive")]
    NotAlive(Pid),
}

/// Why `unregister` failed (Erlang raises `badarg`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnregisterError {
    /// No process holds the name.
    #[error("badarg: {0} is not registered")]
    NotRegistered(Atom),
}

/// Why a send by name failed (Erlang raises `badarg`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// No process holds the name.
    #[error("badarg: no process is registered as {0}")]
    NotRegistered(Atom),
}

/// The names of one node.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    names: Mutex<HashMap<Atom, Pid, BuildNumberHasher>>,
    /// Counts every change of a name's holder, so that a lookup can be kept until the next one.
    changes: AtomicU64,
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, HashMap<Atom, Pid, BuildNumberHasher>> {
        self.names.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers `pid` of `node` as `name`.
    pub(crate) fn register(&self, node: &Node, name: Atom, pid: Pid) -> Result<(), RegisterError> {
        if name == Atom::UNDEFINED {
            return Err(RegisterError::Undefined);
        }
        let mut names = self.lock();
        if let Some(&holder) = names.get(&name) {
            return Err(RegisterError::NameTaken { name, holder });
        }
        let entry = node.lookup(pid).ok_or(RegisterError::NotAlive(pid))?;
        let mut state = entry.lock();
        if !state.alive {
            return Err(RegisterError::NotAlive(pid));
        }
        if let Some(name) = state.name {
            return Err(RegisterError::AlreadyNamed { pid, name });
        }
        state.name = Some(name);
        names.insert(name, pid);
        self.changes.fetch_add(1, Ordering::Release);
        Ok(())
    }

    /// Removes the name `name`.
    pub(crate) fn unregister(&self, node: &Node, name: Atom) -> Result<(), UnregisterError> {
        let mut names = self.lock();
        let pid = names.remove(&name).ok_or(UnregisterError::NotRegistered(name))?;
        self.changes.fetch_add(1, Ordering::Release);
        if let Some(entry) = node.lookup(pid) {
            let mut state = entry.lock();
            if state.name == Some(name) {
                state.name = None;
            }
        }
        Ok(())
    }

    /// The process registered as `name`.
    pub(crate) fn whereis(&self, name: Atom) -> Option<Pid> {
        self.lock().get(&name).copied()
    }

    /// All registered names, in no particular order.
    pub(crate) fn names(&self) -> Vec<Atom> {
        self.lock().keys().copied().collect()
    }

    /// Releases `name` if `pid` still holds it (the process is ending).
    pub(crate) fn release(&self, name: Atom, pid: Pid) {
        let mut names = self.lock();
        if names.get(&name) == Some(&pid) {
            names.remove(&name);
            self.changes.fetch_add(1, Ordering::Release);
        }
    }

    /// How many times a name has been given or taken so far: while this stays the same, every name has the
    /// holder it had.
    pub(crate) fn changes(&self) -> u64 {
        self.changes.load(Ordering::Acquire)
    }
}
