//! Aliases (OTP 24): messages to an active alias reach its process; to an inactive one they are dropped.

mod common;

use std::time::Duration;

use common::{down, forever, next, node, t, within};
use erlnode::{Node, Ref, Term, exit};

/// Asserts that the mailbox holds nothing now and nothing arrives for a short while.
async fn nothing_more(p: &mut erlnode::Process) {
    assert_eq!(p.recv_timeout(Duration::from_millis(30)).await, None);
}

#[tokio::test]
async fn a_message_to_an_alias_reaches_its_process_in_order() {
    let node = node();
    within(&node, |mut p| async move {
        let alias = p.alias();
        assert_eq!(alias.node, p.node().name());
        assert_eq!(alias.creation, p.node().creation());
        p.send_alias(alias, 1);
        p.send(p.self_pid(), 2);
        p.send_alias(alias, 3);
        for n in 1..=3 {
            assert_eq!(next(&mut p).await, Term::from(n));
        }
    })
    .await;
}

#[tokio::test]
async fn another_process_and_the_node_can_send_to_an_alias() {
    let node = node();
    let outside = node.clone();
    within(&node, |mut p| async move {
        let alias = p.alias();
        p.spawn(move |c| async move {
            c.send_alias(alias, t("{from, child}"));
            Ok(())
        })
        .unwrap();
        assert_eq!(next(&mut p).await, t("{from, child}"));
        outside.send_alias(alias, t("{from, node}"));
        assert_eq!(next(&mut p).await, t("{from, node}"));
    })
    .await;
}

#[tokio::test]
async fn unalias_is_true_once_and_later_messages_are_dropped() {
    let node = node();
    within(&node, |mut p| async move {
        let alias = p.alias();
        p.send_alias(alias, "before");
        assert!(p.unalias(alias));
        assert!(!p.unalias(alias));
        p.send_alias(alias, "after");
        // The message delivered before unalias stays; the one after is dropped.
        assert_eq!(next(&mut p).await, Term::from("before"));
        nothing_more(&mut p).await;
    })
    .await;
}

#[tokio::test]
async fn unalias_of_a_plain_reference_or_of_anothers_alias_is_false() {
    let node = node();
    within(&node, |mut p| async move {
        assert!(!p.unalias(p.make_ref()));
        let (tx, rx) = tokio::sync::oneshot::channel::<Ref>();
        let (owner, monitor) = p
            .spawn_monitor(move |mut c| async move {
                tx.send(c.alias()).ok();
                Err(c.recv().await)
            })
            .unwrap();
        let theirs = rx.await.unwrap();
        assert!(!p.unalias(theirs));
        // Still active: the owner gets the message and exits with it.
        p.send_alias(theirs, "still_active");
        assert_eq!(next(&mut p).await, down(monitor, Term::Pid(owner), Term::from("still_active")));
    })
    .await;
}

#[tokio::test]
async fn a_reply_alias_takes_one_message() {
    let node = node();
    within(&node, |mut p| async move {
        let alias = p.alias_reply();
        p.send_alias(alias, "one");
        p.send_alias(alias, "two");
        assert_eq!(next(&mut p).await, Term::from("one"));
        nothing_more(&mut p).await;
        // Already deactivated by the first message, as `unalias` after `alias([reply])` says in Erlang.
        assert!(!p.unalias(alias));
        assert!(!p.node().process_info(p.self_pid()).unwrap().aliases.contains(&alias));
    })
    .await;
}

#[tokio::test]
async fn a_reply_alias_can_be_unaliased_before_use() {
    let node = node();
    within(&node, |mut p| async move {
        let alias = p.alias_reply();
        assert!(p.unalias(alias));
        p.send_alias(alias, "late");
        nothing_more(&mut p).await;
    })
    .await;
}

