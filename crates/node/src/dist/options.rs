//! How a distributed node starts: its name, cookie, EPMD and listener.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

/// How long a reader polls after data, by default (see [`NodeOptions::busy_poll`]).
const BUSY_POLL: Duration = Duration::from_micros(50);

/// The options of [`Node::start`](crate::Node::start), as `erl`'s flags set them.
///
/// ```
/// use erlnode::NodeOptions;
/// let options = NodeOptions::new("worker").cookie("secret").hidden(true);
/// assert_eq!(options.short_name(), "worker");
/// ```
#[derive(Debug, Clone)]
pub struct NodeOptions {
    pub(crate) name: String,
    pub(crate) longnames: bool,
    pub(crate) cookie: Option<String>,
    pub(crate) node_cookies: HashMap<String, String>,
    pub(crate) hidden: bool,
    pub(crate) epmd_port: u16,
    pub(crate) embedded_epmd: bool,
    pub(crate) listen_addr: IpAddr,
    pub(crate) listen_port: u16,
    pub(crate) net_ticktime: Duration,
    pub(crate) busy_poll: Duration,
    pub(crate) tls: Option<super::tls::TlsOptions>,
    pub(crate) spawn: bool,
}

impl NodeOptions {
    /// A node named `name`: `name@host` as given, or `name` alone, completed with this host's short name
    /// (`-sname`) or full name (`-name`, see [`NodeOptions::longnames`]).
    pub fn new(name: impl Into<String>) -> NodeOptions {
        NodeOptions {
            name: name.into(),
            longnames: false,
            cookie: None,
            node_cookies: HashMap::new(),
            hidden: false,
            epmd_port: erlnode_epmd::default_port(),
            embedded_epmd: true,
            listen_addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            listen_port: 0,
            net_ticktime: Duration::from_secs(60),
            busy_poll: BUSY_POLL,
            tls: None,
            spawn: true,
        }
    }

    /// Completes a bare name with the host's fully qualified name (`erl -name`) instead of its short name
    /// (`erl -sname`).
    pub fn longnames(mut self, yes: bool) -> NodeOptions {
        self.longnames = yes;
        self
    }

    /// The cookie (`-setcookie`); without it, the content of `~/.erlang.cookie`, as in Erlang.
    pub fn cookie(mut self, cookie: impl Into<String>) -> NodeOptions {
        self.cookie = Some(cookie.into());
        self
    }

    /// The cookie for the connection with one node (`erlang:set_cookie(Node, Cookie)`).
    pub fn node_cookie(mut self, node: impl Into<String>, cookie: impl Into<String>) -> NodeOptions {
        self.node_cookies.insert(node.into(), cookie.into());
        self
    }

    /// A hidden node (`-hidden`): its connections are hidden, so it is not in the peers' `nodes()` and
    /// takes no part in `global`.
    pub fn hidden(mut self, yes: bool) -> NodeOptions {
        self.hidden = yes;
        self
    }

    /// The EPMD port (default: `ERL_EPMD_PORT`, or 4369).
    pub fn epmd_port(mut self, port: u16) -> NodeOptions {
        self.epmd_port = port;
        self
    }

    /// Whether to start an EPMD inside this process when none runs (default: yes).
    pub fn embedded_epmd(mut self, yes: bool) -> NodeOptions {
        self.embedded_epmd = yes;
        self
    }

    /// The address and port to accept connections on (default: every address, a port the system picks,
    /// as `inet_dist_listen_min`/`max` unset).
    pub fn listen(mut self, addr: IpAddr, port: u16) -> NodeOptions {
        self.listen_addr = addr;
        self.listen_port = port;
        self
    }

    /// `net_ticktime` (default 60 s): a peer silent for about this long is disconnected; a tick goes out
    /// every quarter of it when nothing else does.
    pub fn net_ticktime(mut self, ticktime: Duration) -> NodeOptions {
        self.net_ticktime = ticktime.max(Duration::from_millis(400));
        self
    }

    /// How long a connection's reader keeps polling its socket after data arrived (default 50 us), taking
    /// what arrives meanwhile without waiting to be woken. It uses a scheduler only when that has nothing
    /// else to run, as the BEAM's busy wait (`erl +sbwt`) does; zero turns it off.
    pub fn busy_poll(mut self, busy_poll: Duration) -> NodeOptions {
        self.busy_poll = busy_poll;
        self
    }

    /// Distribution over TLS (Erlang's `-proto_dist inet_tls`) with these certificates: every connection,
    /// accepted or made, is TLS with verified certificates on both sides.
    pub fn tls(mut self, tls: super::tls::TlsOptions) -> NodeOptions {
        self.tls = Some(tls);
        self
    }

    /// Whether remote spawn is used at all (default: yes). Without it the node does not offer `SPAWN` in
    /// the handshake, as Erlang nodes before OTP 23 did not, so neither side of any connection may spawn on
    /// the other: `erpc`, `spawn/4`, and `rpc:call` from OTP 25 and later (which always goes through
    /// `erpc`) fail with `notsup`, and this node's registered functions are reached only through `rex`
    /// (`rpc:block_call`, a cast to `rex`, [`Process::rpc_call`](crate::Process::rpc_call) from another
    /// erlnode node). This node's own [`Process::rpc_call`](crate::Process::rpc_call) goes through `rex`
    /// too, where a thrown value comes back as the result, as with `rpc:call`.
    pub fn remote_spawn(mut self, yes: bool) -> NodeOptions {
        self.spawn = yes;
        self
    }

    /// The name without `@host`.
    pub fn short_name(&self) -> &str {
        self.name.split_once('@').map_or(self.name.as_str(), |(name, _)| name)
    }

    /// The full node name: as given when it has a host, else completed with this host's name.
    pub(crate) fn full_name(&self) -> String {
        if self.name.contains('@') {
            return self.name.clone();
        }
        format!("{}@{}", self.name, host_name(self.longnames))
    }

    /// The cookie for connections to `node`.
    pub(crate) fn cookie_for(&self, node: &str, default: &str) -> String {
        self.node_cookies.get(node).cloned().unwrap_or_else(|| default.to_string())
    }
}

/// This host's name as Erlang completes node names: the part before the first dot for short names, the
/// whole name for long names.
pub(crate) fn host_name(long: bool) -> String {
    let full = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string());
    if long { full } else { full.split('.').next().unwrap_or("localhost").to_string() }
}

/// The cookie in `~/.erlang.cookie`, as Erlang reads it (the first line, trimmed).
pub(crate) fn home_cookie() -> Option<String> {
    let home = std::env::var_os("HOME").map(PathBuf::from)?;
    let text = std::fs::read_to_string(home.join(".erlang.cookie")).ok()?;
    let cookie = text.lines().next()?.trim().to_string();
    (!cookie.is_empty()).then_some(cookie)
}
