//! `drydock serve`: the REST API (`/api/v1/…`, OpenAPI 3.1) and the web
//! dashboard over the fleet store, in one process.
//!
//! - HTTP/1.1 on tokio (axum), optionally TLS (rustls, ring);
//! - store calls run on the blocking pool over a small pool of store
//!   connections ([`pool`]): SQLite connections are not `Sync`, and the
//!   store's client is synchronous;
//! - stateless: several replicas may serve one PostgreSQL store;
//! - auth ([`auth`]): bearer tokens (or a login cookie holding one) checked
//!   against SHA-256 hashes in a token file, scoped `read` or `admin`.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use drydock_store::{Deadlines, StoreUrl};

mod api;
pub mod auth;
mod dashboard;
mod http;
pub mod openapi;
mod pages;
mod pool;
mod tls;

pub use auth::{Scope, TokenFile};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "refusing to listen on `{0}` without authentication\n\nhint: pass `--token-file FILE` (see `drydock serve token --help`), or `--no-auth` to serve everyone who can reach it"
    )]
    NoAuth(SocketAddr),
    #[error("cannot listen on `{addr}`")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("fleet store `{url}`")]
    Store {
        url: String,
        #[source]
        source: Box<drydock_store::StoreError>,
    },
    #[error(transparent)]
    Fleet(#[from] drydock_ops::fleet::FleetError),
    #[error(transparent)]
    Token(#[from] auth::TokenError),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("cannot start the server runtime")]
    Runtime(#[source] std::io::Error),
}

/// What `drydock serve` needs.
#[derive(Debug, Clone)]
pub struct ServeSettings {
    /// `--store URL`; else `DRYDOCK_STORE`; else the default SQLite store.
    pub store: Option<String>,
    pub listen: SocketAddr,
    pub token_file: Option<PathBuf>,
    /// Serve without authentication on a non-loopback address.
    pub no_auth: bool,
    /// `--tls-cert`, `--tls-key` (PEM).
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Deadlines for overdue findings (as `drydock fleet metrics`).
    pub deadlines: Deadlines,
    /// Store connections at most.
    pub connections: usize,
    /// How long the overview's fleet-wide aggregates are reused (0: never).
    pub cache_seconds: u64,
}

/// Where the server listens, reported once it does.
#[derive(Debug, Clone, Copy)]
pub struct Listening {
    pub addr: SocketAddr,
    pub tls: bool,
    pub auth: bool,
}

/// Runs the server until SIGINT or SIGTERM. `ready` is called once the
/// socket is bound; `log` gets one line per server-side problem (never a
/// token, a store password or a request's headers).
pub fn serve(
    settings: &ServeSettings,
    ready: impl FnOnce(Listening),
    log: Arc<dyn Fn(&str) + Send + Sync>,
) -> Result<(), ServeError> {
    let tokens = match &settings.token_file {
        Some(path) => Some(TokenFile::load(path)?),
        None => None,
    };
    if tokens.is_none() && !settings.no_auth && !settings.listen.ip().is_loopback() {
        return Err(ServeError::NoAuth(settings.listen));
    }
    let url = drydock_ops::fleet::store_url(settings.store.as_deref())?;
    let tls = match &settings.tls {
        Some((cert, key)) => Some(tls::server_config(cert, key)?),
        None => None,
    };
    // Open once now: a bad URL or an unreachable store fails here, clearly.
    let store_error = |source| ServeError::Store {
        url: url.to_string(),
        source: Box::new(source),
    };
    let mut first = drydock_store::Store::open(&url).map_err(store_error)?;
    first.optimize().map_err(store_error)?;
    let pool = Arc::new(pool::Pool::new(
        url.clone(),
        settings.connections.max(1),
        first,
    ));
    let state = Arc::new(http::State {
        pool,
        tokens,
        deadlines: settings.deadlines.clone(),
        secure_cookie: tls.is_some(),
        log,
        requests: http::RequestCounters::default(),
        overview: tokio::sync::Mutex::new(None),
        cache_ttl: std::time::Duration::from_secs(settings.cache_seconds),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(settings.connections.max(1) + 4)
        .enable_io()
        .enable_time()
        .build()
        .map_err(ServeError::Runtime)?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(settings.listen)
            .await
            .map_err(|source| ServeError::Bind {
                addr: settings.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| ServeError::Bind {
            addr: settings.listen,
            source,
        })?;
        let auth = state.tokens.is_some();
        let router = http::router(Arc::clone(&state));
        let service = router.into_make_service();
        ready(Listening {
            addr,
            tls: tls.is_some(),
            auth,
        });
        let result = match tls {
            Some(config) => {
                let listener = tls::TlsListener::new(listener, config, Arc::clone(&state.log));
                axum::serve(listener, service)
                    .with_graceful_shutdown(shutdown())
                    .await
            }
            None => {
                axum::serve(listener, service)
                    .with_graceful_shutdown(shutdown())
                    .await
            }
        };
        result.map_err(|source| ServeError::Bind { addr, source })
    })
}

/// The store URL a server would use (for messages).
pub fn store_url(settings: &ServeSettings) -> Result<StoreUrl, ServeError> {
    Ok(drydock_ops::fleet::store_url(settings.store.as_deref())?)
}

async fn shutdown() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let terminate = async {
        match term.as_mut() {
            Some(signal) => {
                signal.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}
