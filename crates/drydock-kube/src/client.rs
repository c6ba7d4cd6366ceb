//! The HTTP side: one ureq agent per cluster (its CA, or the system roots,
//! and its client certificate), bearer or basic auth, JSON GETs whose
//! failures name the cluster and the path.
use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::sync::{Mutex, PoisonError};

use ureq::tls::{Certificate, ClientCert, RootCerts, TlsConfig};

use crate::config::{
    Auth, Connection, ExecSource, KubeConfig, certificates, read_file, read_token,
};
use crate::error::KubeError;

/// A response body larger than this is refused (a page of 500 pods with
/// their `managedFields` is a few MiB).
const BODY_LIMIT: u64 = 256 << 20;

/// Attempts per GET: throttling (429), server errors (5xx) and failed
/// connections are retried with backoff; other answers are final.
const ATTEMPTS: u32 = 4;

/// A server's `Retry-After` is honoured up to this many seconds.
const MAX_RETRY_AFTER_SECONDS: u64 = 10;

fn retryable(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}

/// 250 ms, 500 ms, 1 s, …
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(250u64 << attempt.saturating_sub(1).min(6))
}

/// Pods asked for per page.
pub(crate) const DEFAULT_PAGE_SIZE: u32 = 500;

/// A client for one cluster. Synchronous; cheap to share by reference.
pub struct Client {
    server: String,
    context: Option<String>,
    /// Trust and the static client certificate, to rebuild the agent when
    /// an exec plugin hands out a new certificate.
    roots: Option<Vec<Certificate<'static>>>,
    insecure: bool,
    session: Mutex<Session>,
    exec: Option<ExecSource>,
    headers: Vec<(String, String)>,
    pub(crate) page_size: u32,
}

/// What an exec plugin may replace.
struct Session {
    agent: ureq::Agent,
    auth: Auth,
}

impl std::fmt::Debug for Client {
    /// Server and context only: credentials stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("server", &self.server)
            .field("context", &self.context)
            .finish_non_exhaustive()
    }
}

/// The body of a Kubernetes error response (`kind: Status`).
#[derive(Default, Deserialize)]
#[serde(default)]
struct Status {
    message: String,
    reason: String,
}

impl Client {
    /// A client for `context` (default: `current-context`) of `config`.
    /// Certificate files are read and exec plugins run here.
    pub fn from_kubeconfig(
        config: &KubeConfig,
        context: Option<&str>,
    ) -> Result<Client, KubeError> {
        Ok(Client::new(config.connection(context)?))
    }

