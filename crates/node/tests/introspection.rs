//! Introspection and control from outside processes: `process_info` shows names, links both ways, monitors
//! both ways, the queue, memory and reductions; `Node::exit` sends exit signals as the node (an observer kills this way).

mod common;

use std::time::Duration;

use common::{a, down, exit_msg, forever, next, node, t, within};
use erlnode::{Process, Status, Term, exit};

/// Waits until `check` holds, failing the test after [`common::WAIT`].
async fn eventually(mut check: impl FnMut() -> bool) {
    tokio::time::timeout(common::WAIT, async {
        while !check() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("condition never held");
}

#[tokio::test]
async fn shows_the_registered_name_and_the_link_both_ways() {
    let node = node();
    within(&node, |p| async move {
        let child = p.spawn_link(forever).unwrap();
        p.register(a("parent_proc")).unwrap();
        let mine = p.node().process_info(p.self_pid()).unwrap();
        let theirs = p.node().process_info(child).unwrap();
        assert_eq!(mine.pid, p.self_pid());
        assert_eq!(mine.registered_name, Some(a("parent_proc")));
        assert_eq!(theirs.registered_name, None);
        assert_eq!(mine.links, vec![child]);
        assert_eq!(theirs.links, vec![p.self_pid()]);
        p.unlink(child);
        assert!(p.node().process_info(p.self_pid()).unwrap().links.is_empty());
        assert!(p.node().process_info(child).unwrap().links.is_empty());
        p.exit(child, exit::kill());
    })
    .await;
}

#[tokio::test]
async fn shows_monitors_held_and_monitored_by() {
    let node = node();
    within(&node, |mut p| async move {
        let target = p.node().spawn(forever).unwrap();
        let first = p.monitor(target);
        let second = p.monitor(target);
        let mine = p.node().process_info(p.self_pid()).unwrap();
        let mut expected = vec![(first, target), (second, target)];
        expected.sort();
        assert_eq!(mine.monitors, expected);
        assert!(mine.monitored_by.is_empty());
        // One entry per monitor, as Erlang's monitored_by lists a pid once per monitor.
        assert_eq!(p.node().process_info(target).unwrap().monitored_by, vec![p.self_pid(), p.self_pid()]);
        assert!(p.demonitor(first));
        assert_eq!(p.node().process_info(target).unwrap().monitored_by, vec![p.self_pid()]);
        p.exit(target, exit::kill());
        assert_eq!(next(&mut p).await, down(second, Term::Pid(target), exit::killed()));
        assert!(p.node().process_info(p.self_pid()).unwrap().monitors.is_empty());
    })
    .await;
}

#[tokio::test]
async fn shows_trap_exit() {
    let node = node();
    within(&node, |p| async move {
        assert!(!p.node().process_info(p.self_pid()).unwrap().trap_exit);
        p.trap_exit(true);
        assert!(p.node().process_info(p.self_pid()).unwrap().trap_exit);
    })
    .await;
}

#[tokio::test]
async fn counts_queued_and_received_messages() {
    let node = node();
    let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
    let worker = node
        .spawn(move |mut p: Process| async move {
            go_rx.await.ok();
            p.recv().await;
            p.recv_match(|m| m.as_i64() == Some(3)).await;
            std::future::pending().await
        })
        .unwrap();
    for n in 1..=4 {
        node.send(worker, n);
    }
    let info = node.process_info(worker).unwrap();
    assert_eq!((info.message_queue_len, info.messages_received), (4, 0));
    go_tx.send(()).unwrap();
    eventually(|| node.process_info(worker).is_some_and(|i| i.messages_received == 2)).await;
    let info = node.process_info(worker).unwrap();
    assert_eq!(info.message_queue_len, 2);
    assert_eq!(info.status, Status::Running);
}

#[tokio::test]
async fn reductions_count_polls_and_sends() {
    let node = node();
    let idle = node.spawn(forever).unwrap();
    let sink = node.spawn(forever).unwrap();
    let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
    let busy = node
        .spawn(move |p: Process| async move {
            go_rx.await.ok();
            for i in 0..100 {
                p.send(sink, i);
            }
            std::future::pending().await
        })
        .unwrap();
    // Each has run once so far.
    eventually(|| [idle, busy].iter().all(|&pid| node.process_info(pid).is_some_and(|i| i.reductions >= 1))).await;
    let before = node.process_info(busy).unwrap().reductions;
    go_tx.send(()).unwrap();
    eventually(|| node.process_info(busy).is_some_and(|i| i.reductions >= before + 101)).await;
    assert_eq!(node.process_info(idle).unwrap().reductions, 1, "a process that never ran again");
}

#[tokio::test]
async fn status_is_waiting_in_an_empty_receive() {
    let node = node();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let worker = node
        .spawn(|mut p| async move {
            let first = p.recv().await;
            tx.send(first).ok();
            std::future::pending().await
        })
        .unwrap();
    eventually(|| node.process_info(worker).is_some_and(|i| i.status == Status::Waiting)).await;
    node.send(worker, "hi");
    assert_eq!(rx.await.unwrap(), Term::from("hi"));
    assert_eq!(node.process_info(worker).unwrap().status, Status::Running);
}

#[tokio::test]
async fn memory_grows_with_the_queue_and_shrinks_when_it_drains() {
    let node = node();
    let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
    let worker = node
        .spawn(move |mut p: Process| async move {
            go_rx.await.ok();
            p.recv().await;
            std::future::pending().await
        })
        .unwrap();
    let empty = node.process_info(worker).unwrap().memory;
    assert!(empty > 0);
    node.send(worker, Term::Binary(vec![0_u8; 1 << 20].into()));
    let full = node.process_info(worker).unwrap().memory;
    assert!(full >= empty + (1 << 20), "{empty} -> {full}");
    go_tx.send(()).unwrap();
    eventually(|| node.process_info(worker).is_some_and(|i| i.message_queue_len == 0)).await;
    assert!(node.process_info(worker).unwrap().memory < empty + 1024);
}

#[tokio::test]
async fn a_dead_process_has_no_info_and_is_not_listed() {
    let node = node();
    within(&node, |mut p| async move {
        let (dead, monitor) = p.spawn_monitor(|_| async { Ok(()) }).unwrap();
        let alive = p.node().spawn(forever).unwrap();
        assert_eq!(next(&mut p).await, down(monitor, Term::Pid(dead), exit::normal()));
        assert_eq!(p.node().process_info(dead), None);
        let listed = p.node().processes();
        assert!(!listed.contains(&dead));
        assert!(listed.contains(&alive) && listed.contains(&p.self_pid()));
        p.exit(alive, exit::kill());
    })
    .await;
}

#[tokio::test]
async fn node_exit_comes_from_the_node_pid() {
    let node = node();
    let outside = node.clone();
    within(&node, move |mut p| async move {
        let node_pid = outside.node_pid();
        assert_eq!((node_pid.id, node_pid.serial), (0, 0));
        assert!(!outside.is_alive(node_pid));
        assert_eq!(outside.process_info(node_pid), None);
        p.trap_exit(true);
        outside.exit(p.self_pid(), "shutdown");
        assert_eq!(next(&mut p).await, exit_msg(node_pid, Term::from("shutdown")));
        outside.exit(p.self_pid(), exit::normal());
        assert_eq!(next(&mut p).await, exit_msg(node_pid, exit::normal()));
    })
    .await;
}

#[tokio::test]
async fn node_exit_follows_the_exit_signal_rules() {
    let node = node();
    let outside = node.clone();
    within(&node, move |mut p| async move {
        let plain = p.node().spawn(forever).unwrap();
        let trapping = p
            .node()
            .spawn(|p| async move {
                p.trap_exit(true);
                std::future::pending().await
            })
            .unwrap();
        let (plain_mon, trapping_mon) = (p.monitor(plain), p.monitor(trapping));
        // `normal` from another sender is ignored by a process that does not trap exits.
        outside.exit(plain, exit::normal());
        assert_eq!(p.recv_timeout(Duration::from_millis(30)).await, None);
        assert!(outside.is_alive(plain));
        outside.exit(plain, t("{shutdown, observer}"));
        assert_eq!(next(&mut p).await, down(plain_mon, Term::Pid(plain), t("{shutdown, observer}")));
        // `kill` cannot be trapped.
        eventually(|| outside.process_info(trapping).is_some_and(|i| i.trap_exit)).await;
        outside.exit(trapping, exit::kill());
        assert_eq!(next(&mut p).await, down(trapping_mon, Term::Pid(trapping), exit::killed()));
        // A pid that is not alive: nothing happens.
        outside.exit(plain, exit::kill());
    })
    .await;
}
