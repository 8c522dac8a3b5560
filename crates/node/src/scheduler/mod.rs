//! The schedulers: the threads that run processes, one per core, as the BEAM runs one scheduler per core.
//!
//! Processes are not tokio tasks. A general-purpose executor hands a task that another task woke to
//! whichever thread is idle, so two processes that talk to each other end up on two cores and pay a
//! cross-core wake-up for every message. Here a process woken by a process goes to the waker's scheduler:
//! into its private slot (no lock) if that is free, so a request/reply pair stays on one core and each
//! hop costs no lock, or else into the scheduler's shared queue, where idle schedulers steal from.
//!
//! A process that sends without pause (a producer) would keep its consumer waiting in the slot until its
//! poll ends. So each poll has a budget of reductions (a send costs one, as on the BEAM): when it is spent
//! and another scheduler is idle, the slot's process moves to the shared queue for that scheduler to take,
//! and producer and consumer run side by side, the consumer taking its mailbox in batches.
//!
//! An idle scheduler steals half of the longest shared queue; finding none, it sleeps until a scheduler
//! with more work than it runs wakes it. With `ERLNODE_BUSY_WAIT_US` set (as `erl +sbwt`), one idle
//! scheduler at a time first spins that long, which saves a wake-up when work comes back quickly but takes
//! CPU from everything else on the machine. A wake from outside the schedulers (a
//! timer, a tokio task, a plain thread) queues the process on the scheduler that ran it last.
//!
//! All schedulers of the OS process are shared by every [`Node`](crate::Node) in it and start with the
//! first spawn. Beside them runs one tokio runtime thread, which drives the timers and I/O that process
//! code uses: every scheduler thread has that runtime entered, so `tokio::time`, `tokio::net` and
//! `tokio::spawn` work inside processes without any runtime of the caller's.
//!
//! A process that computes for long without an `.await` holds up its scheduler: the processes in its
//! shared queue are stolen by idle schedulers, but the one in its private slot waits for the poll to end
//! (as with tokio's LIFO slot). `tokio::task::yield_now().await` in such loops lets others run: the task goes
//! behind what waits on its scheduler, through a private cell while nothing waits in the shared queue.

mod delay;
mod gate;
mod task;

pub(crate) use delay::delay;
pub(crate) use gate::Gate;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::Thread;
use std::time::{Duration, Instant};

use task::Task;

/// All schedulers of this OS process, started by the first spawn.
static SCHEDULERS: OnceLock<Schedulers> = OnceLock::new();

/// Reductions a task may spend in one poll before the process in its scheduler's private slot is offered
/// to an idle scheduler (a send costs one).
const BUDGET: u32 = 2000;

/// How often (in polls) a scheduler looks at its shared queue before its private slot, so tasks woken from
/// outside are not starved by a pair of processes that keep waking each other.
const SHARED_FIRST_EVERY: u32 = 61;

/// How long an idle scheduler spins, looking for work, before it sleeps, unless `ERLNODE_BUSY_WAIT_US`
/// says otherwise (as `erl +sbwt` does). None by default: measured here, spinning took CPU that the
/// processes and the peers of the same machine needed (a distributed call round trip went from 83 us
/// spinning 50 us to 59 us not spinning) and gained nothing measurable locally.
const SPIN: Duration = Duration::ZERO;

thread_local! {
    /// What a scheduler thread keeps to itself.
    static LOCAL: Local = const {
        Local {
            index: Cell::new(None),
            slot: RefCell::new(None),
            yielded: RefCell::new(None),
            budget: Cell::new(BUDGET),
            charged: Cell::new(0),
            deferred: RefCell::new(Vec::new()),
            carry: Cell::new(false),
            carried: Cell::new(false),
            holds: RefCell::new(Vec::new()),
        }
    };
}

