//! Links and exit signals, checked against the reasons and messages Erlang produces.

mod common;

use std::time::Duration;

use common::{WAIT, down_reason, exit_msg, forever, next, node, t, within};
use erlnode::{LinkError, Term, exit};

#[tokio::test]
async fn a_crash_kills_a_linked_process_that_does_not_trap() {
    let node = node();
    within(&node, |mut p| async move {
        let (parent, monitor) = p
            .spawn_monitor(|c| async move {
                c.spawn_link(|_| async { Err(t("boom")) })?;
                std::future::pending().await
            })
            .unwrap();
        assert_eq!(down_reason(&mut p, monitor).await, t("boom"));
        assert!(!p.node().is_alive(parent));
    })
    .await;
}

#[tokio::test]
async fn normal_exit_does_not_kill_a_linked_process() {
    let node = node();
    within(&node, |mut p| async move {
        let me = p.self_pid();
        let (parent, monitor) = p
            .spawn_monitor(move |mut c| async move {
                c.spawn_link(|_| async { Ok(()) })?;
                // Still here after the child ended normally.
                tokio::time::sleep(Duration::from_millis(20)).await;
                c.send(me, "alive");
                c.recv().await;
                Ok(())
            })
            .unwrap();
        assert_eq!(next(&mut p).await, Term::from("alive"));
        p.send(parent, "stop");
        assert_eq!(down_reason(&mut p, monitor).await, exit::normal());
    })
    .await;
}

#[tokio::test]
async fn trap_exit_turns_exit_signals_into_messages() {
    let node = node();
    within(&node, |mut p| async move {
        assert!(!p.trap_exit(true));
        let ok = p.spawn_link(|_| async { Ok(()) }).unwrap();
        assert_eq!(next(&mut p).await, exit_msg(ok, exit::normal()));
        let bad = p.spawn_link(|_| async { Err(t("{error, bad}")) }).unwrap();
        assert_eq!(next(&mut p).await, exit_msg(bad, t("{error, bad}")));
        let panicked = p.spawn_link(|_| async { panic!("oops") }).unwrap();
        assert_eq!(next(&mut p).await, exit_msg(panicked, t("{panic, <<\"oops\">>}")));
        // exit(Pid, normal) reaches a trapping process as a message too, naming the sender.
        p.exit(p.self_pid(), exit::normal());
        assert_eq!(next(&mut p).await, exit_msg(p.self_pid(), exit::normal()));
    })
    .await;
}

#[tokio::test]
async fn a_crash_travels_down_a_linked_chain() {
    let node = node();
    within(&node, |mut p| async move {
        p.trap_exit(true);
        let me = p.self_pid();
        // me <-> a <-> b <-> c; c crashes.
        let a = p
            .spawn_link(move |a| async move {
                a.spawn_link(move |b| async move {
                    b.spawn_link(move |c| async move {
                        c.send(me, Term::tuple(vec![Term::atom("c"), Term::Pid(c.self_pid())]));
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        Err(t("chain_broke"))
                    })?;
                    std::future::pending().await
                })?;
                std::future::pending().await
            })
            .unwrap();
        let c = next(&mut p).await.as_tuple().unwrap()[1].as_pid().unwrap();
        let c_monitor = p.monitor(c);
        let from_a = p.recv_match_timeout(|m| m.as_tuple().is_some_and(|m| m[0] == Term::atom("EXIT")), WAIT).await;
        assert_eq!(from_a, Some(exit_msg(a, t("chain_broke"))));
        // c may have been gone before the monitor: then it is noproc.
        let c_reason = down_reason(&mut p, c_monitor).await;
        assert!(c_reason == t("chain_broke") || c_reason == exit::noproc(), "{c_reason}");
        assert!(p.node().processes() == vec![me], "{:?}", p.node().processes());
    })
    .await;
}

