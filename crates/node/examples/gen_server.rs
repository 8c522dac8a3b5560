//! A GenServer: a key-value store with calls, a cast, a reply that comes later, and `sys:get_state`'s view
//! of it, all from a client process on the same node.
//!
//! Run with `cargo run -p erlnode --example gen_server`.

use std::collections::BTreeMap;
use std::time::Duration;

use erlnode::gen_server::{self, CallResult, Caller, Ctx, Flow, GenServer, InitError};
use erlnode::{Atom, Node, Term};

/// The store: `{put, K, V}` and `{get, K}` calls, a `{delete, K}` cast, and `{wait_for, K}`, answered
/// once `K` is put.
struct Store {
    data: BTreeMap<String, Term>,
    waiting: Vec<(String, Caller)>,
}

impl GenServer for Store {
    type Args = ();

    async fn init(_ctx: &mut Ctx<'_>, (): ()) -> Result<Store, InitError> {
        Ok(Store { data: BTreeMap::new(), waiting: Vec::new() })
    }

    async fn handle_call(&mut self, ctx: &mut Ctx<'_>, request: Term, from: &Caller) -> CallResult {
        match request.as_tuple() {
            Some([op, key, value]) if *op == Term::atom("put") => {
                let key = key.to_string();
                // Whoever waits for this key gets the value now.
                for (_, caller) in self.waiting.iter().filter(|(k, _)| *k == key) {
                    ctx.reply(caller, value.clone());
                }
                self.waiting.retain(|(k, _)| *k != key);
                CallResult::reply(self.data.insert(key, value.clone()).unwrap_or(Term::atom("undefined")))
            }
            Some([op, key]) if *op == Term::atom("get") => {
                CallResult::reply(self.data.get(&key.to_string()).cloned().unwrap_or(Term::atom("undefined")))
            }
            Some([op, key]) if *op == Term::atom("wait_for") => match self.data.get(&key.to_string()) {
                Some(value) => CallResult::reply(value.clone()),
                None => {
                    self.waiting.push((key.to_string(), from.clone()));
                    CallResult::NoReply
                }
            },
            _ => CallResult::reply(Term::error(Term::atom("bad_request"))),
        }
    }

    async fn handle_cast(&mut self, _ctx: &mut Ctx<'_>, message: Term) -> Flow {
        if let Some([op, key]) = message.as_tuple() {
            if *op == Term::atom("delete") {
                self.data.remove(&key.to_string());
            }
        }
        Flow::Continue
    }

    fn state(&self) -> Term {
        Term::Map(self.data.iter().map(|(k, v)| (Term::from(k.as_str()), v.clone())).collect())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let node = Node::new("example@localhost", 1)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let store = runtime.block_on(gen_server::start::<Store>(&node, (), Some(Atom::new("store"))))?;
    println!("store started: {store}, registered as store");

    let (done, finished) = std::sync::mpsc::channel();
    node.spawn(move |mut p| async move {
        let timeout = gen_server::DEFAULT_TIMEOUT;
        let name = Atom::new("store");
        let put = |k: &str, v: Term| Term::tuple(vec![Term::atom("put"), Term::atom(k), v]);
        let old = gen_server::call(&mut p, name, put("colour", Term::atom("blue")), timeout).await;
        println!("put colour = blue -> previous value {old:?}");

        // A waiter whose answer comes when someone else puts the key.
        let waiter = p.spawn(move |mut w| async move {
            let request = Term::tuple(vec![Term::atom("wait_for"), Term::atom("size")]);
            let got = gen_server::call(&mut w, name, request, Duration::from_secs(5)).await;
            println!("the waiter got size = {got:?}");
            Ok(())
        })?;
        tokio::time::sleep(Duration::from_millis(50)).await;
        gen_server::call(&mut p, name, put("size", Term::from(42)), timeout).await.ok();
        tokio::time::sleep(Duration::from_millis(50)).await;
        println!("waiter {waiter} answered after the put");

        gen_server::cast(&p, name, Term::tuple(vec![Term::atom("delete"), Term::atom("colour")]));
        let colour =
            gen_server::call(&mut p, name, Term::tuple(vec![Term::atom("get"), Term::atom("colour")]), timeout).await;
        println!("after the delete cast, get colour -> {colour:?}");

        let missing = gen_server::call(&mut p, Atom::new("no_such_server"), Term::atom("hello"), timeout).await;
        println!("a call to a name nobody holds -> {missing:?}");
        done.send(()).ok();
        Ok(())
    })?;
    finished.recv_timeout(Duration::from_secs(10))?;
    Ok(())
}