/// The thread-local side of a scheduler.
struct Local {
    /// The index of the scheduler this thread is, if it is one.
    index: Cell<Option<usize>>,
    /// The task to run next: the first one woken by the task running now. Only this thread touches it.
    slot: RefCell<Option<Arc<Task>>>,
    /// A task that yielded while nothing waited in the shared queue: it runs after the slot's task,
    /// without a trip through the shared queue's lock. Only this thread touches it.
    yielded: RefCell<Option<Arc<Task>>>,
    /// Reductions left in the current poll.
    budget: Cell<u32>,
    /// Reductions charged on this thread so far (see [`charged`]).
    charged: Cell<u64>,
    /// What to run when the current poll ends (see [`defer`]).
    deferred: RefCell<Vec<Arc<dyn Deferred>>>,
    /// The running poll asked for its deferred work to wait for the next task's poll (see [`carry_writes`]).
    carry: Cell<bool>,
    /// The deferred work of the last poll waits for the end of this one.
    carried: Cell<bool>,
    /// The gates the running process is to wait at once its poll ends (see [`hold`]).
    holds: RefCell<Vec<Arc<Gate>>>,
}

/// The scheduler threads, their shared queues, and the tokio runtime for timers and I/O.
struct Schedulers {
    workers: Box<[Worker]>,
    /// How many schedulers are idle (spinning or asleep).
    idle: AtomicUsize,
    /// How many schedulers are asleep or about to be.
    sleeping: AtomicUsize,
    /// How many schedulers are spinning (at most one: more would only take CPU from others, such as an
    /// Erlang node on the same machine).
    spinning: AtomicUsize,
    /// Where the next task spawned from outside the schedulers goes (round robin).
    next: AtomicUsize,
    /// How long an idle scheduler spins before it sleeps.
    spin: Duration,
    tokio: tokio::runtime::Handle,
    /// When the schedulers started: the start of their wall time.
    started: Instant,
}

/// One scheduler's shared side.
struct Worker {
    queue: Mutex<VecDeque<Arc<Task>>>,
    /// The queue's length, written under its lock, read without it by idle schedulers.
    len: AtomicUsize,
    asleep: AtomicBool,
    thread: OnceLock<Thread>,
    /// Nanoseconds this scheduler has slept, over its finished sleeps.
    slept: AtomicU64,
    /// When its current sleep began (nanoseconds since the schedulers started, plus one), or 0 while awake.
    asleep_since: AtomicU64,
    /// The busy time last reported, below which a report never goes.
    busy_reported: AtomicU64,
}

impl Worker {
    fn lock(&self) -> MutexGuard<'_, VecDeque<Arc<Task>>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, task: Arc<Task>) {
        let mut queue = self.lock();
        queue.push_back(task);
        self.len.store(queue.len(), Ordering::SeqCst);
    }

    fn pop(&self) -> Option<Arc<Task>> {
        if self.len.load(Ordering::SeqCst) == 0 {
            return None;
        }
        let mut queue = self.lock();
        let task = queue.pop_front();
        self.len.store(queue.len(), Ordering::SeqCst);
        task
    }

    /// Takes the first half (rounded up) of the queue.
    fn steal_half(&self) -> VecDeque<Arc<Task>> {
        let mut queue = self.lock();
        let take = queue.len().div_ceil(2);
        let stolen = queue.drain(..take).collect();
        self.len.store(queue.len(), Ordering::SeqCst);
        stolen
    }

    /// Wakes the worker's thread if it sleeps.
    fn wake(&self) {
        if self.asleep.load(Ordering::SeqCst) {
            if let Some(thread) = self.thread.get() {
                thread.unpark();
            }
        }
    }
}

/// Runs `future` on the schedulers, starting them if need be.
pub(crate) fn spawn(future: impl Future<Output = ()> + Send + 'static) {
    spawn_boxed(Box::pin(future));
}

/// [`spawn`] for a future boxed by the caller: a large future (a process's) boxed where it is made is
/// copied once, where passing it on by value copied it twice.
pub(crate) fn spawn_boxed(future: task::BoxFuture) {
    let schedulers = schedulers();
    let home = current().unwrap_or_else(|| schedulers.next.fetch_add(1, Ordering::Relaxed) % schedulers.workers.len());
    queue(Task::new(future, home));
}

/// Reductions charged on this thread so far: what a poll charged is the difference across it.
pub(crate) fn charged() -> u64 {
    LOCAL.with(|local| local.charged.get())
}

