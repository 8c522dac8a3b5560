//! Processes the Erlang way: an echo server under a registered name, a linked worker that crashes, and a
//! supervisor-to-be that traps the crash and reports it through the echo server.
//!
//! Run with `cargo run -p erlnode --example processes`.

use std::time::Duration;

use erlnode::{Atom, Node, Term};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let node = Node::new("demo@localhost", 1)?;

    // echo: answers {From, Msg} with Msg.
    let echo = node.spawn(|mut p| async move {
        loop {
            if let Some([Term::Pid(from), msg]) = p.recv().await.as_tuple() {
                p.send(*from, msg.clone());
            }
        }
    })?;
    node.register(Atom::new("echo"), echo)?;
    println!("echo is {echo}, registered as echo");

    let (done, report) = std::sync::mpsc::channel();
    node.spawn(move |mut p| async move {
        p.trap_exit(true);
        let worker = p.spawn_link(|_w| async { Err(Term::atom("boom")) })?;
        let exit = p.recv().await;
        println!("{} trapped {exit} from the worker {worker}", p.self_pid());
        p.send_named(Atom::new("echo"), (p.self_pid(), exit))?;
        let echoed = p.recv_timeout(Duration::from_secs(5)).await;
        done.send(echoed).ok();
        Ok(())
    })?;

    let echoed = report.recv_timeout(Duration::from_secs(5))?;
    println!("echo sent back {}", echoed.unwrap_or_default());
    Ok(())
}
