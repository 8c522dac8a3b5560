//! Mailboxes, message order, selective receive, and how a process ends.

mod common;

use std::time::Duration;

use common::{WAIT, down, forever, next, node, t, within};
use erlnode::{Node, Term, exit};

#[tokio::test(flavor = "multi_thread")]
async fn messages_from_one_sender_arrive_in_order_and_none_is_lost() {
    let node = node();
    let got = within(&node, |p| async move {
        let me = p.self_pid();
        let count = 50_000;
        p.spawn(move |s| async move {
            for i in 0..count {
                s.send(me, i);
            }
            Ok(())
        })
        .unwrap();
        let mut p = p;
        let mut got = Vec::new();
        for _ in 0..count {
            got.push(next(&mut p).await.as_i64().unwrap());
        }
        got
    })
    .await;
    assert_eq!(got, (0..50_000).collect::<Vec<i64>>());
}

#[tokio::test]
async fn selective_receive_takes_the_first_match_and_keeps_the_rest_in_order() {
    let node = node();
    let order = within(&node, |mut p| async move {
        for m in ["a", "b", "c", "b"] {
            p.send(p.self_pid(), Term::atom(m));
        }
        let first = p.recv_match(|m| m == &Term::atom("b")).await;
        assert_eq!(first, Term::atom("b"));
        let none = p.recv_match_timeout(|m| m == &Term::atom("z"), Duration::from_millis(10)).await;
        assert_eq!(none, None);
        assert_eq!(p.mailbox_len(), 3);
        let mut rest = Vec::new();
        while let Some(m) = p.recv_timeout(Duration::ZERO).await {
            rest.push(m);
        }
        rest
    })
    .await;
    assert_eq!(order, vec![Term::atom("a"), Term::atom("c"), Term::atom("b")]);
}

#[tokio::test]
async fn recv_timeout_gives_up_and_zero_only_looks() {
    let node = node();
    within(&node, |mut p| async move {
        assert_eq!(p.recv_timeout(Duration::from_millis(20)).await, None);
        p.send(p.self_pid(), 1);
        assert_eq!(p.recv_timeout(Duration::ZERO).await, Some(Term::from(1)));
    })
    .await;
}

#[tokio::test]
async fn each_timed_receive_keeps_its_own_deadline() {
    // Timed receives on one scheduler reuse their timer: each must still end at its own deadline.
    let node = node();
    within(&node, |mut p| async move {
        // `message` to `p` after `delay` milliseconds.
        fn later(p: &erlnode::Process, delay: u64, message: i64) {
            let to = p.self_pid();
            p.spawn(move |s| async move {
                tokio::time::sleep(Duration::from_millis(delay)).await;
                s.send(to, message);
                Ok(())
            })
            .unwrap();
        }
        // One that waits, with its timer an hour ahead.
        later(&p, 20, 1);
        assert_eq!(p.recv_timeout(Duration::from_secs(3600)).await, Some(Term::from(1)));
        // A short one after it ends in time, not in an hour.
        later(&p, 300, 2);
        let short = tokio::time::timeout(Duration::from_secs(30), p.recv_timeout(Duration::from_millis(10))).await;
        assert_eq!(short, Ok(None));
        // A longer one after a timeout still waits for what comes.
        assert_eq!(p.recv_timeout(WAIT).await, Some(Term::from(2)));
        // And one given up halfway leaves the next one working.
        let abandoned = tokio::time::timeout(Duration::from_millis(5), p.recv_timeout(Duration::from_secs(3600))).await;
        assert!(abandoned.is_err());
        assert_eq!(p.recv_timeout(Duration::from_millis(10)).await, None);
    })
    .await;
}

async fn exit_reason_of<F, Fut>(node: &Node, body: F) -> Term
where
    F: FnOnce(erlnode::Process) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = erlnode::ExitResult> + Send + 'static,
{
    within(node, move |mut p| async move {
        let (pid, monitor) = p.spawn_monitor(body).expect("spawned");
        let msg = next(&mut p).await;
        let reason = msg.as_tuple().expect("a DOWN tuple")[4].clone();
        assert_eq!(msg, down(monitor, Term::Pid(pid), reason.clone()));
        reason
    })
    .await
}

#[tokio::test]
async fn a_process_ends_with_normal_its_error_or_its_panic() {
    let node = node();
    assert_eq!(exit_reason_of(&node, |_p| async { Ok(()) }).await, t("normal"));
    assert_eq!(exit_reason_of(&node, |_p| async { Err(t("{shutdown, bye}")) }).await, t("{shutdown,bye}"));
    let panicked = exit_reason_of(&node, |_p| async {
        if true {
            panic!("boom {}", 42);
        }
        Ok(())
    })
    .await;
    assert_eq!(panicked, t("{panic, <<\"boom 42\">>}"));
    // The node lives on.
    assert_eq!(exit_reason_of(&node, |_p| async { Ok(()) }).await, exit::normal());
}

#[tokio::test]
async fn a_dead_process_is_gone_from_the_table() {
    let node = node();
    let pid = node.spawn(forever).unwrap();
    assert!(node.is_alive(pid));
    assert!(node.processes().contains(&pid));
    within(&node, move |mut p| async move {
        let monitor = p.monitor(pid);
        p.exit(pid, exit::kill());
        assert_eq!(next(&mut p).await, down(monitor, Term::Pid(pid), exit::killed()));
    })
    .await;
    assert!(!node.is_alive(pid));
    assert!(!node.processes().contains(&pid));
    // Sending to it is silently dropped, as in Erlang.
    node.send(pid, 1);
}

#[tokio::test]
async fn pids_and_refs_carry_the_node_and_its_creation() {
    let node = node();
    let a = node.spawn(forever).unwrap();
    let b = node.spawn(forever).unwrap();
    assert_eq!((a.node, a.creation, a.serial), (node.name(), 3, 0));
    assert_eq!(b.id, a.id + 1);
    assert_eq!(a.to_string(), format!("<test@localhost.{}.0>", a.id));
    let r = node.make_ref();
    assert_eq!((r.node, r.creation, r.ids().len()), (node.name(), 3, 3));
    assert_ne!(r, node.make_ref());
    let _ = WAIT;
}

#[test]
fn node_names_must_be_name_at_host() {
    assert!(Node::new("a@b", 1).is_ok());
    for bad in ["nohost", "@h", "n@", ""] {
        assert!(matches!(Node::new(bad, 1), Err(erlnode::NodeError::InvalidName(_))), "{bad}");
    }
}

/// Processes run on erlnode's schedulers: a plain thread, with no tokio runtime, can spawn and talk to them.
#[test]
fn spawning_needs_no_runtime() {
    let node = node();
    let (tx, rx) = std::sync::mpsc::channel();
    let echo = node
        .spawn(move |mut p| async move {
            let got = p.recv().await;
            tokio::time::sleep(Duration::from_millis(1)).await;
            tx.send(got).ok();
            Ok(())
        })
        .unwrap();
    node.send(echo, "hello");
    assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok(Term::from("hello")));
}