/// Charges one reduction to the task running on this thread (see the module documentation): when its
/// budget is spent and a scheduler is idle, the process in the private slot moves to the shared queue
/// for it. Outside the schedulers it is only counted (see [`charged`]).
pub(crate) fn charge() {
    LOCAL.with(|local| {
        local.charged.set(local.charged.get().wrapping_add(1));
        let left = local.budget.get();
        if left > 1 {
            local.budget.set(left - 1);
            return;
        }
        local.budget.set(BUDGET);
        let Some(me) = local.index.get() else { return };
        let schedulers = schedulers();
        if schedulers.idle.load(Ordering::SeqCst) == 0 {
            return;
        }
        // The slot's task, and a yielded one, go where an idle scheduler can take them.
        let slot = local.slot.borrow_mut().take();
        let yielded = local.yielded.borrow_mut().take();
        for task in [slot, yielded].into_iter().flatten() {
            schedulers.workers[me].push(task);
            schedulers.wake_one_sleeper(me);
        }
    });
}

/// The index of the scheduler this thread is, if it is one.
pub(crate) fn current() -> Option<usize> {
    LOCAL.with(|local| local.index.get())
}

/// Work a poll leaves for its end, or for the moment its process waits in a receive (see [`defer`]).
pub(crate) trait Deferred: Send + Sync {
    /// Runs on scheduler `scheduler`, the one that deferred it, once the poll that did has ended or waits
    /// (see [`run_deferred`]).
    fn run(&self, scheduler: usize);
}

/// Runs `work` when the current task's poll ends (or the next one's, after [`carry_writes`]; or sooner, when
/// the task waits in a receive: see [`run_deferred`]), on this scheduler thread; `false` (and `work` dropped) when this thread is not a scheduler. Distribution uses
/// it to write what a process sent during one poll in one system call. Shared, not boxed: deferring
/// costs no allocation.
pub(crate) fn defer(work: Arc<dyn Deferred>) -> bool {
    LOCAL.with(|local| {
        if local.index.get().is_none() {
            return false;
        }
        local.deferred.borrow_mut().push(work);
        true
    })
}

/// Asks that what the current poll deferred (see [`defer`]) run after the poll of the task it just
/// spawned instead, which the caller made sure runs next on this thread (see [`slot_free`]): a spawn request's answer and the spawned
/// process's first result (an erpc call's, usually) then go out in one write. Only for tasks whose
/// first poll is short, since the answer waits for it.
pub(crate) fn carry_writes() {
    LOCAL.with(|local| {
        if local.index.get().is_some() {
            local.carry.set(true);
        }
    });
}

/// `true` on a scheduler thread where nothing else waits to run (no task in its private slot, none
/// yielded, none in any shared queue, which this thread might take) and the running poll deferred
/// nothing: a task that polls for input can look again at once instead of yielding, which would cost a
/// trip through the scheduler for each look.
pub(crate) fn nothing_else_to_run() -> bool {
    LOCAL.with(|local| {
        local.index.get().is_some()
            && local.slot.borrow().is_none()
            && local.yielded.borrow().is_none()
            && local.deferred.borrow().is_empty()
            && !schedulers().any_queued()
    })
}

/// `true` on a scheduler thread whose private slot is free: a task spawned now runs next on this thread.
pub(crate) fn slot_free() -> bool {
    LOCAL.with(|local| local.index.get().is_some() && local.slot.borrow().is_none())
}

/// Holds the process running on this thread at `gate` once its current poll ends: its body is polled
/// again only after the gate opens (exit signals still reach it). Does nothing outside the schedulers,
/// nor for tasks that are not processes.
pub(crate) fn hold(gate: &Arc<Gate>) {
    LOCAL.with(|local| {
        if local.index.get().is_some() {
            let mut holds = local.holds.borrow_mut();
            if !holds.iter().any(|g| Arc::ptr_eq(g, gate)) {
                holds.push(Arc::clone(gate));
            }
        }
    });
}

/// The gates the poll that just ended asked to wait at (taken by the process's body).
pub(crate) fn take_holds() -> Vec<Arc<Gate>> {
    LOCAL.with(|local| std::mem::take(&mut *local.holds.borrow_mut()))
}

/// The tokio runtime that process code runs in (for timers and I/O).
pub(crate) fn tokio_handle() -> &'static tokio::runtime::Handle {
    &schedulers().tokio
}

/// The number of scheduler threads (Erlang's `erlang:system_info(schedulers_online)`): one per core, or
/// the value of the environment variable `ERLNODE_SCHEDULERS` when the schedulers started, as `erl +S`
/// sets it. Starts the schedulers if they have not started yet.
pub fn count() -> usize {
    schedulers().workers.len()
}

