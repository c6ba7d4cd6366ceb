//! The HTTP side: one agent, per-host scheme and auth, bounded retries with
//! backoff, and the distribution API calls built on them.
use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use drydock_core::Digest;
use ureq::http;
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

use crate::auth::{Challenge, Credentials, parse_challenge};
use crate::error::RegistryError;
use crate::reference::is_loopback_host;

/// Manifests and indexes larger than this are refused.
pub const MANIFEST_LIMIT: u64 = 8 << 20;

/// The media types drydock asks for when fetching a manifest.
pub(crate) const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

/// How a [`Client`] behaves.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    pub credentials: Credentials,
    /// Extra CA certificates (PEM files) trusted beside the system roots.
    pub ca_certs: Vec<PathBuf>,
    /// Registries (`host[:port]`) where plain HTTP and unverified TLS are allowed.
    pub insecure: Vec<String>,
    /// Attempts per request (and per blob for resumed downloads).
    pub attempts: u32,
    /// First backoff delay; doubled per attempt, capped at 32×.
    pub backoff: Duration,
    /// A read that waits longer than this fails (and is retried).
    pub read_timeout: Duration,
    /// Blob transfers at once in copies and pushes.
    pub parallel: usize,
    /// Upload blobs in chunks of this size (PATCH) instead of one PUT.
    pub chunk_size: Option<u64>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            credentials: Credentials::default(),
            ca_certs: Vec::new(),
            insecure: Vec::new(),
            attempts: 5,
            backoff: Duration::from_millis(200),
            read_timeout: Duration::from_mins(1),
            parallel: 4,
            chunk_size: None,
        }
    }
}

#[derive(Clone, Debug)]
enum AuthMode {
    Anonymous,
    Basic(String),
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

#[derive(Clone, Debug)]
struct Host {
    /// `https://host:port` or `http://…`.
    base: String,
    auth: AuthMode,
}

/// What a request carries.
pub(crate) enum Body<'a> {
    Empty,
    Bytes(&'a [u8]),
    /// Re-opened for every attempt.
    Stream(&'a (dyn Fn() -> Result<Box<dyn Read + Send>, RegistryError> + Sync)),
}

pub(crate) struct Call<'a> {
    pub(crate) method: &'static str,
    /// A path (`/v2/…`) or an absolute URL (upload locations).
    pub(crate) target: String,
    pub(crate) repository: &'a str,
    pub(crate) push: bool,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Body<'a>,
}

impl<'a> Call<'a> {
    pub(crate) fn new(method: &'static str, target: String, repository: &'a str) -> Call<'a> {
        Call {
            method,
            target,
            repository,
            push: matches!(method, "PUT" | "POST" | "PATCH" | "DELETE"),
            headers: Vec::new(),
            body: Body::Empty,
        }
    }

    pub(crate) fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub(crate) fn body(mut self, body: Body<'a>) -> Self {
        self.body = body;
        self
    }
}

/// A registry client: shared by threads; hosts, schemes and tokens are cached.
pub struct Client {
    pub(crate) options: ClientOptions,
    verified: ureq::Agent,
    unverified: ureq::Agent,
    hosts: Mutex<HashMap<String, Host>>,
    /// (registry, scope) → `Bearer …`.
    tokens: Mutex<HashMap<(String, String), String>>,
}

/// The project's one HTTP client configuration, for every HTTP use outside
/// a registry session too (the database updater, the Debian archive
/// fetcher): system roots (web PKI when the system has none), drydock's user
/// agent, bounded timeouts and redirects, statuses returned, not raised.
pub fn default_http_agent(read_timeout: Duration) -> ureq::Agent {
    let roots = root_certs(&[]).unwrap_or(RootCerts::WebPki);
    agent(TlsConfig::builder().root_certs(roots).build(), read_timeout)
}

fn agent(tls: TlsConfig, read_timeout: Duration) -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .tls_config(tls)
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_per_read(Some(read_timeout))
        .timeout_per_write(Some(read_timeout))
        .user_agent(concat!("drydock/", env!("CARGO_PKG_VERSION")))
        .accept_encoding("identity")
        .max_redirects(5)
        .build();
    ureq::Agent::new_with_config(config)
}

