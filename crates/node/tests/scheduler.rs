//! The schedulers: no lost wake-ups, no process starved by a busy one, tokio usable inside processes.

mod common;

use std::time::{Duration, Instant};

use common::{WAIT, next, node, within};
use erlnode::{Pid, Term, scheduler};

/// A process that blocks its scheduler thread does not stop processes elsewhere: with two or more
/// schedulers, a request/reply pair started after it finishes while it still blocks.
#[tokio::test(flavor = "multi_thread")]
async fn a_blocked_scheduler_does_not_stop_the_others() {
    let node = node();
    let (tx, rx) = std::sync::mpsc::channel();
    let busy_tx = tx.clone();
    node.spawn(move |_p| async move {
        std::thread::sleep(Duration::from_millis(600));
        busy_tx.send("busy done").ok();
        Ok(())
    })
    .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let echo = node
        .spawn(|mut p| async move {
            loop {
                if let Some([Term::Pid(from), n]) = p.recv().await.as_tuple() {
                    p.send(*from, n.clone());
                }
            }
        })
        .unwrap();
    node.spawn(move |mut p| async move {
        let me = p.self_pid();
        for i in 0..1000 {
            p.send(echo, (me, i));
            assert_eq!(next(&mut p).await, Term::from(i));
        }
        tx.send("calls done").ok();
        Ok(())
    })
    .unwrap();
    // A failed assertion in the calls process ends only that process: the timeouts turn it into a failure.
    let first = tokio::task::spawn_blocking(move || {
        (rx.recv_timeout(WAIT).expect("a first report"), rx.recv_timeout(WAIT).expect("a second report"))
    })
    .await
    .unwrap();
    if scheduler::count() >= 2 {
        assert_eq!(first, ("calls done", "busy done"));
    } else {
        eprintln!("one scheduler: the blocked one holds up the rest, as expected");
        assert_eq!(first, ("busy done", "calls done"));
    }
}

/// Messages sent from many OS threads at once all arrive, each thread's in order.
#[test]
fn sends_from_many_threads_lose_nothing() {
    const THREADS: i64 = 8;
    const EACH: i64 = 20_000;
    let node = node();
    let (tx, rx) = std::sync::mpsc::channel();
    let sink = node
        .spawn(move |mut p| async move {
            let mut last = vec![-1; THREADS as usize];
            for _ in 0..THREADS * EACH {
                let msg = p.recv().await;
                let [t, i] = msg.as_tuple().unwrap() else { panic!("bad message {msg}") };
                let (t, i) = (t.as_i64().unwrap() as usize, i.as_i64().unwrap());
                assert_eq!(i, last[t] + 1, "thread {t}'s messages out of order");
                last[t] = i;
            }
            tx.send(last).ok();
            Ok(())
        })
        .unwrap();
    let senders: Vec<_> = (0..THREADS)
        .map(|t| {
            let node = node.clone();
            std::thread::spawn(move || {
                for i in 0..EACH {
                    node.send(sink, (t, i));
                }
            })
        })
        .collect();
    for s in senders {
        s.join().unwrap();
    }
    assert_eq!(rx.recv_timeout(WAIT * 4).unwrap(), vec![EACH - 1; THREADS as usize]);
}

/// Wake-ups from timers, other processes and outside threads mixed, for many processes at once: every
/// process gets all of its messages.
#[test]
fn mixed_wakeups_reach_every_process() {
    const PROCS: usize = 2000;
    let node = node();
    let (tx, rx) = std::sync::mpsc::channel::<Pid>();
    let pids: Vec<Pid> = (0..PROCS)
        .map(|_| {
            let tx = tx.clone();
            node.spawn(move |mut p| async move {
                for _ in 0..3 {
                    p.recv().await;
                }
                tx.send(p.self_pid()).ok();
                Ok(())
            })
            .unwrap()
        })
        .collect();
    drop(tx);
    let targets = pids.clone();
    node.spawn(move |p| async move {
        for pid in &targets {
            p.send(*pid, "from a process");
            p.send_after(Duration::from_millis(1 + (pid.id % 20) as u64), *pid, "from a timer");
        }
        Ok(())
    })
    .unwrap();
    for pid in &pids {
        node.send(*pid, "from outside");
    }
    let mut done: Vec<Pid> = rx.iter().take(PROCS).collect();
    done.sort_unstable();
    let mut expected = pids;
    expected.sort_unstable();
    assert_eq!(done, expected);
}

