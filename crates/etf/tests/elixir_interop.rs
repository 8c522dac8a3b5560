//! An Elixir struct through serde, against a real Elixir: Rust encodes a `%User{}` that Elixir matches as
//! its own struct, and decodes the one Elixir encodes (whose `nil` becomes `None`).

use std::path::Path;
use std::time::Duration;

use erlnode_erltest::{TempDir, find, run};
use erlnode_etf::{Atom, from_bytes, to_bytes};
use serde::{Deserialize, Serialize};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/elixir/user_struct.exs");

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Role {
    Admin,
    Member(u32),
}

/// `%User{}`: a map whose `__struct__` key names the module.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct User {
    #[serde(rename = "__struct__")]
    module: Atom,
    name: String,
    age: u32,
    roles: Vec<Role>,
    email: Option<String>,
}

#[test]
fn elixir_structs_cross_both_ways() {
    let Some(elixir) = find::elixir("elixir_structs_cross_both_ways") else { return };
    let dir = TempDir::new("erlnode-etf-elixir");
    let user = User {
        module: Atom::new("Elixir.User"),
        name: "jo".into(),
        age: 3,
        roles: vec![Role::Admin, Role::Member(2019)],
        email: Some("jo@example.com".into()),
    };
    std::fs::write(dir.join("from_rust.etf"), to_bytes(&user).expect("encode")).expect("write from_rust.etf");

    let args = [Path::new(SCRIPT).as_os_str(), dir.path().as_os_str()];
    let out = run::bounded(&elixir, &args, &dir, "elixir", Duration::from_secs(120));
    out.assert_success("elixir user_struct.exs");
    assert!(out.stdout.contains("rust_to_elixir: ok %User{"), "Elixir did not see its struct:\n{}", out.stdout);

    let bytes = std::fs::read(dir.join("from_elixir.etf")).expect("read from_elixir.etf");
    let from_elixir: User = from_bytes(&bytes).expect("decode Elixir's struct");
    let want =
        User { module: Atom::new("Elixir.User"), name: "ann".into(), age: 41, roles: vec![Role::Admin], email: None };
    assert_eq!(from_elixir, want);
}