fn root_certs(extra: &[PathBuf]) -> Result<RootCerts, RegistryError> {
    let mut certs: Vec<Certificate<'static>> = rustls_native_certs::load_native_certs()
        .certs
        .iter()
        .map(|der| Certificate::from_der(der.as_ref()).to_owned())
        .collect();
    if certs.is_empty() && extra.is_empty() {
        return Ok(RootCerts::WebPki);
    }
    for path in extra {
        let pem = fs_err::read(path).map_err(RegistryError::io(path))?;
        let before = certs.len();
        for item in ureq::tls::parse_pem(&pem) {
            if let PemItem::Certificate(cert) = item.map_err(|e| RegistryError::Tls(Box::new(e)))? {
                certs.push(cert);
            }
        }
        if certs.len() == before {
            return Err(RegistryError::Layout {
                path: path.clone(),
                reason: "holds no PEM certificate".into(),
            });
        }
    }
    Ok(RootCerts::new_with_certs(&certs))
}

fn retryable(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

impl Client {
    pub fn new(options: ClientOptions) -> Result<Client, RegistryError> {
        let roots = root_certs(&options.ca_certs)?;
        let verified = agent(
            TlsConfig::builder().root_certs(roots).build(),
            options.read_timeout,
        );
        let unverified = agent(
            TlsConfig::builder().disable_verification(true).build(),
            options.read_timeout,
        );
        Ok(Client {
            options,
            verified,
            unverified,
            hosts: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
        })
    }

    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    fn insecure(&self, registry: &str) -> bool {
        self.options.insecure.iter().any(|h| h == registry)
    }

    fn agent_for(&self, registry: &str) -> &ureq::Agent {
        if self.insecure(registry) {
            &self.unverified
        } else {
            &self.verified
        }
    }

    /// Sleep before attempt `attempt` (1-based), honouring `Retry-After` up to the cap.
    pub(crate) fn backoff(&self, attempt: u32, retry_after: Option<u64>) {
        let base = self.options.backoff;
        let cap = base.saturating_mul(32);
        let exponential = base.saturating_mul(1 << attempt.saturating_sub(1).min(5));
        let delay = retry_after
            .map_or(exponential, Duration::from_secs)
            .min(cap);
        std::thread::sleep(delay);
    }

    /// Find the scheme and auth of `registry` with `GET /v2/`.
    fn host(&self, registry: &str, api_host: &str) -> Result<Host, RegistryError> {
        if let Some(host) = self
            .hosts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(registry)
        {
            return Ok(host.clone());
        }
        let plain_allowed = is_loopback_host(registry) || self.insecure(registry);
        let https = format!("https://{api_host}");
        // Where plain HTTP is allowed, one HTTPS try decides; elsewhere retry.
        let https_attempts = if plain_allowed {
            1
        } else {
            self.options.attempts
        };
        let (base, response) = match self.ping(registry, &https, https_attempts) {
            Ok(response) => (https, response),
            // A server that speaks TLS with a certificate we do not trust
            // stays an error: falling back would hide it.
            Err(error) if plain_allowed && !is_certificate_error(&error) => {
                let http = format!("http://{api_host}");
                match self.ping(registry, &http, self.options.attempts) {
                    Ok(response) if matches!(response.status().as_u16(), 200 | 401) => {
                        (http, response)
                    }
                    _ => return Err(error),
                }
            }
            Err(error) => return Err(error),
        };
        let auth = match response.status().as_u16() {
            401 => {
                let challenge = response
                    .headers()
                    .get("www-authenticate")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                match parse_challenge(&challenge) {
                    Some(Challenge::Basic) => match self.options.credentials.lookup(registry)? {
                        Some(credential) => AuthMode::Basic(credential.basic_header()),
                        None => {
                            return Err(RegistryError::Unauthorized {
                                url: format!("{base}/v2/"),
                                registry: registry.to_owned(),
                            });
                        }
                    },
                    Some(Challenge::Bearer { realm, service, .. }) => {
                        AuthMode::Bearer { realm, service }
                    }
                    None => {
                        return Err(RegistryError::UnsupportedChallenge {
                            url: format!("{base}/v2/"),
                            challenge,
                        });
                    }
                }
            }
            _ => AuthMode::Anonymous,
        };
        let host = Host { base, auth };
        self.hosts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(registry.to_owned(), host.clone());
        Ok(host)
    }

    fn ping(
        &self,
        registry: &str,
        base: &str,
        attempts: u32,
    ) -> Result<http::Response<ureq::Body>, RegistryError> {
        let url = format!("{base}/v2/");
        let mut last = String::new();
        for attempt in 1..=attempts {
            // A probe that decides the scheme should not hang on a peer that
            // never answers a TLS handshake.
            let timeout = (attempts == 1).then_some(Duration::from_secs(5));
            let request = self
                .agent_for(registry)
                .get(&url)
                .config()
                .timeout_global(timeout)
                .build();
            match request.call() {
                Ok(response) if retryable(response.status().as_u16()) => {
                    last = format!("HTTP {}", response.status().as_u16());
                }
                Ok(response) => return Ok(response),
                Err(error) if is_tls_or_refused(&error) => {
                    return Err(RegistryError::Transport {
                        method: "GET",
                        url,
                        source: Box::new(error),
                    });
                }
                Err(error) => last = error.to_string(),
            }
            if attempt < attempts {
                self.backoff(attempt, None);
            }
        }
        Err(RegistryError::GaveUp {
            method: "GET",
            url,
            attempts,
            last,
        })
    }

    /// A bearer token for `scope` (one or more scopes, space-separated, each
    /// sent as a `scope` parameter), from the realm, with credentials if any.
    fn token(
        &self,
        registry: &str,
        realm: &str,
        service: Option<&str>,
        scope: &str,
    ) -> Result<String, RegistryError> {
        let key = (registry.to_owned(), scope.to_owned());
        if let Some(token) = self
            .tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return Ok(token.clone());
        }
        let wrap = |source: RegistryError| RegistryError::Token {
            realm: realm.to_owned(),
            source: Box::new(source),
        };
        let mut request = self.agent_for(registry).get(realm);
        for scope in scope.split_whitespace() {
            request = request.query("scope", scope);
        }
        if let Some(service) = service {
            request = request.query("service", service);
        }
        if let Some(credential) = self.options.credentials.lookup(registry)? {
            request = request.header("Authorization", credential.basic_header());
        }
        let mut response = request.call().map_err(|source| {
            wrap(RegistryError::Transport {
                method: "GET",
                url: realm.to_owned(),
                source: Box::new(source),
            })
        })?;
        let status = response.status().as_u16();
        if status == 401 || status == 403 {
            return Err(RegistryError::Unauthorized {
                url: realm.to_owned(),
                registry: registry.to_owned(),
            });
        }
        if status != 200 {
            return Err(wrap(RegistryError::Status {
                method: "GET",
                url: realm.to_owned(),
                status,
                detail: String::new(),
            }));
        }
        let bytes = response
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .read_to_vec()
            .map_err(|source| {
                wrap(RegistryError::Transport {
                    method: "GET",
                    url: realm.to_owned(),
                    source: Box::new(source),
                })
            })?;
        let answer: TokenAnswer = serde_json::from_slice(&bytes).map_err(|source| {
            wrap(RegistryError::Json {
                what: "token answer".into(),
                source,
            })
        })?;
        let Some(token) = answer.token.or(answer.access_token) else {
            return Err(wrap(RegistryError::Layout {
                path: PathBuf::from(realm),
                reason: "the token answer holds no token".into(),
            }));
        };
        let header = format!("Bearer {token}");
        self.tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, header.clone());
        Ok(header)
    }

    /// The `Authorization` header for a call on `repository`. `challenged`
    /// is the `scope` of a bearer challenge the registry answered this call
    /// with: the access it needs beyond the repository's own (the source
    /// repository of a cross-repository mount, the catalog).
    fn authorization(
        &self,
        registry: &str,
        host: &Host,
        repository: &str,
        push: bool,
        challenged: Option<&str>,
    ) -> Result<Option<String>, RegistryError> {
        match &host.auth {
            AuthMode::Anonymous => Ok(None),
            AuthMode::Basic(header) => Ok(Some(header.clone())),
            AuthMode::Bearer { realm, service } => {
                let mut scopes = Vec::new();
                if !repository.is_empty() {
                    scopes.push(if push {
                        format!("repository:{repository}:pull,push")
                    } else {
                        format!("repository:{repository}:pull")
                    });
                }
                for scope in challenged.unwrap_or_default().split_whitespace() {
                    if !scopes.iter().any(|s| s == scope) {
                        scopes.push(scope.to_owned());
                    }
                }
                self.token(registry, realm, service.as_deref(), &scopes.join(" "))
                    .map(Some)
            }
        }
    }

    /// The absolute URL of `target` on `registry`.
    pub(crate) fn url(
        &self,
        registry: &str,
        api_host: &str,
        target: &str,
    ) -> Result<String, RegistryError> {
        if target.starts_with("http://") || target.starts_with("https://") {
            return Ok(target.to_owned());
        }
        let host = self.host(registry, api_host)?;
        Ok(format!("{}{target}", host.base))
    }

    /// Send `call`, retrying transport failures, 429 and 5xx with backoff, and
    /// a 401 once after refreshing the token. Any final status is returned.
    pub(crate) fn send(
        &self,
        registry: &str,
        api_host: &str,
        call: &Call<'_>,
    ) -> Result<http::Response<ureq::Body>, RegistryError> {
        let host = self.host(registry, api_host)?;
        let url = if call.target.starts_with("http") {
            call.target.clone()
        } else {
            format!("{}{}", host.base, call.target)
        };
        let mut last = String::new();
        let mut refreshed = false;
        let mut challenged: Option<String> = None;
        let mut attempt = 0;
        while attempt < self.options.attempts {
            attempt += 1;
            let authorization = self.authorization(
                registry,
                &host,
                call.repository,
                call.push,
                challenged.as_deref(),
            )?;
            let mut builder = http::Request::builder().method(call.method).uri(&url);
            for (name, value) in &call.headers {
                builder = builder.header(*name, value.as_str());
            }
            if let Some(authorization) = &authorization {
                builder = builder.header("Authorization", authorization.as_str());
            }
            let result = match &call.body {
                Body::Empty => builder
                    .body(())
                    .map_err(ureq::Error::from)
                    .and_then(|request| self.agent_for(registry).run(request)),
                Body::Bytes(bytes) => builder
                    .header("Content-Length", bytes.len().to_string())
                    .body(*bytes)
                    .map_err(ureq::Error::from)
                    .and_then(|request| self.agent_for(registry).run(request)),
                Body::Stream(open) => {
                    let reader = open()?;
                    builder
                        .body(ureq::SendBody::from_owned_reader(reader))
                        .map_err(ureq::Error::from)
                        .and_then(|request| self.agent_for(registry).run(request))
                }
            };
            match result {
                Ok(response) => {
                    let status = response.status().as_u16();
                    if status == 401 && !refreshed && authorization.is_some() {
                        // The token may have expired, or lack a scope the
                        // challenge names: forget it and ask again.
                        refreshed = true;
                        attempt -= 1;
                        challenged = response
                            .headers()
                            .get("www-authenticate")
                            .and_then(|v| v.to_str().ok())
                            .and_then(parse_challenge)
                            .and_then(|challenge| match challenge {
                                Challenge::Bearer { scope, .. } => scope,
                                Challenge::Basic => None,
                            });
                        self.tokens
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .retain(|(r, _), _| r != registry);
                        continue;
                    }
                    if status == 401 {
                        return Err(RegistryError::Unauthorized {
                            url,
                            registry: registry.to_owned(),
                        });
                    }
                    if retryable(status) {
                        last = format!("HTTP {status}");
                        if attempt < self.options.attempts {
                            let retry_after = response
                                .headers()
                                .get("retry-after")
                                .and_then(|v| v.to_str().ok())
                                .and_then(|v| v.trim().parse::<u64>().ok());
                            self.backoff(attempt, retry_after);
                        }
                        continue;
                    }
                    return Ok(response);
                }
                Err(error) => {
                    last = error.to_string();
                    if is_tls_or_refused(&error) && attempt == 1 {
                        return Err(RegistryError::Transport {
                            method: call.method,
                            url,
                            source: Box::new(error),
                        });
                    }
                    if attempt < self.options.attempts {
                        self.backoff(attempt, None);
                    }
                }
            }
        }
        Err(RegistryError::GaveUp {
            method: call.method,
            url,
            attempts: self.options.attempts,
            last,
        })
    }

    /// Send and require one of `ok` statuses; the registry's error text otherwise.
    pub(crate) fn expect(
        &self,
        registry: &str,
        api_host: &str,
        call: &Call<'_>,
        ok: &[u16],
    ) -> Result<http::Response<ureq::Body>, RegistryError> {
        let mut response = self.send(registry, api_host, call)?;
        let status = response.status().as_u16();
        if ok.contains(&status) {
            return Ok(response);
        }
        let url = self.url(registry, api_host, &call.target)?;
        let text = response
            .body_mut()
            .with_config()
            .limit(64 << 10)
            .read_to_string()
            .unwrap_or_default();
        let detail = registry_error_text(&text);
        if status == 404 {
            return Err(RegistryError::Status {
                method: call.method,
                url,
                status,
                detail,
            });
        }
        Err(RegistryError::Status {
            method: call.method,
            url,
            status,
            detail,
        })
    }
}

