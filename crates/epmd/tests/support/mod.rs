//! What the tests of this crate share beyond `erlnode-erltest` (which finds and drives OTP's programs):
//! this crate's own `epmd` binary, `erl` nodes with this crate's test cookie, and EPMD request frames built
//! by hand.
#![allow(dead_code)]

use std::path::Path;

use erlnode_erltest::node::{ErlNode, wait_listening};
use erlnode_erltest::{Erlang, Proc};

/// This crate's `epmd` binary.
pub(crate) const OUR_EPMD: &str = env!("CARGO_BIN_EXE_epmd");

/// This crate's `epmd` on `port`, with `args`, listening when this returns.
pub(crate) fn our_epmd(port: u16, args: &[&str]) -> Proc {
    let mut all = vec!["-port".to_owned(), port.to_string(), "-d".to_owned()];
    all.extend(args.iter().map(|a| (*a).to_owned()));
    let proc = Proc::start("our epmd", Path::new(OUR_EPMD), &all, &[]);
    wait_listening(port, "our epmd");
    proc
}

/// An `erl` node named `sname`, using the EPMD on `epmd_port` (never starting one of its own), running
/// `eval` (which should end by waiting, e.g. `timer:sleep(infinity)`).
pub(crate) fn erl_node(otp: &Erlang, sname: &str, epmd_port: u16, eval: &str) -> Proc {
    ErlNode::sname(sname).cookie("erlnode_epmd_test").epmd_port(epmd_port).eval(eval).start(otp)
}

/// A request frame as a peer sends it: a 2-byte length, then the body (built by hand, independent of the
/// crate's own encoder).
pub(crate) fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = u16::try_from(body.len()).expect("short body").to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

/// An ALIVE2_REQ body for a normal node over TCP, as OTP sends it.
pub(crate) fn alive(name: &[u8], port: u16, high: u16, low: u16, extra: &[u8]) -> Vec<u8> {
    let mut body = vec![b'x'];
    body.extend_from_slice(&port.to_be_bytes());
    body.extend_from_slice(&[77, 0]);
    body.extend_from_slice(&high.to_be_bytes());
    body.extend_from_slice(&low.to_be_bytes());
    body.extend_from_slice(&u16::try_from(name.len()).expect("short name").to_be_bytes());
    body.extend_from_slice(name);
    body.extend_from_slice(&u16::try_from(extra.len()).expect("short extra").to_be_bytes());
    body.extend_from_slice(extra);
    body
}
