//! erlnode-dist: the Erlang distribution protocol, without processes.
//!
//! What two nodes say to each other over one connection, and nothing about what a node does with it:
//! - [`flags`]: the capability flags, the set erlnode offers, and the mandatory sets of OTP 25 and 26+.
//! - [`handshake`]: the handshake as initiator and as acceptor (protocol versions 5 and 6, cookies,
//!   `alive` and simultaneous connects), over any async byte stream.
//! - [`control`]: the control messages (`LINK`, `SEND`, `MONITOR_P`, `SPAWN_REQUEST`, ...) as a Rust enum.
//! - [`frame`]: packets after the handshake: ticks, pass-through frames, the distribution header with its
//!   atom cache, and fragments, both ways.
//!
//! The node crate (`erlnode`) builds connections, routing and remote semantics on top of these.

pub mod control;
pub mod digest;
pub mod flags;
pub mod frame;
pub mod handshake;

pub use flags::DistFlags;
