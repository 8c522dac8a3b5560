//! Registered names: Erlang's rules, release on exit, and races.

mod common;

use std::sync::Arc;

use common::{a, down_reason, forever, next, node, within};
use erlnode::{RegisterError, SendError, Term, UnregisterError, exit};

#[tokio::test]
async fn register_whereis_unregister() {
    let node = node();
    let pid = node.spawn(forever).unwrap();
    assert_eq!(node.whereis(a("svc")), None);
    node.register(a("svc"), pid).unwrap();
    assert_eq!(node.whereis(a("svc")), Some(pid));
    assert!(node.registered().contains(&a("svc")));
    node.unregister(a("svc")).unwrap();
    assert_eq!(node.whereis(a("svc")), None);
    // Once unregistered, the process may take another name.
    node.register(a("svc2"), pid).unwrap();
    assert_eq!(node.whereis(a("svc2")), Some(pid));
}

#[tokio::test]
async fn register_fails_like_erlangs_badarg() {
    let node = node();
    let first = node.spawn(forever).unwrap();
    let second = node.spawn(forever).unwrap();
    node.register(a("taken"), first).unwrap();
    assert_eq!(node.register(a("undefined"), second), Err(RegisterError::Undefined));
    assert_eq!(node.register(a("taken"), second), Err(RegisterError::NameTaken { name: a("taken"), holder: first }));
    assert_eq!(node.register(a("other"), first), Err(RegisterError::AlreadyNamed { pid: first, name: a("taken") }));
    assert_eq!(node.unregister(a("nobody")), Err(UnregisterError::NotRegistered(a("nobody"))));
    assert_eq!(node.send_named(a("nobody"), 1), Err(SendError::NotRegistered(a("nobody"))));
    let dead = within(&node, |mut p| async move {
        let (pid, monitor) = p.spawn_monitor(|_p| async { Ok(()) }).unwrap();
        down_reason(&mut p, monitor).await;
        pid
    })
    .await;
    assert_eq!(node.register(a("late"), dead), Err(RegisterError::NotAlive(dead)));
    // The failed calls changed nothing.
    assert_eq!(node.whereis(a("taken")), Some(first));
    assert_eq!(node.whereis(a("other")), None);
    // As an exit reason, each is badarg.
    assert_eq!(Term::from(RegisterError::Undefined), exit::badarg());
}

#[tokio::test]
async fn send_by_name_reaches_the_holder() {
    let node = node();
    let got = within(&node, |mut p| async move {
        p.register(a("me")).unwrap();
        p.send_named(a("me"), "hello").unwrap();
        next(&mut p).await
    })
    .await;
    assert_eq!(got, Term::from("hello"));
}

#[tokio::test]
async fn a_name_is_free_once_its_process_has_ended() {
    let node = node();
    within(&node, |mut p| async move {
        let (pid, monitor) = p
            .spawn_monitor(|mut c| async move {
                c.register(a("short_lived")).unwrap();
                c.recv().await;
                Err(Term::atom("crash"))
            })
            .unwrap();
        while p.node().whereis(a("short_lived")).is_none() {
            tokio::task::yield_now().await;
        }
        p.send(pid, "go");
        assert_eq!(down_reason(&mut p, monitor).await, Term::atom("crash"));
        // Whoever saw the DOWN sees the name free.
        assert_eq!(p.node().whereis(a("short_lived")), None);
        p.register(a("short_lived")).unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_two_spawners_racing_for_a_name_exactly_one_wins() {
    let node = node();
    for round in 0..200 {
        let name = a(&format!("race_{round}"));
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        for _ in 0..2 {
            let (barrier, tx) = (Arc::clone(&barrier), tx.clone());
            node.spawn(move |p| async move {
                barrier.wait().await;
                tx.send((p.self_pid(), p.register(name))).ok();
                std::future::pending().await
            })
            .unwrap();
        }
        let (first, second) = (rx.recv().await.unwrap(), rx.recv().await.unwrap());
        let (winner, loser) = if first.1.is_ok() { (first, second) } else { (second, first) };
        assert_eq!(winner.1, Ok(()));
        assert_eq!(loser.1, Err(RegisterError::NameTaken { name, holder: winner.0 }));
        assert_eq!(node.whereis(name), Some(winner.0));
    }
}
