//! Applications: `shop` needs `db`; starting `shop` starts `db` first. The program reads the environment,
//! lists the running applications, stops `shop`, then kills `db`'s top supervisor: `db` is permanent, so
//! the node stops.
//!
//! Run with `cargo run -p erlnode --example application`.

use std::time::Duration;

use erlnode::application::{self, AppSpec, StartType};
use erlnode::gen_server::{Ctx, GenServer, InitError};
use erlnode::supervisor::{self, ChildSpec, Flags, Strategy};
use erlnode::{Atom, Node, Term};

/// A worker that prints its start and stop.
struct Worker(&'static str);

impl GenServer for Worker {
    type Args = &'static str;

    async fn init(ctx: &mut Ctx<'_>, name: &'static str) -> Result<Worker, InitError> {
        ctx.trap_exit(true);
        println!("  {name} started");
        Ok(Worker(name))
    }

    async fn terminate(&mut self, _ctx: &mut Ctx<'_>, reason: &Term) {
        println!("  {} stopped ({reason})", self.0);
    }
}

/// An application whose top supervisor, `<name>_sup`, runs one worker.
fn app(name: &'static str) -> AppSpec {
    AppSpec::new(name, move |node: Node| async move {
        let child = ChildSpec::gen_server::<Worker>(Term::atom(name), name, None);
        let sup = Atom::new(&format!("{name}_sup"));
        supervisor::start(&node, Flags::new(Strategy::OneForOne), vec![child], Some(sup)).await.map_err(|e| e.to_term())
    })
    .description(&format!("the {name} application"))
    .version("0.1.0")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let node = Node::new("example@localhost", 1)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        application::load(&node, app("db").env("pool_size", 10))?;
        application::load(&node, app("shop").needs("db"))?;
        println!("starting shop:");
        let started = application::start(&node, Atom::new("shop"), StartType::Permanent).await?;
        println!("started, in order: {started:?}");
        println!("running: {}", application::which_applications(&node));
        println!("db's pool_size: {:?}", application::get_env(&node, Atom::new("db"), Atom::new("pool_size")));

        println!("stopping shop:");
        application::stop(&node, Atom::new("shop")).await?;
        println!("running: {}", application::which_applications(&node));

        println!("killing db_sup (db is permanent):");
        let db_sup = node.whereis(Atom::new("db_sup")).ok_or("db_sup is not running")?;
        node.exit(db_sup, erlnode::exit::kill());
        let reason = tokio::time::timeout(Duration::from_secs(5), application::stopped(&node)).await?;
        println!("the node stopped: {reason}");
        Ok::<(), Box<dyn std::error::Error>>(())
    })
}
