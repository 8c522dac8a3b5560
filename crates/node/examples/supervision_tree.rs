//! A supervision tree: a top supervisor (one_for_one) over a worker and a child supervisor
//! (rest_for_one) over two more. Workers crash; the tree restarts what their strategies say, and the
//! program prints every start and stop in order.
//!
//! Run with `cargo run -p erlnode --example supervision_tree`.

use std::time::Duration;

use erlnode::gen_server::{self, Ctx, Flow, GenServer, InitError};
use erlnode::supervisor::{self, ChildSpec, Flags, Strategy};
use erlnode::{Atom, Node, Term};

/// A worker that prints its start and its stop, and crashes on the cast `crash`.
struct Worker(&'static str);

impl GenServer for Worker {
    type Args = &'static str;

    async fn init(ctx: &mut Ctx<'_>, name: &'static str) -> Result<Worker, InitError> {
        // Trapping exits lets terminate run when the supervisor stops it.
        ctx.trap_exit(true);
        println!("  start {name} as {}", ctx.self_pid());
        Ok(Worker(name))
    }

    async fn handle_cast(&mut self, _ctx: &mut Ctx<'_>, _message: Term) -> Flow {
        Flow::Stop(Term::atom("crashed"))
    }

    async fn terminate(&mut self, _ctx: &mut Ctx<'_>, reason: &Term) {
        println!("  stop  {} ({reason})", self.0);
    }
}

fn worker(name: &'static str) -> ChildSpec {
    ChildSpec::gen_server::<Worker>(Term::atom(name), name, Some(Atom::new(name)))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let node = Node::new("example@localhost", 1)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    println!("starting the tree:");
    let inner = ChildSpec::supervisor(
        Term::atom("pipeline_sup"),
        Flags::new(Strategy::RestForOne).intensity(5, Duration::from_secs(10)),
        vec![worker("reader"), worker("writer")],
        Some(Atom::new("pipeline_sup")),
    );
    let flags = Flags::new(Strategy::OneForOne).intensity(5, Duration::from_secs(10));
    let top =
        runtime.block_on(supervisor::start(&node, flags, vec![worker("logger"), inner], Some(Atom::new("top_sup"))))?;
    println!("top_sup is {top}");

    let (done, finished) = std::sync::mpsc::channel();
    node.spawn(move |mut p| async move {
        let crash = |p: &erlnode::Process, name: &str| {
            println!("crash {name}:");
            gen_server::cast(p, Atom::new(name), Term::atom("crash"));
        };
        let pause = || tokio::time::sleep(Duration::from_millis(100));
        crash(&p, "logger");
        pause().await;
        // rest_for_one: the reader's crash restarts the writer too; the writer's only itself.
        crash(&p, "reader");
        pause().await;
        crash(&p, "writer");
        pause().await;
        let children = supervisor::which_children(&mut p, Atom::new("top_sup")).await;
        println!("top_sup's children: {}", children.unwrap_or_else(|e| e));
        println!("stopping the tree:");
        let _ = gen_server::stop(&mut p, top, Term::atom("shutdown"), Duration::from_secs(5)).await;
        done.send(()).ok();
        Ok::<(), Term>(())
    })?;
    finished.recv_timeout(Duration::from_secs(10))?;
    Ok(())
}