    /// In-cluster configuration: the caller passes the values of
    /// `KUBERNETES_SERVICE_HOST` and `KUBERNETES_SERVICE_PORT` and the
    /// service-account directory (normally
    /// `/var/run/secrets/kubernetes.io/serviceaccount`, holding `token` and
    /// `ca.crt`). The token is re-read before every inventory pass, since
    /// the kubelet rotates it.
    pub fn in_cluster(
        host: &str,
        port: &str,
        service_account_dir: &Path,
    ) -> Result<Client, KubeError> {
        let host = host.trim();
        let port = port.trim();
        if host.is_empty() || port.is_empty() {
            return Err(KubeError::InCluster {
                reason: "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set (not running in a pod?)".into(),
            });
        }
        if port.parse::<u16>().is_err() {
            return Err(KubeError::InCluster {
                reason: format!("KUBERNETES_SERVICE_PORT `{port}` is not a port number"),
            });
        }
        let host = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]")
        } else {
            host.to_owned()
        };
        let origin = format!(
            "in-cluster service account `{}`",
            service_account_dir.display()
        );
        let token_file = service_account_dir.join("token");
        read_token(&origin, &token_file)?;
        let ca = read_file(
            &origin,
            "CA certificate",
            &service_account_dir.join("ca.crt"),
        )?;
        let roots = certificates(&origin, "CA certificate `ca.crt`", &ca)?;
        Ok(Client::new(Connection {
            server: format!("https://{host}:{port}"),
            context: None,
            roots: Some(roots),
            insecure: false,
            client_cert: None,
            auth: Auth::TokenFile {
                origin,
                file: token_file,
            },
            headers: Vec::new(),
            exec: None,
        }))
    }

    fn new(connection: Connection) -> Client {
        let agent = build_agent(
            connection.roots.as_deref(),
            connection.insecure,
            connection.client_cert,
        );
        Client {
            server: connection.server,
            context: connection.context,
            roots: connection.roots,
            insecure: connection.insecure,
            session: Mutex::new(Session {
                agent,
                auth: connection.auth,
            }),
            exec: connection.exec,
            headers: connection.headers,
            page_size: DEFAULT_PAGE_SIZE,
        }
    }

    fn session(&self) -> std::sync::MutexGuard<'_, Session> {
        self.session.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Run the exec plugin again (its credential was rejected). `false`
    /// when the credential does not come from a plugin.
    pub(crate) fn refresh_credential(&self) -> Result<bool, KubeError> {
        let Some(source) = &self.exec else {
            return Ok(false);
        };
        let (token, cert) = source.credential()?;
        let mut session = self.session();
        if let Some(token) = token {
            session.auth = Auth::Token(token);
        }
        if cert.is_some() {
            session.agent = build_agent(self.roots.as_deref(), self.insecure, cert);
        }
        Ok(true)
    }

    /// Ask for `limit` pods per page (default 500).
    #[must_use]
    pub fn with_page_size(mut self, limit: u32) -> Client {
        self.page_size = limit.max(1);
        self
    }

    /// The API server URL, e.g. `https://127.0.0.1:6443`.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The kubeconfig context in use (`None` in-cluster).
    pub fn context_name(&self) -> Option<&str> {
        self.context.as_deref()
    }

    /// The `Authorization` header for one pass (token files are re-read).
    pub(crate) fn authorization(&self) -> Result<Option<String>, KubeError> {
        Ok(match &self.session().auth {
            Auth::Anonymous => None,
            Auth::Token(token) => Some(format!("Bearer {token}")),
            Auth::TokenFile { origin, file } => {
                Some(format!("Bearer {}", read_token(origin, file)?))
            }
            Auth::Basic { username, password } => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
            )),
        })
    }

    /// GET `path` with `query` as JSON. `Ok(None)` on 404.
    pub(crate) fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
        authorization: Option<&str>,
    ) -> Result<Option<T>, KubeError> {
        let mut attempt = 0;
        let (code, body) = loop {
            attempt += 1;
            match self.get_once(path, query, authorization) {
                Ok((code, _, retry_after)) if retryable(code) && attempt < ATTEMPTS => {
                    std::thread::sleep(retry_after.unwrap_or_else(|| backoff(attempt)));
                }
                Ok((code, body, _)) => break (code, body),
                Err(KubeError::Unreachable { .. }) if attempt < ATTEMPTS => {
                    std::thread::sleep(backoff(attempt));
                }
                Err(e) => return Err(e),
            }
        };
        match code {
            200 => serde_json::from_slice(&body)
                .map(Some)
                .map_err(|source| KubeError::Json {
                    server: self.server.clone(),
                    path: path.to_owned(),
                    source,
                }),
            404 => Ok(None),
            401 => Err(KubeError::Unauthorized {
                server: self.server.clone(),
            }),
            403 => Err(KubeError::Forbidden {
                server: self.server.clone(),
                message: status_message(&body, code),
            }),
            _ => Err(KubeError::Status {
                server: self.server.clone(),
                path: path.to_owned(),
                code,
                message: status_message(&body, code),
            }),
        }
    }

    /// One GET: status, body and the `Retry-After` delay (capped).
    fn get_once(
        &self,
        path: &str,
        query: &[(&str, &str)],
        authorization: Option<&str>,
    ) -> Result<(u16, Vec<u8>, Option<Duration>), KubeError> {
        let agent = self.session().agent.clone();
        let mut request = agent
            .get(format!("{}{path}", self.server))
            .header("Accept", "application/json");
        for (key, value) in query {
            request = request.query(*key, *value);
        }
        if let Some(value) = authorization {
            request = request.header("Authorization", value);
        }
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        let mut response = request.call().map_err(|e| self.transport_error(e))?;
        let code = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|seconds| Duration::from_secs(seconds.min(MAX_RETRY_AFTER_SECONDS)));
        let body = response
            .body_mut()
            .with_config()
            .limit(BODY_LIMIT)
            .read_to_vec()
            .map_err(|e| self.transport_error(e))?;
        Ok((code, body, retry_after))
    }

    fn transport_error(&self, source: ureq::Error) -> KubeError {
        let tls = match &source {
            ureq::Error::Tls(_) => true,
            ureq::Error::Io(io) => io
                .get_ref()
                .is_some_and(<dyn std::error::Error + Send + Sync>::is::<rustls::Error>),
            _ => false,
        };
        if tls {
            KubeError::Tls {
                server: self.server.clone(),
                source,
            }
        } else {
            KubeError::Unreachable {
                server: self.server.clone(),
                source,
            }
        }
    }
}

/// The `message` of a `Status` body, else the start of the body, else the code.
fn status_message(body: &[u8], code: u16) -> String {
    if let Ok(status) = serde_json::from_slice::<Status>(body)
        && !status.message.is_empty()
    {
        return if status.reason.is_empty() {
            status.message
        } else {
            format!("{} ({})", status.message, status.reason)
        };
    }
    let text: String = String::from_utf8_lossy(body)
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    if text.trim().is_empty() {
        format!("HTTP {code}")
    } else {
        text.trim().to_owned()
    }
}

fn build_agent(
    roots: Option<&[Certificate<'static>]>,
    insecure: bool,
    client_cert: Option<ClientCert>,
) -> ureq::Agent {
    let mut tls = TlsConfig::builder();
    if insecure {
        tls = tls.disable_verification(true);
    } else {
        tls = tls.root_certs(match roots {
            Some(roots) => RootCerts::new_with_certs(roots),
            None => system_roots(),
        });
    }
    tls = tls.client_cert(client_cert);
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .tls_config(tls.build())
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_per_read(Some(Duration::from_mins(2)))
        .timeout_per_write(Some(Duration::from_mins(2)))
        .user_agent(concat!("drydock/", env!("CARGO_PKG_VERSION")))
        .accept_encoding("identity")
        .max_redirects(0)
        .build();
    ureq::Agent::new_with_config(config)
}

fn system_roots() -> RootCerts {
    let certs: Vec<Certificate<'static>> = rustls_native_certs::load_native_certs()
        .certs
        .iter()
        .map(|der| Certificate::from_der(der.as_ref()).to_owned())
        .collect();
    if certs.is_empty() {
        RootCerts::WebPki
    } else {
        RootCerts::new_with_certs(&certs)
    }
}