#[tokio::test]
async fn kill_cannot_be_trapped_and_links_see_killed() {
    let node = node();
    within(&node, |mut p| async move {
        p.trap_exit(true);
        let me = p.self_pid();
        let victim = p
            .spawn_link(move |v| async move {
                v.trap_exit(true);
                v.send(me, "trapping");
                std::future::pending().await
            })
            .unwrap();
        let monitor = p.monitor(victim);
        assert_eq!(next(&mut p).await, Term::from("trapping"));
        p.exit(victim, exit::kill());
        assert_eq!(next(&mut p).await, exit_msg(victim, exit::killed()));
        assert_eq!(down_reason(&mut p, monitor).await, exit::killed());
    })
    .await;
}

#[tokio::test]
async fn a_kill_reason_through_a_link_is_an_ordinary_reason() {
    // A linked process that exits with reason kill ends its non-trapping links with reason kill (not killed),
    // and a trapping link receives {'EXIT', Pid, kill}: only exit(Pid, kill) is untrappable.
    let node = node();
    within(&node, |mut p| async move {
        let (_, monitor) = p
            .spawn_monitor(|c| async move {
                c.spawn_link(|_| async { Err(exit::kill()) })?;
                std::future::pending().await
            })
            .unwrap();
        assert_eq!(down_reason(&mut p, monitor).await, exit::kill());
        p.trap_exit(true);
        let child = p.spawn_link(|_| async { Err(exit::kill()) }).unwrap();
        assert_eq!(next(&mut p).await, exit_msg(child, exit::kill()));
    })
    .await;
}

#[tokio::test]
async fn exit_signals_follow_erlangs_rules() {
    let node = node();
    within(&node, |mut p| async move {
        // normal from another process is ignored by a process that does not trap.
        let target = p.node().spawn(forever).unwrap();
        let monitor = p.monitor(target);
        p.exit(target, exit::normal());
        assert_eq!(p.recv_timeout(Duration::from_millis(20)).await, None);
        assert!(p.node().is_alive(target));
        // Any other reason ends it with that reason, even while it is not receiving.
        p.exit(target, t("{shutdown, now}"));
        assert_eq!(down_reason(&mut p, monitor).await, t("{shutdown, now}"));
        // exit(self(), normal) ends a process that does not trap, with reason normal.
        let (_, monitor) = p
            .spawn_monitor(|c| async move {
                c.exit(c.self_pid(), exit::normal());
                tokio::time::sleep(WAIT).await;
                Err(t("still_alive"))
            })
            .unwrap();
        assert_eq!(down_reason(&mut p, monitor).await, exit::normal());
        // A busy process (never awaiting a receive) is killed at its next await.
        let (busy, monitor) = p
            .spawn_monitor(|_c| async move {
                loop {
                    tokio::task::yield_now().await;
                }
            })
            .unwrap();
        p.exit(busy, exit::kill());
        assert_eq!(down_reason(&mut p, monitor).await, exit::killed());
    })
    .await;
}

#[tokio::test]
async fn linking_to_a_dead_process_gives_noproc() {
    let node = node();
    within(&node, |mut p| async move {
        let (dead, monitor) = p.spawn_monitor(|_| async { Ok(()) }).unwrap();
        down_reason(&mut p, monitor).await;
        assert_eq!(p.link(dead), Err(LinkError::NoProc(dead)));
        assert_eq!(Term::from(LinkError::NoProc(dead)), exit::noproc());
        p.trap_exit(true);
        assert_eq!(p.link(dead), Ok(()));
        assert_eq!(next(&mut p).await, exit_msg(dead, exit::noproc()));
    })
    .await;
}

#[tokio::test]
async fn link_and_unlink() {
    let node = node();
    within(&node, |mut p| async move {
        p.trap_exit(true);
        let other = p.node().spawn(|mut c| async move { Err(c.recv().await) }).unwrap();
        p.link(other).unwrap();
        p.link(other).unwrap(); // idempotent
        p.send(other, "first");
        assert_eq!(next(&mut p).await, exit_msg(other, Term::from("first")));
        // After unlink, a crash no longer reaches us.
        let other = p.node().spawn(|mut c| async move { Err(c.recv().await) }).unwrap();
        p.link(other).unwrap();
        p.unlink(other);
        let monitor = p.monitor(other);
        p.send(other, "second");
        assert_eq!(down_reason(&mut p, monitor).await, Term::from("second"));
        assert_eq!(p.recv_timeout(Duration::from_millis(20)).await, None);
    })
    .await;
}
