//! TLS distribution, interoperable with Erlang's `-proto_dist inet_tls`.
//!
//! The same EPMD use, handshake and control messages as over TCP, inside TLS, with 4-byte message
//! lengths in the handshake too. Certificates are verified on both sides by default, as
//! `inet_tls` with `{verify, verify_peer}` and `{fail_if_no_peer_cert, true}` does: a node presents its
//! certificate chain and accepts only peers whose chain leads to one of its CA certificates. The client
//! names the server's host (SNI), and the server's certificate must be valid for it.

use std::path::Path;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::net::TcpStream;

/// Why TLS options could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file or text could not be read.
    #[error("cannot read {what}: {detail}")]
    Pem {
        /// What was being read.
        what: &'static str,
        /// Why it failed.
        detail: String,
    },
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
    /// The CA certificates could not be used to verify peers.
    #[error("CA certificates: {0}")]
    Verifier(String),
}

/// Certificates for TLS distribution: this node's chain and key, and the CA certificates peers must
/// chain to.
#[derive(Clone)]
pub struct TlsOptions {
    server: Arc<rustls::ServerConfig>,
    client: Arc<rustls::ClientConfig>,
}

impl std::fmt::Debug for TlsOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsOptions").finish_non_exhaustive()
    }
}

impl TlsOptions {
    /// Options from PEM text: this node's certificate chain (leaf first), its private key, and the CA
    /// certificates that peers' chains must lead to (`certfile`, `keyfile` and `cacertfile` in
    /// Erlang's `ssl_dist_optfile`).
    pub fn from_pem(chain: &[u8], key: &[u8], ca: &[u8]) -> Result<TlsOptions, TlsError> {
        let pem =
            |what: &'static str| move |e: rustls_pki_types::pem::Error| TlsError::Pem { what, detail: e.to_string() };
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(chain).collect::<Result<_, _>>().map_err(pem("the certificate chain"))?;
        let key = PrivateKeyDer::from_pem_slice(key).map_err(pem("the private key"))?;
        let mut roots = RootCertStore::empty();
        for ca in CertificateDer::pem_slice_iter(ca) {
            roots.add(ca.map_err(pem("the CA certificates"))?)?;
        }
        let roots = Arc::new(roots);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::clone(&roots), Arc::clone(&provider))
            .build()
            .map_err(|e| TlsError::Verifier(e.to_string()))?;
        let server = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain.clone(), key.clone_key())?;
        let client = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)?;
        Ok(TlsOptions { server: Arc::new(server), client: Arc::new(client) })
    }

    /// [`TlsOptions::from_pem`] from files.
    pub fn from_pem_files(chain: &Path, key: &Path, ca: &Path) -> Result<TlsOptions, TlsError> {
        let read = |path: &Path, what: &'static str| {
            std::fs::read(path).map_err(|e| TlsError::Pem { what, detail: format!("{}: {e}", path.display()) })
        };
        TlsOptions::from_pem(
            &read(chain, "the certificate chain")?,
            &read(key, "the private key")?,
            &read(ca, "the CA certificates")?,
        )
    }

    /// The server side of a connection a peer opened.
    pub(crate) async fn accept(
        &self,
        stream: TcpStream,
    ) -> std::io::Result<tokio_rustls::server::TlsStream<TcpStream>> {
        tokio_rustls::TlsAcceptor::from(Arc::clone(&self.server)).accept(stream).await
    }

    /// The client side of a connection to `host`.
    pub(crate) async fn connect(
        &self,
        host: &str,
        stream: TcpStream,
    ) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
        let name = ServerName::try_from(host.to_string())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("host {host}: {e}")))?;
        tokio_rustls::TlsConnector::from(Arc::clone(&self.client)).connect(name, stream).await
    }
}

/// What TLS streams are to the connection code: readable, writable, movable between threads.
pub(crate) trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin {}

impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin> Io for T {}

/// A connection's stream: plain TCP, or TLS over it.
pub(crate) enum Stream {
    /// TCP distribution.
    Tcp(TcpStream),
    /// TLS distribution.
    Tls(Box<dyn Io>),
}

impl Stream {
    /// How handshake messages are framed on this stream.
    pub(crate) fn framing(&self) -> erlnode_dist::handshake::Framing {
        match self {
            Stream::Tcp(_) => erlnode_dist::handshake::Framing::Tcp,
            Stream::Tls(_) => erlnode_dist::handshake::Framing::Tls,
        }
    }

    /// The reading half and the writing half; a TCP reader polls the socket for `busy_poll` after data.
    pub(crate) fn split(
        self,
        busy_poll: std::time::Duration,
    ) -> std::io::Result<(super::connection::Reader, super::writer::Transport)> {
        use super::connection::Reader;
        Ok(match self {
            Stream::Tcp(stream) => {
                // Out of tokio's reactor: reader and writer register only while they wait.
                let socket = stream.into_std()?;
                let read = super::tcp_read::TcpReader::new(socket.try_clone()?, busy_poll)?;
                let spare = std::sync::Mutex::new(Some(socket.try_clone()?));
                (Reader::Tcp(read), super::writer::Transport::Tcp(socket, spare))
            }
            Stream::Tls(stream) => {
                let (read, write) = tokio::io::split(stream);
                let write = super::writer::Transport::Stream(tokio::sync::Mutex::new(Box::new(write)));
                (Reader::Stream(Box::new(read)), write)
            }
        })
    }
}

impl tokio::io::AsyncRead for Stream {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => std::pin::Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => std::pin::Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl tokio::io::AsyncWrite for Stream {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Tcp(s) => std::pin::Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => std::pin::Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => std::pin::Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => std::pin::Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => std::pin::Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => std::pin::Pin::new(s).poll_shutdown(cx),
        }
    }
}
