//! EPMD, the Erlang Port Mapper Daemon: its wire protocol, an async client, an async server, and an
//! embedded mode that keeps a node registered when the daemon goes away.
//!
//! Every Erlang node registers its name and distribution port with the EPMD on its host (TCP port 4369,
//! or what `ERL_EPMD_PORT` says), and finds other nodes by asking their host's EPMD. This crate speaks that
//! protocol as OTP 25 does, byte for byte; the crate's tests check it against OTP's own `epmd` and real
//! `erl` nodes.
//!
//! - [`proto`]: requests and replies and their bytes, with no IO.
//! - [`Client`]: register (the [`Registration`] owns the connection; dropping it unregisters), look a
//!   node up ([`Client::port_please`]), list names, and the operator commands.
//! - [`Server`]: the EPMD server, with OTP's rules; the `epmd` binary of this crate is it, as a drop-in
//!   replacement for OTP's daemon (`cargo run -p erlnode-epmd --bin epmd -- -port 4369`).
//! - [`embedded`]: one EPMD server per process for when no daemon runs, and [`KeepRegistered`], which
//!   re-registers a node when its EPMD dies.
//!
//! # Client and server
//! ```
//! use std::net::SocketAddr;
//! use erlnode_epmd::{Client, NodeEntry, Server, ServerOptions};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A server on a free port of the loopback interface.
//! let server = Server::bind(&[SocketAddr::from(([127, 0, 0, 1], 0))], ServerOptions::default())?.spawn();
//! let client = Client::new(server.local_addr());
//!
//! // Register: the node stays registered as long as `registration` lives.
//! let registration = client.register(&NodeEntry::new("demo", 41000)).await?;
//! assert_ne!(registration.creation(), 0);
//!
//! // Look it up, as another node would.
//! let entry = client.port_please("demo").await?.expect("registered");
//! assert_eq!((entry.port, entry.high_version, entry.low_version), (41000, 6, 5));
//! assert_eq!(client.names().await?[0].to_string(), "name demo at port 41000");
//!
//! drop(registration); // unregisters
//! # while client.port_please("demo").await?.is_some() { tokio::task::yield_now().await; }
//! server.shutdown();
//! # Ok(())
//! # }
//! ```
//!
//! # The `epmd` binary
//! A drop-in replacement for OTP's daemon, with the options that are used in practice and the same output
//! (and exit codes) for the commands that scripts run:
//! ```text
//! epmd [-d|-debug]... [-port N] [-address LIST] [-relaxed_command_check] [-daemon] [-packet_timeout S]
//! epmd [-port N] -names | -kill | -stop NAME | -dump
//! ```
//! `ERL_EPMD_PORT`, `ERL_EPMD_ADDRESS` and `ERL_EPMD_RELAXED_COMMAND_CHECK` work as with OTP's. `-d` logs
//! to standard error through `tracing` (repeat it for more detail). Run it with
//! `cargo run -p erlnode-epmd --bin epmd -- -port 4369`, or install it with `cargo install` in place of
//! OTP's. Libraries that need only the client and server can leave out the binary and its logging
//! dependency with `default-features = false`.
//!
//! # A node that keeps its registration
//! ```no_run
//! use erlnode_epmd::{KeepRegistered, KeepRegisteredOptions, NodeEntry};
//!
//! # async fn node() -> Result<(), erlnode_epmd::EmbeddedError> {
//! // Registers with the EPMD on ERL_EPMD_PORT (or 4369); starts the embedded server if none runs.
//! let registration = KeepRegistered::start(NodeEntry::new("mynode", 41000), KeepRegisteredOptions::default()).await?;
//! let mut changes = registration.subscribe();
//! while changes.changed().await.is_ok() {
//!     // The EPMD died and the node registered again: the creation is new.
//!     if let Some(now) = *changes.borrow() {
//!         println!("creation is now {} (embedded EPMD: {})", now.creation, now.embedded);
//!     }
//! }
//! # Ok(())
//! # }
//! ```

pub mod client;
pub mod embedded;
pub mod proto;
pub mod server;

pub use client::{Client, ClientError, Registration};
pub use embedded::{EmbeddedError, KeepRegistered, KeepRegisteredOptions, Registered};
pub use proto::{NameLine, NodeEntry, NodeType, ProtoError};
pub use server::{Server, ServerError, ServerHandle, ServerOptions};

/// The EPMD port when `ERL_EPMD_PORT` does not say otherwise.
pub const DEFAULT_PORT: u16 = 4369;

/// The environment variable that names the EPMD port, for OTP's tools and for this crate.
pub const PORT_ENV: &str = "ERL_EPMD_PORT";

/// The EPMD port: `ERL_EPMD_PORT` when it holds a port number, otherwise [`DEFAULT_PORT`].
pub fn default_port() -> u16 {
    port_from(std::env::var(PORT_ENV).ok().as_deref())
}

/// The port an `ERL_EPMD_PORT` value names, or [`DEFAULT_PORT`] when it is absent or not a port number.
fn port_from(value: Option<&str>) -> u16 {
    match value.map(|v| v.trim().parse::<u16>()) {
        Some(Ok(port)) => port,
        Some(Err(_)) => {
            tracing::warn!("{PORT_ENV} is not a port number; using {DEFAULT_PORT}");
            DEFAULT_PORT
        }
        None => DEFAULT_PORT,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn port_from_the_environment_value() {
        assert_eq!(super::port_from(None), 4369);
        assert_eq!(super::port_from(Some("14369")), 14369);
        assert_eq!(super::port_from(Some("junk")), 4369);
    }
}