#[derive(serde::Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
}

/// `: CODE message` from a distribution error body, or nothing.
fn registry_error_text(text: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Errors {
        #[serde(default)]
        errors: Vec<ErrorItem>,
    }
    #[derive(serde::Deserialize)]
    struct ErrorItem {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    serde_json::from_str::<Errors>(text)
        .ok()
        .and_then(|e| e.errors.into_iter().next())
        .map(|e| format!(": {} {}", e.code, e.message))
        .unwrap_or_default()
}

/// The server spoke TLS but its certificate is not trusted.
fn is_certificate_error(error: &RegistryError) -> bool {
    matches!(
        error,
        RegistryError::Transport { source, .. }
            if source.to_string().contains("certificate")
    )
}

/// Failures that retrying the same scheme cannot fix.
fn is_tls_or_refused(error: &ureq::Error) -> bool {
    match error {
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => true,
        ureq::Error::Io(io) => {
            io.kind() == std::io::ErrorKind::ConnectionRefused
                || io.to_string().contains("certificate")
        }
        _ => false,
    }
}

/// Read a whole (small) body with a limit.
pub(crate) fn read_small(
    response: &mut http::Response<ureq::Body>,
    limit: u64,
    what: &str,
) -> Result<Vec<u8>, RegistryError> {
    response
        .body_mut()
        .with_config()
        .limit(limit)
        .read_to_vec()
        .map_err(|source| match source {
            ureq::Error::BodyExceedsLimit(_) => RegistryError::TooLarge {
                what: what.to_owned(),
                limit,
            },
            other => RegistryError::Transport {
                method: "GET",
                url: what.to_owned(),
                source: Box::new(other),
            },
        })
}

/// Check `bytes` against `digest`.
pub(crate) fn verify(
    what: &'static str,
    digest: &Digest,
    bytes: &[u8],
) -> Result<(), RegistryError> {
    let mut hasher = drydock_core::Hasher::new(digest.algorithm());
    hasher.update(bytes);
    let actual = hasher.finish();
    if &actual == digest {
        Ok(())
    } else {
        Err(RegistryError::DigestMismatch {
            what,
            digest: digest.clone(),
            actual,
        })
    }
}
