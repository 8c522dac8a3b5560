// temporary experiment harness (not to be committed)
use erlnode::{Atom, Node, NodeOptions, Term};
use std::time::{Duration, Instant};
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let target = Atom::new(&args[1]);
    let mode = args[2].clone();
    let n: u64 = args[3].parse().unwrap();
    let reps: u64 = args[4].parse().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let node = rt.block_on(Node::start(NodeOptions::new("tput").cookie("c").epmd_port(4999))).unwrap();
    // Warm-up: connect with a small round, then a pause for a profiler to start counting.
    {
        let (tx, rx) = std::sync::mpsc::channel();
        node.spawn(move |mut p| async move {
            let me = p.self_pid();
            let sink = Atom::new("sink");
            p.send_to_name_on(sink, target, Term::tuple(vec![Term::atom("sink"), Term::from(1i64), Term::Pid(me)]));
            p.send_to_name_on(sink, target, 1i64);
            let done = Term::atom("done");
            p.recv_match_timeout(|m| *m == done, Duration::from_secs(120)).await.unwrap();
            tx.send(()).ok();
            Ok(())
        })
        .unwrap();
        rx.recv().unwrap();
        eprintln!("warm");
        std::thread::sleep(Duration::from_millis(
            std::env::var("WARM_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(0),
        ));
    }
    for _ in 0..reps {
        let (tx, rx) = std::sync::mpsc::channel();
        let mode2 = mode.clone();
        node.spawn(move |mut p| async move {
            let start = Instant::now();
            let me = p.self_pid();
            let mode = mode2;
            if mode == "send" {
                let sink = Atom::new("sink");
                p.send_to_name_on(
                    sink,
                    target,
                    Term::tuple(vec![Term::atom("sink"), Term::from(n as i64), Term::Pid(me)]),
                );
                for i in 1..=n {
                    p.send_to_name_on(sink, target, i as i64);
                }
                let done = Term::atom("done");
                p.recv_match_timeout(|m| *m == done, Duration::from_secs(120)).await.unwrap();
            } else if mode == "call" {
                let echo = Atom::new("echo");
                for i in 1..=n as i64 {
                    let tag = p.make_ref();
                    let from = Term::tuple(vec![Term::Pid(me), Term::Ref(tag)]);
                    p.send_to_name_on(echo, target, Term::tuple(vec![Term::atom("$gen_call"), from, Term::from(i)]));
                    p.recv_match_timeout(
                        |m| matches!(m.as_tuple(), Some([Term::Ref(r), _]) if *r == tag),
                        Duration::from_secs(60),
                    )
                    .await
                    .unwrap();
                }
            } else {
                for i in 1..=n as i64 {
                    p.rpc_call(target, "demo", "add", vec![Term::from(i), Term::from(1)], Duration::from_secs(60))
                        .await
                        .unwrap();
                }
            }
            tx.send(start.elapsed().as_secs_f64()).ok();
            Ok(())
        })
        .unwrap();
        let s = rx.recv().unwrap();
        if mode == "send" {
            println!("{mode}: {:.0}k msg/s", n as f64 / s / 1e3);
        } else {
            println!("{mode}: {:.1} us", s / n as f64 * 1e6);
        }
    }
}
