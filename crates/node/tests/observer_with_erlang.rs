//! OTP's observer GUI, run by a real `erl` node on a virtual display (`Xvfb`), watches a Rust node: the
//! node is picked from observer's Nodes menu and every tab is opened in turn
//! (tests/erlang/observer_probe.erl drives observer through its menu event and its notebook, as clicks
//! do). A remote call observer cannot use logs an error, and a tab that crashes leaves a crash report:
//! there must be neither. The Load Charts tab must have drawn samples, and the Applications tab must list
//! the node's application and draw its supervision tree. Last, the window a double click on a process
//! opens is opened for a registered Rust process.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use erlnode::application::{self, AppSpec, StartType};
use erlnode::supervisor::{self, ChildSpec, ChildType, Flags, Start, Strategy, Supervisor};
use erlnode::{Atom, Node, Pid, Term};
use erlnode_erltest::node::{ERL_HOST, ErlNode, unique};
use erlnode_erltest::{Erlang, Proc, TempDir};

const COOKIE: &str = "erlnode_observer_test";

/// Set if the process that only says it is a supervisor ever gets a message.
static ASKED: AtomicBool = AtomicBool::new(false);

/// Registers a child the supervisor started as `name`.
fn register(s: &Start, pid: Option<Pid>, name: &str) -> Result<Option<Pid>, Term> {
    if let Some(pid) = pid {
        s.node().register(Atom::new(name), pid).map_err(|e| Term::from(e.to_string()))?;
    }
    Ok(pid)
}
const PROBE_SOURCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/erlang/observer_probe.erl");

/// Starts `Xvfb` on a display it picks; the display's name (`:N`) and the server.
fn virtual_display(xvfb: &Path) -> (String, Proc) {
    let server =
        Proc::start("Xvfb", xvfb, &["-displayfd", "1", "-screen", "0", "1280x1024x24", "-nolisten", "tcp"], &[]);
    // Xvfb writes the display's number on the given descriptor once it accepts clients.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let number = server.output().lines().find_map(|l| l.trim().parse::<u32>().ok());
        if let Some(number) = number {
            return (format!(":{number}"), server);
        }
        assert!(Instant::now() < deadline, "Xvfb did not start:\n{}", server.output());
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn observer_shows_every_tab_of_a_rust_node() {
    let Some(erlang) = Erlang::find("observer_shows_every_tab_of_a_rust_node") else { return };
    // observer needs wx (Debian's erlang-observer brings it) and a display.
    let has_observer = common::erl_has_module(&erlang, "observer_wx");
    let xvfb = erlnode_erltest::find::program("Xvfb");
    let (true, Some(xvfb)) = (has_observer, xvfb) else {
        assert!(!erlnode_erltest::find::ci(), "observer or Xvfb is missing, and CI=true requires this test to run");
        eprintln!("observer_shows_every_tab_of_a_rust_node: skipped: needs erlang-observer and Xvfb (xvfb)");
        return;
    };
    let (display, _server) = virtual_display(&xvfb);

    let (node, epmd) = common::dist_node("rust_observed", COOKIE).await;
    let worker = node.spawn(common::forever).expect("a worker starts");
    node.register(Atom::new("observed_worker"), worker).expect("the name is free");
    node.send(worker, Term::from(1));
    // The application's tree: a top supervisor with a worker, a supervisor with a worker of its own, and
    // a plain process that says it is a supervisor, which must not be asked for children.
    let worker = |id: &'static str| {
        ChildSpec::new(id, move |s: Start| async move {
            let pid = s.spawn_link(common::forever)?;
            register(&s, pid, id)
        })
    };
    let leaf = worker("observed_leaf");
    let sub = ChildSpec::new("observed_sub", move |s: Start| {
        let leaf = leaf.clone();
        async move {
            let pid = s.gen_server::<Supervisor>((Flags::new(Strategy::OneForOne), vec![leaf]), None).await?;
            register(&s, pid, "observed_sub")
        }
    })
    .child_type(ChildType::Supervisor);
    let fake = ChildSpec::new("observed_fake", |s: Start| async move {
        let pid = s.spawn_link(|mut p: erlnode::Process| async move {
            p.recv().await;
            ASKED.store(true, Ordering::SeqCst);
            std::future::pending().await
        })?;
        register(&s, pid, "observed_fake")
    })
    .child_type(ChildType::Supervisor);
    let children = vec![worker("observed_child"), sub, fake];
    let app = AppSpec::new("observed_app", move |node: Node| {
        let children = children.clone();
        async move {
            supervisor::start(&node, Flags::new(Strategy::OneForOne), children, None).await.map_err(|e| e.to_term())
        }
    });
    application::load(&node, app).expect("the application loads");
    application::start(&node, Atom::new("observed_app"), StartType::Temporary).await.expect("the application starts");

    let dir = TempDir::new("erlnode-observer");
    erlang.compile(Path::new(PROBE_SOURCE), &dir);
    let dir_arg = dir.path().to_string_lossy().to_string();
    let rust = node.name().as_str().to_owned();
    let peer = ErlNode::sname(&unique("erl_observer"))
        .cookie(COOKIE)
        .epmd_port(epmd)
        .env("DISPLAY", &display)
        .args(&["-pa", &dir_arg])
        .eval(&format!(
            "{ERL_HOST}, observer_probe:run('{rust}', observed_app, observed_worker), timer:sleep(infinity)."
        ))
        .start(&erlang);
    peer.wait_for(&format!("OBSERVER NODE {rust}"));
    // Each tab stays open 1.5 s or more; waiting tab by tab keeps each wait short.
    let tabs = ["System", "Load Charts", "Memory Allocators", "Applications", "Processes", "Ports", "Sockets"];
    for tab in tabs.into_iter().chain(["Table Viewer", "Trace Overview"]) {
        let output = peer.wait_for(&format!(" {tab}\n"));
        if tab == "Applications" {
            // The tree observer drew: the top supervisor (a pid) and every process under it.
            let tree = output.lines().find(|l| l.starts_with("OBSERVER APPTREE ")).unwrap_or_default();
            let names: Vec<&str> = tree.split_whitespace().skip(2).collect();
            for name in ["observed_child", "observed_sub", "observed_leaf", "observed_fake"] {
                assert!(names.contains(&name), "{name} is not in the tree: {tree}");
            }
            assert!(names[0].starts_with('<'), "the root is the top supervisor's pid: {tree}");
        }
    }
    // The worker's process window, with the one message it has not received.
    peer.wait_for("OBSERVER WINDOW {messages,[1]}\n");
    let output = peer.wait_for("OBSERVER DONE");
    let errors: Vec<&str> = output.lines().filter(|l| l.starts_with("OBSERVER ERROR")).collect();
    assert!(errors.is_empty(), "observer logged errors:\n{}", errors.join("\n"));
    assert!(!ASKED.load(Ordering::SeqCst), "a plain process marked as a supervisor was asked for its children");
}
