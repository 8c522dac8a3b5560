//! `epmd`: a drop-in replacement for Erlang/OTP's EPMD daemon, built on `erlnode-epmd`.
//!
//! It takes the options of OTP's `epmd` that are used in practice, and prints what OTP's prints for the
//! interactive commands, with the same exit codes, so scripts keep working:
//!
//! ```text
//! epmd [-d|-debug]... [-port N] [-address LIST] [-relaxed_command_check] [-daemon] [-packet_timeout S]
//! epmd [-port N] -names | -kill | -stop NAME | -dump
//! ```
//!
//! `ERL_EPMD_PORT` gives the port when `-port` does not, `ERL_EPMD_ADDRESS` the addresses when `-address`
//! does not, and a set `ERL_EPMD_RELAXED_COMMAND_CHECK` turns on relaxed command checking. `-daemon` starts
//! the same program again in the background (its own process group, standard streams closed, working
//! directory `/`) and exits at once with status 0. When the port is taken, the server exits with status 0,
//! as OTP's does, since another EPMD is already serving. `-delay_accept` and `-delay_write` (OTP's options
//! for simulating a slow server) are accepted and ignored; `-systemd` is not supported.

use std::io::{IsTerminal, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use erlnode_epmd::proto::Request;
use erlnode_epmd::{Client, ClientError, DEFAULT_PORT, PORT_ENV, Server, ServerOptions};
use tracing::{Level, warn};

/// How long an interactive command waits for the EPMD.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

const USAGE: &str = "\
usage: epmd [-d|-debug]... [-port N] [-address LIST] [-relaxed_command_check] [-daemon]
            [-packet_timeout SECONDS]
       epmd [-port N] -names | -kill | -stop NAME | -dump

Runs the Erlang port mapper daemon, or asks the running one on this host.

Server options
  -port N                   listen on port N (default: $ERL_EPMD_PORT, else 4369)
  -address LIST             listen only on these comma-separated IP addresses, plus loopback
                            (default: $ERL_EPMD_ADDRESS, else every interface)
  -d, -debug                log to standard error; repeat for more detail
  -relaxed_command_check    allow -kill while nodes are registered, and -stop
                            (also: set $ERL_EPMD_RELAXED_COMMAND_CHECK)
  -daemon                   run detached in the background
  -packet_timeout SECONDS   close connections that do not send a whole request in time (default 60)

Commands to the running epmd
  -names                    list the registered names
  -kill                     stop it (refused while nodes are registered, unless relaxed)
  -stop NAME                unregister NAME (only when it runs with -relaxed_command_check)
  -dump                     list the registered names with connection detail
";

/// What the command line asks for.
#[derive(Debug, Default)]
struct Args {
    port: Option<u16>,
    addresses: Option<Vec<IpAddr>>,
    debug: u8,
    relaxed: bool,
    daemon: bool,
    packet_timeout: Option<Duration>,
    command: Option<Command>,
    help: bool,
}

/// An interactive command.
#[derive(Debug)]
enum Command {
    Names,
    Dump,
    Kill,
    Stop(String),
}

/// Why the command line was not accepted: usage (print the usage text) or a message of its own.
enum ArgError {
    Usage,
    Message(String),
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, ArgError> {
    let mut parsed = Args::default();
    let seconds = |value: Option<String>| -> Result<Duration, ArgError> {
        value.and_then(|v| v.parse::<u64>().ok()).map(Duration::from_secs).ok_or(ArgError::Usage)
    };
    while let Some(arg) = args.next() {
        let command = match arg.as_str() {
            "-d" | "-debug" => {
                parsed.debug = parsed.debug.saturating_add(1);
                None
            }
            "-port" => {
                parsed.port = Some(args.next().and_then(|v| v.parse().ok()).ok_or(ArgError::Usage)?);
                None
            }
            "-address" => {
                parsed.addresses = Some(parse_addresses(&args.next().ok_or(ArgError::Usage)?)?);
                None
            }
            "-relaxed_command_check" => {
                parsed.relaxed = true;
                None
            }
            "-daemon" => {
                parsed.daemon = true;
                None
            }
            "-packet_timeout" => {
                parsed.packet_timeout = Some(seconds(args.next())?);
                None
            }
            "-delay_accept" | "-delay_write" => {
                seconds(args.next())?;
                None
            }
            "-systemd" => return Err(ArgError::Message("epmd: -systemd is not supported".into())),
            "-h" | "-help" | "--help" => {
                parsed.help = true;
                None
            }
            "-names" => Some(Command::Names),
            "-dump" => Some(Command::Dump),
            "-kill" => Some(Command::Kill),
            "-stop" => Some(Command::Stop(args.next().ok_or(ArgError::Usage)?)),
            _ => return Err(ArgError::Usage),
        };
        if let Some(command) = command {
            if parsed.command.is_some() {
                return Err(ArgError::Usage);
            }
            parsed.command = Some(command);
        }
    }
    Ok(parsed)
}

/// A comma-separated list of IP addresses.
fn parse_addresses(list: &str) -> Result<Vec<IpAddr>, ArgError> {
    list.split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|a| a.parse().map_err(|_| ArgError::Message(format!("epmd: cannot parse IP address \"{a}\""))))
        .collect()
}

fn main() -> ExitCode {
    let mut args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(ArgError::Usage) => {
            eprint!("{USAGE}");
            return ExitCode::FAILURE;
        }
        Err(ArgError::Message(message)) => {
            eprintln!("{message}");
            return ExitCode::FAILURE;
        }
    };
    if args.help {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let port = match args.port {
        Some(port) => port,
        None => match std::env::var(PORT_ENV) {
            Ok(value) => match value.trim().parse() {
                Ok(port) => port,
                Err(_) => {
                    eprintln!("epmd: {PORT_ENV}={value:?} is not a port number");
                    return ExitCode::FAILURE;
                }
            },
            Err(_) => DEFAULT_PORT,
        },
    };
    if args.addresses.is_none() {
        if let Ok(list) = std::env::var("ERL_EPMD_ADDRESS") {
            match parse_addresses(&list) {
                Ok(addresses) if !addresses.is_empty() => args.addresses = Some(addresses),
                Ok(_) => {}
                Err(ArgError::Message(message)) => {
                    eprintln!("{message}");
                    return ExitCode::FAILURE;
                }
                Err(ArgError::Usage) => return ExitCode::FAILURE,
            }
        }
    }
    args.relaxed |= std::env::var_os("ERL_EPMD_RELAXED_COMMAND_CHECK").is_some();

    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("epmd: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match args.command.take() {
        Some(command) => runtime.block_on(run_command(command, port)),
        None if args.daemon => daemonize(),
        None => {
            init_logging(args.debug);
            runtime.block_on(serve(&args, port))
        }
    }
}

/// Logs to standard error: warnings by default, more with each `-d`.
fn init_logging(debug: u8) {
    let level = match debug {
        0 => Level::WARN,
        1 => Level::INFO,
        2 => Level::DEBUG,
        _ => Level::TRACE,
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_max_level(level)
        .with_target(false)
        .init();
}

/// The addresses to listen on for `-address`: the list, plus loopback unless it is covered already.
fn listen_addrs(addresses: &[IpAddr], port: u16) -> Vec<SocketAddr> {
    let mut ips = addresses.to_vec();
    let covers = |ips: &[IpAddr], loopback: IpAddr| {
        ips.iter().any(|ip| *ip == loopback || (ip.is_unspecified() && ip.is_ipv4() == loopback.is_ipv4()))
    };
    if !covers(&ips, Ipv4Addr::LOCALHOST.into()) {
        ips.push(Ipv4Addr::LOCALHOST.into());
    }
    if ips.iter().any(IpAddr::is_ipv6) && !covers(&ips, Ipv6Addr::LOCALHOST.into()) {
        ips.push(Ipv6Addr::LOCALHOST.into());
    }
    ips.into_iter().map(|ip| SocketAddr::new(ip, port)).collect()
}

async fn serve(args: &Args, port: u16) -> ExitCode {
    let options = ServerOptions {
        relaxed_command_check: args.relaxed,
        read_timeout: args.packet_timeout.unwrap_or(ServerOptions::default().read_timeout),
        ..ServerOptions::default()
    };
    let bound = match &args.addresses {
        Some(addresses) => Server::bind(&listen_addrs(addresses, port), options),
        None => Server::bind_port(port, options),
    };
    let server = match bound {
        Ok(server) => server,
        Err(e) if e.is_addr_in_use() => {
            // Another EPMD serves this port already; OTP's epmd leaves quietly too.
            warn!("{e}: an EPMD is running already");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("epmd: {e}");
            return ExitCode::FAILURE;
        }
    };
    match server.run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("epmd: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Starts this program again without `-daemon`, detached, and exits.
fn daemonize() -> ExitCode {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            eprintln!("epmd: cannot find my own executable: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut child = std::process::Command::new(exe);
    child
        .args(std::env::args().skip(1).filter(|a| a != "-daemon"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .current_dir("/");
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        child.process_group(0);
    }
    match child.spawn() {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("epmd: cannot start the daemon: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `-names`, `-dump`, `-kill` or `-stop`, printing what OTP's epmd prints.
async fn run_command(command: Command, port: u16) -> ExitCode {
    let request = match &command {
        Command::Names => Request::Names,
        Command::Dump => Request::Dump,
        Command::Kill => Request::Kill,
        Command::Stop(name) => Request::Stop { name: name.clone() },
    };
    let reply = match Client::local(port).with_timeout(COMMAND_TIMEOUT).raw_request(&request).await {
        Ok(reply) => reply,
        Err(ClientError::Connect { .. }) => {
            eprintln!("epmd: Cannot connect to local epmd");
            return ExitCode::FAILURE;
        }
        Err(ClientError::Request(e)) => {
            eprintln!("epmd: {e}");
            return ExitCode::FAILURE;
        }
        Err(_) => {
            let what = match command {
                Command::Names | Command::Dump => "no response from",
                Command::Kill | Command::Stop(_) => "failed to read answer from",
            };
            println!("epmd: {what} local epmd");
            return ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout().lock();
    let (text, code) = match command {
        Command::Names | Command::Dump => match reply.split_first_chunk::<4>() {
            Some((port, rest)) => {
                let header = format!("epmd: up and running on port {} with data:\n", u32::from_be_bytes(*port));
                ([header.as_bytes(), rest].concat(), ExitCode::SUCCESS)
            }
            None => (b"epmd: no response from local epmd\n".to_vec(), ExitCode::FAILURE),
        },
        Command::Kill => match reply.get(..2) {
            Some(b"OK") => (b"Killed\n".to_vec(), ExitCode::SUCCESS),
            Some(_) => (b"Killing not allowed - living nodes in database.\n".to_vec(), ExitCode::FAILURE),
            None => (responded_with(&reply), ExitCode::FAILURE),
        },
        Command::Stop(_) => match reply.get(..7) {
            Some(answer) => ([answer, b"\n"].concat(), ExitCode::SUCCESS),
            None => (responded_with(&reply), ExitCode::FAILURE),
        },
    };
    if out.write_all(&text).and_then(|()| out.flush()).is_err() {
        return ExitCode::FAILURE;
    }
    code
}

/// OTP's message for a reply too short to be one.
fn responded_with(reply: &[u8]) -> Vec<u8> {
    [b"epmd: local epmd responded with <", reply, b">\n"].concat()
}