/// Each scheduler's busy time and wall time since the schedulers started, in nanoseconds (Erlang's
/// `statistics(scheduler_wall_time)`, whose ratios tools such as `observer` show as scheduler use).
/// A scheduler is busy unless it sleeps: time spent running processes, polling sockets or looking for work.
/// Busy times never go down from one call to the next, as the BEAM's do not.
pub(crate) fn wall_time() -> Vec<(u64, u64)> {
    let schedulers = schedulers();
    schedulers
        .workers
        .iter()
        .map(|worker| {
            let asleep_since = worker.asleep_since.load(Ordering::SeqCst);
            let slept = worker.slept.load(Ordering::SeqCst);
            // Read after the sleep's state, so a sleep that ended meanwhile is within `now`.
            let now = schedulers.nanos();
            let asleep = match asleep_since {
                0 => 0,
                since => now.saturating_sub(since - 1),
            };
            let busy = now.saturating_sub(slept + asleep);
            let reported = worker.busy_reported.fetch_max(busy, Ordering::Relaxed).max(busy);
            (reported.min(now), now)
        })
        .collect()
}

/// The tasks waiting in the schedulers' shared queues now (Erlang's `statistics(run_queue)`; the task
/// each scheduler keeps in its private slot is not counted).
pub(crate) fn run_queue() -> usize {
    schedulers().workers.iter().map(|w| w.len.load(Ordering::Relaxed)).sum()
}

/// Puts a notified task in a run queue. On a scheduler thread: its private slot if that is free, else its
/// shared queue (and a sleeping scheduler is woken to share the work). Elsewhere: the shared queue of the
/// scheduler that ran the task last.
fn queue(task: Arc<Task>) {
    enum Placed {
        InSlot,
        Shared(usize, Arc<Task>),
        Remote(Arc<Task>),
    }
    let placed = LOCAL.with(|local| {
        let Some(me) = local.index.get() else { return Placed::Remote(task) };
        let mut slot = local.slot.borrow_mut();
        if slot.is_none() {
            *slot = Some(task);
            Placed::InSlot
        } else {
            Placed::Shared(me, task)
        }
    });
    let schedulers = schedulers();
    match placed {
        Placed::InSlot => {}
        Placed::Shared(me, task) => {
            schedulers.workers[me].push(task);
            schedulers.wake_one_sleeper(me);
        }
        Placed::Remote(task) => {
            let home = task.home.load(Ordering::Relaxed) % schedulers.workers.len();
            schedulers.workers[home].push(task);
            if schedulers.workers[home].asleep.load(Ordering::SeqCst) {
                schedulers.workers[home].wake();
            } else {
                schedulers.wake_one_sleeper(home);
            }
        }
    }
}

fn schedulers() -> &'static Schedulers {
    SCHEDULERS.get_or_init(Schedulers::start)
}

impl Schedulers {
    /// Nanoseconds since the schedulers started.
    fn nanos(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Starts the scheduler threads and the tokio runtime thread.
    fn start() -> Schedulers {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("erlnode cannot start its tokio runtime: {e}"));
        let tokio = runtime.handle().clone();
        spawn_thread("erlnode-io".into(), move || runtime.block_on(std::future::pending::<()>()));
        let n = std::env::var("ERLNODE_SCHEDULERS")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
        let workers = (0..n)
            .map(|_| Worker {
                queue: Mutex::default(),
                len: AtomicUsize::new(0),
                asleep: AtomicBool::new(false),
                thread: OnceLock::new(),
                slept: AtomicU64::new(0),
                asleep_since: AtomicU64::new(0),
                busy_reported: AtomicU64::new(0),
            })
            .collect();
        let schedulers = Schedulers {
            workers,
            idle: AtomicUsize::new(0),
            sleeping: AtomicUsize::new(0),
            spinning: AtomicUsize::new(0),
            next: AtomicUsize::new(0),
            spin: std::env::var("ERLNODE_BUSY_WAIT_US")
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
                .map_or(SPIN, Duration::from_micros),
            tokio,
            started: Instant::now(),
        };
        for index in 0..n {
            spawn_thread(format!("erlnode-sched-{index}"), move || run_worker(index));
        }
        schedulers
    }

