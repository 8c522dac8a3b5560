//! Timers: `send_after`, `cancel_timer`, `read_timer`, with `erlang:send_after/3`'s rules.

mod common;

use std::time::Duration;

use common::{down, forever, next, node, t, within};
use erlnode::{Node, Term, exit};

const MS: fn(u64) -> Duration = Duration::from_millis;

#[tokio::test]
async fn the_message_arrives_after_the_delay() {
    let node = node();
    within(&node, |mut p| async move {
        let start = tokio::time::Instant::now();
        let timer = p.send_after(MS(40), p.self_pid(), t("{tick, 1}"));
        assert_eq!(timer.node, p.node().name());
        assert_eq!(p.recv_timeout(MS(10)).await, None);
        assert_eq!(next(&mut p).await, t("{tick, 1}"));
        assert!(start.elapsed() >= MS(40));
        // It has fired: nothing left to cancel or read, as cancel_timer returns false in Erlang.
        assert_eq!(p.cancel_timer(timer), None);
        assert_eq!(p.node().read_timer(timer), None);
    })
    .await;
}

#[tokio::test]
async fn cancel_returns_the_time_left_then_none_and_nothing_is_sent() {
    let node = node();
    within(&node, |mut p| async move {
        let timer = p.send_after(Duration::from_secs(10), p.self_pid(), "never");
        let read = p.node().read_timer(timer).unwrap();
        assert!(read <= Duration::from_secs(10) && read > Duration::from_secs(9), "{read:?}");
        let left = p.cancel_timer(timer).unwrap();
        assert!(left <= read && left > Duration::from_secs(9), "{left:?}");
        assert_eq!(p.cancel_timer(timer), None);
        assert_eq!(p.node().read_timer(timer), None);
        // Cancelling a plain reference is like Erlang's cancel_timer on a non-timer: false.
        assert_eq!(p.cancel_timer(p.make_ref()), None);
        let cancelled = p.send_after(MS(20), p.self_pid(), "cancelled");
        assert!(p.cancel_timer(cancelled).is_some());
        assert_eq!(p.recv_timeout(MS(60)).await, None);
    })
    .await;
}

#[tokio::test]
async fn timers_fire_in_deadline_order() {
    let node = node();
    within(&node, |mut p| async move {
        let me = p.self_pid();
        p.send_after(MS(60), me, 3);
        p.send_after(MS(20), me, 1);
        p.send_after(MS(40), me, 2);
        p.send_after(Duration::ZERO, me, 0);
        for n in 0..=3 {
            assert_eq!(next(&mut p).await, Term::from(n));
        }
    })
    .await;
}

#[tokio::test]
async fn a_timer_to_another_process_delivers_there() {
    let node = node();
    within(&node, |mut p| async move {
        let (target, monitor) = p.spawn_monitor(|mut c| async move { Err(c.recv().await) }).unwrap();
        p.send_after(MS(10), target, "wake");
        assert_eq!(next(&mut p).await, down(monitor, Term::Pid(target), Term::from("wake")));
    })
    .await;
}

#[tokio::test]
async fn a_timer_to_a_dead_process_does_nothing_and_cannot_be_cancelled() {
    let node = node();
    within(&node, |mut p| async move {
        let (dead, monitor) = p.spawn_monitor(|_| async { Ok(()) }).unwrap();
        assert_eq!(next(&mut p).await, down(monitor, Term::Pid(dead), exit::normal()));
        let timer = p.send_after(Duration::from_secs(1), dead, "lost");
        // Erlang cancels a timer whose destination is not alive: cancel_timer gives false.
        assert_eq!(p.cancel_timer(timer), None);
    })
    .await;
}

#[tokio::test]
async fn a_timer_is_cancelled_when_its_destination_exits() {
    let node = node();
    within(&node, |mut p| async move {
        let target = p.node().spawn(forever).unwrap();
        let monitor = p.monitor(target);
        let timer = p.send_after(Duration::from_secs(10), target, "late");
        assert!(p.node().read_timer(timer).is_some());
        p.exit(target, exit::kill());
        assert_eq!(next(&mut p).await, down(monitor, Term::Pid(target), exit::killed()));
        assert_eq!(p.cancel_timer(timer), None);
    })
    .await;
}

#[tokio::test]
async fn a_timer_survives_the_process_that_set_it() {
    let node = node();
    within(&node, |mut p| async move {
        let me = p.self_pid();
        let (setter, monitor) = p
            .spawn_monitor(move |c| async move {
                c.send_after(MS(30), me, "from_the_grave");
                Ok(())
            })
            .unwrap();
        assert_eq!(next(&mut p).await, down(monitor, Term::Pid(setter), exit::normal()));
        assert_eq!(next(&mut p).await, Term::from("from_the_grave"));
    })
    .await;
}

#[tokio::test]
async fn the_node_sets_and_cancels_timers_from_outside_processes() {
    let node = node();
    let outside = node.clone();
    within(&node, move |mut p| async move {
        let timer = outside.send_after(MS(10), p.self_pid(), "from_node");
        assert_eq!(next(&mut p).await, Term::from("from_node"));
        assert_eq!(outside.cancel_timer(timer), None);
        let timer = outside.send_after(Duration::from_secs(5), p.self_pid(), "never");
        assert!(outside.cancel_timer(timer).is_some());
    })
    .await;
}

/// Timers run on erlnode's own runtime: a plain thread can set one.
#[test]
fn send_after_works_outside_any_runtime() {
    let node = Node::new("timers@localhost", 1).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let target = node
        .spawn(move |mut p| async move {
            tx.send(p.recv().await).ok();
            Ok(())
        })
        .unwrap();
    node.send_after(MS(10), target, "tick");
    assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok(Term::from("tick")));
}
