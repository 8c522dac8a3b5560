//! The process table: the live processes of a node by pid number, and the pid allocator.
//!
//! Every local send looks its target up here, so the table is split into shards by the low bits of the
//! process number (numbers are handed out in order, so consecutive processes fall in different shards and
//! schedulers rarely meet on one lock), and each shard hashes the bare 28-bit number with one multiply
//! instead of hashing a whole [`Pid`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use erlnode_etf::Pid;

use super::pid_alloc::{ID_BITS, PidAlloc};
use super::{ProcEntry, SpawnError};

/// The number of shards (a power of two).
const SHARDS: usize = 64;

/// The most processes a node runs at once (the BEAM's default `+P`).
pub const MAX_PROCESSES: usize = 1 << 20;

type Shard = HashMap<u32, Arc<ProcEntry>, crate::hash::BuildNumberHasher>;

/// The live processes of one node.
#[derive(Debug)]
pub(crate) struct ProcessTable {
    shards: Box<[Mutex<Shard>]>,
    alloc: Mutex<PidAlloc>,
    len: AtomicUsize,
}

impl Default for ProcessTable {
    fn default() -> ProcessTable {
        ProcessTable {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            alloc: Mutex::default(),
            len: AtomicUsize::new(0),
        }
    }
}

/// The 28-bit process number of a pid (id in the low 15 bits, serial above).
pub(crate) fn number(pid: &Pid) -> u32 {
    pid.id | (pid.serial << ID_BITS)
}

impl ProcessTable {
    fn shard(&self, number: u32) -> MutexGuard<'_, Shard> {
        self.shards[number as usize % SHARDS].lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the entry of `pid` while holding its shard, if the process is in the table. The caller
    /// has checked that `pid` is of this node and incarnation.
    pub(crate) fn with<R>(&self, pid: &Pid, f: impl FnOnce(&ProcEntry) -> R) -> Option<R> {
        let number = number(pid);
        let shard = self.shard(number);
        shard.get(&number).filter(|entry| entry.pid == *pid).map(|entry| f(entry))
    }

    /// The entry of `pid`, if the process is in the table.
    pub(crate) fn get(&self, pid: &Pid) -> Option<Arc<ProcEntry>> {
        let number = number(pid);
        self.shard(number).get(&number).filter(|entry| entry.pid == *pid).cloned()
    }

    /// The entry of the process with number `number`, if one is in the table.
    pub(crate) fn get_number(&self, number: u32) -> Option<Arc<ProcEntry>> {
        self.shard(number).get(&number).cloned()
    }

    /// Allocates a pid of the node with `make_pid` and puts the entry `make` builds for it in the table.
    pub(crate) fn insert(
        &self,
        make_pid: impl Fn(u32, u32) -> Pid,
        make: impl FnOnce(Pid) -> Arc<ProcEntry>,
    ) -> Result<Arc<ProcEntry>, SpawnError> {
        if self.len.fetch_add(1, Ordering::AcqRel) >= MAX_PROCESSES {
            self.len.fetch_sub(1, Ordering::AcqRel);
            return Err(SpawnError::SystemLimit(MAX_PROCESSES));
        }
        // Fewer than MAX_PROCESSES numbers are taken, so this finds a free one within that many tries.
        loop {
            let (id, serial) = self.alloc.lock().unwrap_or_else(PoisonError::into_inner).next_candidate();
            let pid = make_pid(id, serial);
            let number = number(&pid);
            let mut shard = self.shard(number);
            if let std::collections::hash_map::Entry::Vacant(slot) = shard.entry(number) {
                let entry = make(pid);
                slot.insert(Arc::clone(&entry));
                return Ok(entry);
            }
        }
    }

    /// A pid of the node made with `make_pid` that no process in the table has, for a process that ends
    /// before anything could reach it (see `rpc::spawn`). Its number is taken as a spawn takes one, so
    /// no later process gets the same pid before the numbers wrap.
    pub(crate) fn reserve(&self, make_pid: impl Fn(u32, u32) -> Pid) -> Pid {
        loop {
            let (id, serial) = self.alloc.lock().unwrap_or_else(PoisonError::into_inner).next_candidate();
            let pid = make_pid(id, serial);
            let number = number(&pid);
            if !self.shard(number).contains_key(&number) {
                return pid;
            }
        }
    }

    /// Takes the process `pid` out of the table.
    pub(crate) fn remove(&self, pid: &Pid) {
        let number = number(pid);
        let mut shard = self.shard(number);
        if shard.get(&number).is_some_and(|entry| entry.pid == *pid) {
            shard.remove(&number);
            self.len.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// The pids of the live processes, in no particular order.
    pub(crate) fn pids(&self) -> Vec<Pid> {
        let mut pids = Vec::with_capacity(self.len.load(Ordering::Relaxed));
        for number in 0..SHARDS {
            pids.extend(self.shard(number as u32).values().map(|entry| entry.pid));
        }
        pids
    }
}