#[tokio::test]
async fn aliases_die_with_their_process() {
    let node = node();
    let outside = node.clone();
    within(&node, |mut p| async move {
        let (tx, rx) = tokio::sync::oneshot::channel::<Ref>();
        let (owner, monitor) = p
            .spawn_monitor(move |mut c| async move {
                tx.send(c.alias()).ok();
                Err(c.recv().await)
            })
            .unwrap();
        let alias = rx.await.unwrap();
        assert_eq!(outside.process_info(owner).unwrap().aliases, vec![alias]);
        p.exit(owner, "stop");
        assert_eq!(next(&mut p).await, down(monitor, Term::Pid(owner), Term::from("stop")));
        // Dropped without a trace (nobody to receive it, no error, no crash of the sender).
        p.send_alias(alias, "to_the_dead");
        outside.send_alias(alias, "to_the_dead");
        nothing_more(&mut p).await;
    })
    .await;
}

#[tokio::test]
async fn unknown_and_foreign_references_are_dropped() {
    let node = node();
    let target = node.spawn(forever).unwrap();
    within(&node, move |mut p| async move {
        // A reference that was never an alias, and one "made" by another node with the same words.
        let plain = p.make_ref();
        p.send_alias(plain, "x");
        let other = Node::new("other@localhost", 1).unwrap();
        let foreign = other.make_ref();
        p.send_alias(foreign, "y");
        nothing_more(&mut p).await;
        assert_eq!(p.node().process_info(target).unwrap().message_queue_len, 0);
        p.exit(target, exit::kill());
    })
    .await;
}

#[tokio::test]
async fn a_monitors_alias_is_active_until_demonitor() {
    let node = node();
    let target = node.spawn(forever).unwrap();
    within(&node, move |mut p| async move {
        let monitor = p.monitor_alias(target);
        p.send_alias(monitor, "while_monitoring");
        assert_eq!(next(&mut p).await, Term::from("while_monitoring"));
        assert_eq!(p.node().process_info(p.self_pid()).unwrap().aliases, vec![monitor]);
        assert!(p.demonitor(monitor));
        p.send_alias(monitor, "after_demonitor");
        nothing_more(&mut p).await;
        assert!(!p.unalias(monitor), "the alias ended with the monitor");
        p.exit(target, exit::kill());
    })
    .await;
}

#[tokio::test]
async fn a_monitors_alias_ends_when_the_monitor_fires() {
    let node = node();
    let target = node.spawn(forever).unwrap();
    within(&node, move |mut p| async move {
        let monitor = p.monitor_alias(target);
        p.exit(target, "stop");
        assert_eq!(next(&mut p).await, down(monitor, Term::Pid(target), Term::from("stop")));
        p.send_alias(monitor, "after_down");
        nothing_more(&mut p).await;
    })
    .await;
}

#[tokio::test]
async fn unalias_ends_a_monitors_alias_and_leaves_the_monitor() {
    let node = node();
    let target = node.spawn(forever).unwrap();
    within(&node, move |mut p| async move {
        let monitor = p.monitor_alias(target);
        assert!(p.unalias(monitor));
        assert!(!p.unalias(monitor));
        p.send_alias(monitor, "after_unalias");
        nothing_more(&mut p).await;
        p.exit(target, "stop");
        assert_eq!(next(&mut p).await, down(monitor, Term::Pid(target), Term::from("stop")));
    })
    .await;
}

#[tokio::test]
async fn a_monitors_alias_of_a_missing_process_is_never_active() {
    let node = node();
    let gone = node.spawn(|_p| async { Ok(()) }).unwrap();
    within(&node, move |mut p| async move {
        while p.node().process_info(gone).is_some() {
            tokio::task::yield_now().await;
        }
        let monitor = p.monitor_alias(gone);
        assert_eq!(next(&mut p).await, down(monitor, Term::Pid(gone), Term::atom("noproc")));
        p.send_alias(monitor, "x");
        nothing_more(&mut p).await;
    })
    .await;
}
