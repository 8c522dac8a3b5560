//! Scale: 100,000 processes exchange 1,000,000 messages, none is lost and every pair's order is kept.
//!
//! The processes form a ring: process `i` sends the numbered sequence `0..10` to process `i + 1` (the last
//! one to the first) and receives the sequence of process `i - 1`, checking that it comes from that sender,
//! in order, with no gap. Each message is one integer, `sender * 10 + seq`, so the receiver can tell both.
//! All processes send before they receive, so up to a million messages sit in mailboxes at once while the
//! others are being consumed on every worker thread. Each process then reports
//! `{Index, Received, InOrder, Errors}` to a collector process, and the test asserts the collector's totals.
//!
//! Run with `cargo test -p erlnode --test scale` (a few seconds in a debug build on two cores).

use std::time::{Duration, Instant};

use erlnode::{Node, Pid, Process, Term};

/// Processes in the ring.
const PROCESSES: usize = 100_000;

/// Messages each process sends to its successor (and receives from its predecessor).
const PER_PAIR: i64 = 10;

/// How long the test may take before it is a failure rather than slowness.
const LIMIT: Duration = Duration::from_secs(120);

/// What one ring member saw: the number of messages it received, how many arrived exactly as expected, and
/// how many were out of order, from the wrong sender, or duplicated.
async fn member(mut p: Process, index: usize, successor: Pid, collector: Pid) -> erlnode::ExitResult {
    for seq in 0..PER_PAIR {
        p.send(successor, index as i64 * PER_PAIR + seq);
    }
    let predecessor = (index + PROCESSES - 1) % PROCESSES;
    let (mut received, mut in_order, mut errors) = (0i64, 0i64, 0i64);
    for expected in 0..PER_PAIR {
        let message = p.recv().await;
        received += 1;
        match message.as_i64() {
            Some(n) if n == predecessor as i64 * PER_PAIR + expected => in_order += 1,
            _ => errors += 1,
        }
    }
    // Nothing more may be waiting: a duplicate would show here.
    while p.recv_timeout(Duration::ZERO).await.is_some() {
        errors += 1;
    }
    p.send(collector, Term::tuple(vec![Term::from(index as i64), received.into(), in_order.into(), errors.into()]));
    Ok(())
}

/// The collector's totals.
#[derive(Debug, PartialEq, Eq)]
struct Totals {
    reports: usize,
    distinct_members: usize,
    received: i64,
    in_order: i64,
    errors: i64,
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hundred_thousand_processes_exchange_a_million_messages_losing_none_and_keeping_order() {
    let started = Instant::now();
    let node = Node::new("scale@localhost", 1).expect("a valid node name");

    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let collector = node
        .spawn(move |mut p| async move {
            let mut seen = vec![false; PROCESSES];
            let mut totals = Totals { reports: 0, distinct_members: 0, received: 0, in_order: 0, errors: 0 };
            while totals.reports < PROCESSES {
                let report = p.recv().await;
                let fields: Vec<i64> = report.as_tuple().unwrap_or_default().iter().filter_map(Term::as_i64).collect();
                let [index, received, in_order, errors] = fields[..] else {
                    totals.errors += 1;
                    totals.reports += 1;
                    continue;
                };
                totals.reports += 1;
                if let Some(slot) = usize::try_from(index).ok().and_then(|i| seen.get_mut(i))
                    && !*slot
                {
                    *slot = true;
                    totals.distinct_members += 1;
                }
                totals.received += received;
                totals.in_order += in_order;
                totals.errors += errors;
            }
            done_tx.send(totals).ok();
            Ok(())
        })
        .expect("spawn the collector");

    // Member 0 learns its successor last, by a message; the rest are spawned from the end of the ring
    // backwards, so each one's successor already exists when it starts sending.
    let first = node
        .spawn(move |mut p| async move {
            let setup = p.recv_match(|m| m.as_pid().is_some()).await;
            let successor = setup.as_pid().ok_or_else(|| Term::atom("bad_setup"))?;
            member(p, 0, successor, collector).await
        })
        .expect("spawn member 0");
    let mut successor = first;
    for index in (1..PROCESSES).rev() {
        successor = node
            .spawn(move |p| member(p, index, successor, collector))
            .unwrap_or_else(|e| panic!("spawn member {index}: {e}"));
    }
    node.send(first, successor);

    let totals = tokio::time::timeout(LIMIT, done_rx)
        .await
        .expect("the collector got every report in time")
        .expect("the collector finished");
    let total_messages = PROCESSES as i64 * PER_PAIR;
    assert_eq!(
        totals,
        Totals {
            reports: PROCESSES,
            distinct_members: PROCESSES,
            received: total_messages,
            in_order: total_messages,
            errors: 0,
        }
    );
    println!("{PROCESSES} processes, {total_messages} messages in order: {:.2} s", started.elapsed().as_secs_f64());
}