    /// Wakes a sleeping scheduler other than `me`, if there is one.
    fn wake_one_sleeper(&self, me: usize) {
        if self.sleeping.load(Ordering::SeqCst) == 0 {
            return;
        }
        let n = self.workers.len();
        for i in (1..n).map(|k| (me + k) % n) {
            if self.workers[i].asleep.load(Ordering::SeqCst) {
                self.workers[i].wake();
                return;
            }
        }
    }

    /// The next task from the shared queues for scheduler `me`: its own, or else half of the longest other.
    fn next_shared(&self, me: usize) -> Option<Arc<Task>> {
        if let Some(task) = self.workers[me].pop() {
            return Some(task);
        }
        let n = self.workers.len();
        let victim = (1..n)
            .map(|k| (me + k) % n)
            .filter(|&i| self.workers[i].len.load(Ordering::Acquire) > 0)
            .max_by_key(|&i| self.workers[i].len.load(Ordering::Relaxed))?;
        let mut stolen = self.workers[victim].steal_half();
        let first = stolen.pop_front()?;
        if !stolen.is_empty() {
            let mut queue = self.workers[me].lock();
            queue.append(&mut stolen);
            self.workers[me].len.store(queue.len(), Ordering::SeqCst);
        }
        Some(first)
    }

    /// `true` when some shared queue holds a task.
    fn any_queued(&self) -> bool {
        self.workers.iter().any(|w| w.len.load(Ordering::Relaxed) > 0)
    }
}

fn spawn_thread(name: String, body: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .name(name.clone())
        .spawn(body)
        .unwrap_or_else(|e| panic!("erlnode cannot start thread {name}: {e}"));
}

/// The loop of scheduler `me`: run what is queued, steal when there is nothing, spin a little, then sleep.
fn run_worker(me: usize) {
    // The schedulers are being initialised by the spawn that started this thread; wait for them.
    let schedulers = loop {
        match SCHEDULERS.get() {
            Some(s) => break s,
            None => std::thread::yield_now(),
        }
    };
    let worker = &schedulers.workers[me];
    let _ = worker.thread.set(std::thread::current());
    LOCAL.with(|local| local.index.set(Some(me)));
    let _tokio = schedulers.tokio.enter();
    let from_slot = || LOCAL.with(|local| local.slot.borrow_mut().take());
    let from_yielded = || LOCAL.with(|local| local.yielded.borrow_mut().take());
    let mut tick: u32 = 0;
    loop {
        tick = tick.wrapping_add(1);
        // Every so often the shared queue and the yielded task go first, so a pair of processes that keep
        // waking each other through the slot holds up neither.
        let task = if tick % SHARED_FIRST_EVERY == 0 {
            schedulers.next_shared(me).or_else(from_yielded).or_else(from_slot)
        } else {
            from_slot().or_else(from_yielded).or_else(|| schedulers.next_shared(me))
        };
        if let Some(task) = task {
            run(schedulers, me, task);
            continue;
        }
        schedulers.idle.fetch_add(1, Ordering::SeqCst);
        let task = spin(schedulers).then(|| schedulers.next_shared(me)).flatten().or_else(|| sleep(schedulers, me));
        schedulers.idle.fetch_sub(1, Ordering::SeqCst);
        if let Some(task) = task {
            run(schedulers, me, task);
        }
    }
}

/// Spins for up to the busy-wait time unless another scheduler already does; `true` as soon as a shared
/// queue holds a task.
fn spin(schedulers: &Schedulers) -> bool {
    if schedulers.spin.is_zero() {
        return schedulers.any_queued();
    }
    if schedulers.spinning.fetch_add(1, Ordering::SeqCst) > 0 {
        schedulers.spinning.fetch_sub(1, Ordering::SeqCst);
        return schedulers.any_queued();
    }
    let deadline = Instant::now() + schedulers.spin;
    let found = 'spin: loop {
        for _ in 0..64 {
            if schedulers.any_queued() {
                break 'spin true;
            }
            std::hint::spin_loop();
        }
        if Instant::now() >= deadline {
            break false;
        }
    };
    schedulers.spinning.fetch_sub(1, Ordering::SeqCst);
    found
}

