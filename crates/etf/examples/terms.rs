//! A tour of erlnode's term layer: read a term in Erlang syntax, encode it as `term_to_binary/1` would,
//! decode it back, map a Rust struct through serde, and, when Erlang/OTP is installed, let a real `erl`
//! decode the bytes and print what it sees.
//!
//! ```sh
//! cargo run --example terms
//! cargo run --example terms -- '{hello, [1,2,3], #{from => rust}}'
//! ```

use erlnode_etf::{Term, from_term, to_term};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
enum Role {
    Admin,
    Member { since: u32 },
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct User {
    name: String,
    age: u8,
    roles: Vec<Role>,
    email: Option<String>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let text =
        std::env::args().nth(1).unwrap_or_else(|| "{ok, [1,2,3], <<\"hi\">>, #{a => 1}, 'hello world', 3.14}".into());
    let term: Term = text.parse()?;
    let bytes = term.encode()?;
    println!("term:    {term}");
    println!("encoded: {bytes:?}");
    println!("decoded: {}", Term::decode(&bytes)?);

    let user = User { name: "Jo".into(), age: 42, roles: vec![Role::Admin, Role::Member { since: 2019 }], email: None };
    let as_term = to_term(&user)?;
    println!("serde:   {as_term}");
    assert_eq!(from_term::<User>(&as_term)?, user);

    match erlang_decodes(&bytes) {
        Some(seen) => println!("erl sees: {seen}"),
        None => println!("erl sees: (Erlang/OTP not installed; skipped)"),
    }
    Ok(())
}

/// Asks a real Erlang node to `binary_to_term` the bytes and print the result with `~p`.
fn erlang_decodes(bytes: &[u8]) -> Option<String> {
    let list = bytes.iter().map(u8::to_string).collect::<Vec<_>>().join(",");
    let script = format!("io:format(\"~p~n\", [binary_to_term(<<{list}>>)]), halt().");
    let out = std::process::Command::new("erl").args(["-noshell", "-eval", &script]).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).split_whitespace().collect::<Vec<_>>().join(" "))
}
