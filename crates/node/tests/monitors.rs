//! Monitors: DOWN messages by pid and by name, noproc, demonitor and flush.

mod common;

use std::time::Duration;

use common::{a, down, forever, next, node, t, within};
use erlnode::{Term, exit};

#[tokio::test]
async fn down_names_the_pid_and_the_reason() {
    let node = node();
    within(&node, |mut p| async move {
        let target = p.node().spawn(|mut c| async move { Err(c.recv().await) }).unwrap();
        let monitor = p.monitor(target);
        p.send(target, t("{bye, 1}"));
        assert_eq!(next(&mut p).await, down(monitor, Term::Pid(target), t("{bye, 1}")));
    })
    .await;
}

#[tokio::test]
async fn monitoring_a_dead_pid_gives_noproc_at_once() {
    let node = node();
    within(&node, |mut p| async move {
        let (dead, first) = p.spawn_monitor(|_| async { Ok(()) }).unwrap();
        assert_eq!(next(&mut p).await, down(first, Term::Pid(dead), exit::normal()));
        let monitor = p.monitor(dead);
        assert_ne!(monitor, first);
        assert_eq!(next(&mut p).await, down(monitor, Term::Pid(dead), exit::noproc()));
    })
    .await;
}

#[tokio::test]
async fn monitoring_by_name_names_name_and_node() {
    let node = node();
    within(&node, |mut p| async move {
        let object = Term::tuple(vec![Term::atom("watched"), Term::Atom(p.node().name())]);
        let target = p.node().spawn(forever).unwrap();
        p.node().register(a("watched"), target).unwrap();
        let monitor = p.monitor(a("watched"));
        p.exit(target, t("bye"));
        assert_eq!(next(&mut p).await, down(monitor, object.clone(), t("bye")));
        // The name is gone with the process: monitoring it now gives noproc, still naming {Name, Node}.
        let monitor = p.monitor(a("watched"));
        assert_eq!(next(&mut p).await, down(monitor, object, exit::noproc()));
    })
    .await;
}

#[tokio::test]
async fn demonitor_stops_the_down() {
    let node = node();
    within(&node, |mut p| async move {
        let target = p.node().spawn(|mut c| async move { Err(c.recv().await) }).unwrap();
        let monitor = p.monitor(target);
        assert!(p.demonitor(monitor));
        assert!(!p.demonitor(monitor));
        let check = p.monitor(target);
        p.send(target, "die");
        assert_eq!(next(&mut p).await, down(check, Term::Pid(target), Term::from("die")));
        assert_eq!(p.recv_timeout(Duration::from_millis(20)).await, None);
    })
    .await;
}

#[tokio::test]
async fn demonitor_flush_removes_a_down_already_delivered() {
    let node = node();
    within(&node, |mut p| async move {
        let (_target, monitor) = p.spawn_monitor(|_| async { Err(t("gone")) }).unwrap();
        // Nothing else sends to us: the first message in is the DOWN.
        tokio::time::timeout(common::WAIT, async {
            while p.mailbox_len() == 0 {
                tokio::task::yield_now().await;
            }
        })
        .await
        .unwrap();
        p.send(p.self_pid(), "after");
        assert!(!p.demonitor_flush(monitor));
        assert_eq!(next(&mut p).await, Term::from("after"));
        assert_eq!(p.recv_timeout(Duration::ZERO).await, None);
    })
    .await;
}

#[tokio::test]
async fn monitors_held_by_a_dead_process_are_removed() {
    let node = node();
    within(&node, |mut p| async move {
        let target = p.node().spawn(|mut c| async move { Err(c.recv().await) }).unwrap();
        let (watcher, watcher_mon) = p
            .spawn_monitor(move |w| async move {
                w.monitor(target);
                Ok(())
            })
            .unwrap();
        assert_eq!(next(&mut p).await, down(watcher_mon, Term::Pid(watcher), exit::normal()));
        let monitor = p.monitor(target);
        p.send(target, "bye");
        assert_eq!(next(&mut p).await, down(monitor, Term::Pid(target), Term::from("bye")));
    })
    .await;
}

/// `demonitor` that says the monitor was no longer active means its DOWN is in the mailbox already, and
/// `true` means none will come: checked many times against targets ending at that very moment.
#[tokio::test(flavor = "multi_thread")]
async fn demonitor_false_means_the_down_is_there_and_true_that_none_comes() {
    let node = node();
    within(&node, |mut p| async move {
        for i in 0..20000u32 {
            let (_child, monitor) = p.spawn_monitor(|_c| async { Ok(()) }).unwrap();
            // The child ends on another scheduler at a moment that varies around the demonitor.
            for _ in 0..(i % 50) {
                std::hint::spin_loop();
            }
            let active = p.demonitor(monitor);
            let is_down = |m: &Term| matches!(m.as_tuple(), Some([_, Term::Ref(r), ..]) if *r == monitor);
            let down = p.recv_match_timeout(is_down, Duration::ZERO).await;
            assert_eq!(down.is_some(), !active, "demonitor said {active} (round {i})");
        }
        // Nothing came late either.
        assert_eq!(p.recv_timeout(Duration::from_millis(50)).await, None);
    })
    .await;
}