/// tokio's timers, tasks and sockets work inside processes, with no runtime of the test's own.
#[test]
fn tokio_works_inside_processes() {
    let node = node();
    let (tx, rx) = std::sync::mpsc::channel();
    node.spawn(move |_p| async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| Term::from(e.to_string()))?;
        let addr = listener.local_addr().map_err(|e| Term::from(e.to_string()))?;
        let server = tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = [0; 4];
            socket.read_exact(&mut buf).await.unwrap();
            socket.write_all(&buf).await.unwrap();
        });
        let started = Instant::now();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let slept = started.elapsed();
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut client = tokio::net::TcpStream::connect(addr).await.map_err(|e| Term::from(e.to_string()))?;
        client.write_all(b"ping").await.map_err(|e| Term::from(e.to_string()))?;
        let mut back = [0; 4];
        client.read_exact(&mut back).await.map_err(|e| Term::from(e.to_string()))?;
        server.await.map_err(|e| Term::from(e.to_string()))?;
        tx.send((slept >= Duration::from_millis(20), back)).ok();
        Ok(())
    })
    .unwrap();
    assert_eq!(rx.recv_timeout(WAIT).unwrap(), (true, *b"ping"));
}

/// A process that yields goes behind the others: two yielding loops on the node interleave rather than
/// one running to its end first.
#[tokio::test]
async fn a_yield_lets_others_run() {
    let node = node();
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let result = within(&node, move |p| async move {
        let mut loops = Vec::new();
        for name in ["a", "b"] {
            let log = log.clone();
            let (pid, monitor) = p
                .spawn_monitor(move |_c| async move {
                    for _ in 0..50 {
                        log.lock().unwrap().push(name);
                        tokio::task::yield_now().await;
                    }
                    Ok(())
                })
                .unwrap();
            loops.push((pid, monitor));
        }
        let mut p = p;
        for _ in &loops {
            next(&mut p).await;
        }
        log.lock().unwrap().clone()
    })
    .await;
    assert_eq!(result.len(), 100);
    // Interleaved: "a" does not run all 50 of its turns before "b" starts.
    let first_b = result.iter().position(|n| *n == "b").unwrap();
    assert!(first_b < 50, "b first ran after {first_b} turns of a");
}

/// A process that yields runs again even while two others keep waking each other through the
/// scheduler's private slot.
#[tokio::test(flavor = "multi_thread")]
async fn a_yielding_process_is_not_starved_by_a_ping_pong_pair() {
    let node = node();
    let echo = |mut p: erlnode::Process| async move {
        loop {
            if let Some([Term::Pid(from)]) = p.recv().await.as_tuple() {
                let me = p.self_pid();
                p.send(*from, Term::tuple(vec![Term::Pid(me)]));
            }
        }
    };
    let ping = node.spawn(echo).unwrap();
    let pong = node.spawn(echo).unwrap();
    node.send(ping, Term::tuple(vec![Term::Pid(pong)]));
    tokio::time::sleep(Duration::from_millis(20)).await;
    let (tx, rx) = tokio::sync::oneshot::channel();
    node.spawn(move |_p| async move {
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
        tx.send(()).ok();
        Ok(())
    })
    .unwrap();
    assert!(tokio::time::timeout(WAIT, rx).await.is_ok(), "the yielding process never ran again");
    node.exit(ping, erlnode::exit::kill());
    node.exit(pong, erlnode::exit::kill());
}