/// Sleeps until woken; a task found on the last look before sleeping is returned at once.
fn sleep(schedulers: &Schedulers, me: usize) -> Option<Arc<Task>> {
    let worker = &schedulers.workers[me];
    // Announce the sleep before the last look, so a task queued after that look finds us asleep.
    worker.asleep.store(true, Ordering::SeqCst);
    schedulers.sleeping.fetch_add(1, Ordering::SeqCst);
    let task = schedulers.next_shared(me);
    if task.is_none() {
        // Timed only here, off the path that runs tasks: a scheduler is busy whenever it is not asleep.
        let since = schedulers.nanos();
        worker.asleep_since.store(since + 1, Ordering::SeqCst);
        std::thread::park();
        // Counted before the sleep is cleared, so a reader in between counts it twice (too little busy
        // time, which the reported minimum hides) rather than not at all.
        worker.slept.fetch_add(schedulers.nanos().saturating_sub(since), Ordering::SeqCst);
        worker.asleep_since.store(0, Ordering::SeqCst);
    }
    worker.asleep.store(false, Ordering::SeqCst);
    schedulers.sleeping.fetch_sub(1, Ordering::SeqCst);
    task
}

/// Polls `task` once on scheduler `me` with a fresh budget. A task woken during its own poll (a yield)
/// runs again after whatever waits on this scheduler: after the slot's task when the shared queue is
/// empty (a caller that lets its server answer, a reader that polls its socket), else from the back of
/// the shared queue.
fn run(schedulers: &Schedulers, me: usize, task: Arc<Task>) {
    LOCAL.with(|local| local.budget.set(BUDGET));
    if task.poll(me) {
        let worker = &schedulers.workers[me];
        let task = LOCAL.with(|local| {
            let mut yielded = local.yielded.borrow_mut();
            if yielded.is_none() && worker.len.load(Ordering::SeqCst) == 0 {
                *yielded = Some(task);
                None
            } else {
                Some(task)
            }
        });
        if let Some(task) = task {
            worker.push(task);
        }
    }
    // A task that is not a process (a connection's reader) never waits at a gate.
    LOCAL.with(|local| local.holds.borrow_mut().clear());
    // A poll that asked to (see `carry_writes`) and handed this core to the task it spawned, in the
    // private slot, leaves its deferred writes for the end of that task's poll, once: the slot's task is
    // taken next (or, every so often, one from a shared queue), so they wait one poll at most.
    let carry = LOCAL.with(|local| {
        let asked = local.carry.replace(false);
        let carry =
            asked && !local.carried.get() && local.slot.borrow().is_some() && !local.deferred.borrow().is_empty();
        local.carried.set(carry);
        carry
    });
    if carry {
        return;
    }
    run_deferred_on(me);
}

/// Runs now what the running poll deferred (see [`defer`]), instead of when the poll ends: for a task
/// about to wait for an answer, so its request goes out before it unwinds. Nothing on a thread that is
/// not a scheduler.
pub(crate) fn run_deferred() {
    if let Some(me) = current() {
        run_deferred_on(me);
    }
}

fn run_deferred_on(me: usize) {
    loop {
        // Taken only when there is work: an empty list stays, capacity and all, so deferring allocates
        // only when a poll defers more than ever before.
        let taken = LOCAL.with(|local| {
            let mut list = local.deferred.borrow_mut();
            (!list.is_empty()).then(|| std::mem::take(&mut *list))
        });
        let Some(mut deferred) = taken else { break };
        for work in deferred.drain(..) {
            work.run(me);
        }
        // The list goes back, capacity and all, unless the work deferred more meanwhile.
        LOCAL.with(|local| {
            let mut list = local.deferred.borrow_mut();
            if list.is_empty() {
                *list = deferred;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_time_counts_sleep_as_idle() {
        let (tx, rx) = std::sync::mpsc::channel();
        spawn(async move {
            tx.send(()).ok();
        });
        rx.recv().expect("the task ran");
        // Other tests share the schedulers, so a window in which no scheduler slept at all is retried.
        for _ in 0..20 {
            let before = wall_time();
            std::thread::sleep(Duration::from_millis(20));
            let after = wall_time();
            assert_eq!(after.len(), count());
            let mut idle = 0;
            for (&(busy0, total0), &(busy1, total1)) in before.iter().zip(&after) {
                assert!(busy1 >= busy0 && total1 > total0, "both only grow");
                idle += (total1 - total0) - (busy1 - busy0).min(total1 - total0);
            }
            if idle > 0 {
                return;
            }
        }
        panic!("no scheduler was ever idle");
    }
}
