//! Kubeconfig files (`apiVersion: v1`, `kind: Config`): clusters, users,
//! contexts and `current-context`, resolved into what a [`crate::Client`]
//! needs to connect.
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::{Deserialize, Deserializer};
use ureq::tls::{Certificate, ClientCert, PemItem, PrivateKey};

use crate::error::KubeError;
use crate::exec::{self, ExecConfig};

/// A parsed kubeconfig file.
#[derive(Clone)]
pub struct KubeConfig {
    path: PathBuf,
    raw: RawConfig,
}

impl std::fmt::Debug for KubeConfig {
    /// Path and context names only: tokens and keys stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeConfig")
            .field("path", &self.path)
            .field("contexts", &self.contexts())
            .field("current_context", &self.current_context())
            .finish_non_exhaustive()
    }
}

/// `null` and absent both mean "empty" in kubeconfigs written by hand or by tools.
pub(crate) fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
struct RawConfig {
    #[serde(deserialize_with = "nullable")]
    clusters: Vec<NamedCluster>,
    #[serde(deserialize_with = "nullable")]
    users: Vec<NamedUser>,
    #[serde(deserialize_with = "nullable")]
    contexts: Vec<NamedContext>,
    #[serde(rename = "current-context", deserialize_with = "nullable")]
    current_context: String,
}

#[derive(Clone, Debug, Deserialize)]
struct NamedCluster {
    name: String,
    #[serde(default, deserialize_with = "nullable")]
    cluster: RawCluster,
}

#[derive(Clone, Debug, Deserialize)]
struct NamedUser {
    name: String,
    #[serde(default, deserialize_with = "nullable")]
    user: RawUser,
}

#[derive(Clone, Debug, Deserialize)]
struct NamedContext {
    name: String,
    #[serde(default, deserialize_with = "nullable")]
    context: RawContext,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
struct RawCluster {
    server: Option<String>,
    certificate_authority: Option<String>,
    certificate_authority_data: Option<String>,
    insecure_skip_tls_verify: Option<bool>,
    tls_server_name: Option<String>,
    proxy_url: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
struct RawUser {
    token: Option<String>,
    #[serde(rename = "tokenFile")]
    token_file: Option<String>,
    client_certificate: Option<String>,
    client_certificate_data: Option<String>,
    client_key: Option<String>,
    client_key_data: Option<String>,
    username: Option<String>,
    password: Option<String>,
    exec: Option<ExecConfig>,
    auth_provider: Option<serde::de::IgnoredAny>,
    #[serde(rename = "as")]
    impersonate: Option<String>,
    #[serde(rename = "as-uid")]
    impersonate_uid: Option<String>,
    #[serde(rename = "as-groups", deserialize_with = "nullable")]
    impersonate_groups: Vec<String>,
    #[serde(rename = "as-user-extra", deserialize_with = "nullable")]
    impersonate_extra: BTreeMap<String, Vec<String>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
struct RawContext {
    #[serde(deserialize_with = "nullable")]
    cluster: String,
    #[serde(deserialize_with = "nullable")]
    user: String,
}

/// Where a bearer token comes from: read once, or re-read from a file
/// before every inventory pass (service-account tokens are rotated).
#[derive(Clone, Debug)]
pub(crate) enum Auth {
    Anonymous,
    Token(String),
    TokenFile { origin: String, file: PathBuf },
    Basic { username: String, password: String },
}

/// Everything needed to talk to one cluster.
pub(crate) struct Connection {
    pub(crate) server: String,
    pub(crate) context: Option<String>,
    /// `None`: the system's roots.
    pub(crate) roots: Option<Vec<Certificate<'static>>>,
    pub(crate) insecure: bool,
    pub(crate) client_cert: Option<ClientCert>,
    pub(crate) auth: Auth,
    /// `Impersonate-*` headers (`as`, `as-uid`, `as-groups`, `as-user-extra`).
    pub(crate) headers: Vec<(String, String)>,
    /// The exec plugin the credential came from, to run again when the
    /// server rejects it.
    pub(crate) exec: Option<ExecSource>,
}

/// An exec credential plugin with everything needed to run it again.
#[derive(Clone, Debug)]
pub(crate) struct ExecSource {
    plugin: ExecConfig,
    kubeconfig: PathBuf,
    user: String,
    server: String,
    certificate_authority_data: Option<String>,
    insecure: bool,
    program: PathBuf,
}

impl ExecSource {
    /// Run the plugin: its token and/or client certificate.
    pub(crate) fn credential(&self) -> Result<(Option<String>, Option<ClientCert>), KubeError> {
        let cluster = exec::ClusterInfo {
            server: &self.server,
            certificate_authority_data: self.certificate_authority_data.clone(),
            insecure: self.insecure,
        };
        let credential = exec::run(&self.plugin, &self.kubeconfig, &self.user, &cluster, |_| {
            self.program.clone()
        })?;
        let cert = match credential.client_certificate {
            Some((cert, key)) => {
                let origin = format!(
                    "kubeconfig `{}`, user `{}`: exec plugin `{}`",
                    self.kubeconfig.display(),
                    self.user,
                    self.plugin.command
                );
                Some(client_certificate(
                    &origin,
                    cert.as_bytes(),
                    key.as_bytes(),
                )?)
            }
            None => None,
        };
        Ok((credential.token, cert))
    }
}

impl KubeConfig {
    /// Read and parse a kubeconfig file. Nothing it points at is read yet.
    pub fn load(path: &Path) -> Result<KubeConfig, KubeError> {
        let text = fs_err::read_to_string(path).map_err(|source| KubeError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        KubeConfig::parse(path, &text)
    }

    /// Parse kubeconfig text; `path` is where it came from (for relative
    /// paths and messages).
    pub fn parse(path: &Path, text: &str) -> Result<KubeConfig, KubeError> {
        let raw: RawConfig = if text.trim().is_empty() {
            RawConfig::default()
        } else {
            serde_saphyr::from_str(text).map_err(|error| KubeError::Parse {
                path: path.to_path_buf(),
                message: yaml_error_line(&error),
            })?
        };
        Ok(KubeConfig {
            path: path.to_path_buf(),
            raw,
        })
    }

    /// The path it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The names of its contexts, in file order.
    pub fn contexts(&self) -> Vec<String> {
        self.raw.contexts.iter().map(|c| c.name.clone()).collect()
    }

    /// `current-context`, when set.
    pub fn current_context(&self) -> Option<&str> {
        Some(self.raw.current_context.as_str()).filter(|c| !c.is_empty())
    }

    /// Paths in a kubeconfig are relative to the file's directory.
    fn resolve_path(&self, file: &str) -> PathBuf {
        let file = Path::new(file);
        if file.is_absolute() {
            return file.to_path_buf();
        }
        self.path
            .parent()
            .map_or_else(|| file.to_path_buf(), |dir| dir.join(file))
    }

    /// Resolve `context` (or `current-context`) into a connection: read
    /// certificate files, decode data fields and run the exec plugin.
    pub(crate) fn connection(&self, context: Option<&str>) -> Result<Connection, KubeError> {
        let name = match context {
            Some(name) => name,
            None => self.current_context().ok_or_else(|| KubeError::NoContext {
                path: self.path.clone(),
            })?,
        };
        let Some(found) = self.raw.contexts.iter().find(|c| c.name == name) else {
            return Err(KubeError::ContextNotFound {
                path: self.path.clone(),
                context: name.to_owned(),
            });
        };
        let invalid = |reason: String| KubeError::Invalid {
            path: self.path.clone(),
            context: name.to_owned(),
            reason,
        };
        let Some(cluster) = self
            .raw
            .clusters
            .iter()
            .find(|c| c.name == found.context.cluster)
        else {
            return Err(KubeError::ClusterNotFound {
                path: self.path.clone(),
                context: name.to_owned(),
                cluster: found.context.cluster.clone(),
            });
        };
        let user = if found.context.user.is_empty() {
            None
        } else {
            let Some(user) = self.raw.users.iter().find(|u| u.name == found.context.user) else {
                return Err(KubeError::UserNotFound {
                    path: self.path.clone(),
                    context: name.to_owned(),
                    user: found.context.user.clone(),
                });
            };
            Some(user)
        };
        let origin = format!("kubeconfig `{}`, context `{name}`", self.path.display());

        let raw = &cluster.cluster;
        let server = raw
            .server
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| invalid(format!("cluster `{}` has no `server`", cluster.name)))?
            .trim_end_matches('/')
            .to_owned();
        if !server.starts_with("https://") && !server.starts_with("http://") {
            return Err(invalid(format!(
                "cluster `{}`: server `{server}` is not an http(s) URL",
                cluster.name
            )));
        }
        if raw
            .tls_server_name
            .as_deref()
            .is_some_and(|s| !s.is_empty())
        {
            return Err(invalid(format!(
                "cluster `{}`: `tls-server-name` is not supported",
                cluster.name
            )));
        }
        if raw.proxy_url.as_deref().is_some_and(|s| !s.is_empty()) {
            return Err(invalid(format!(
                "cluster `{}`: `proxy-url` is not supported",
                cluster.name
            )));
        }
        let insecure = raw.insecure_skip_tls_verify.unwrap_or(false);
        let ca_pem = if insecure {
            None
        } else if let Some(data) = &raw.certificate_authority_data {
            Some(decode_data(data).map_err(|reason| {
                invalid(format!(
                    "cluster `{}`: `certificate-authority-data` {reason}",
                    cluster.name
                ))
            })?)
        } else if let Some(file) = &raw.certificate_authority {
            let file = self.resolve_path(file);
            Some(read_file(&origin, "certificate-authority", &file)?)
        } else {
            None
        };
        let roots = match &ca_pem {
            Some(pem) => Some(certificates(&origin, "certificate-authority", pem)?),
            None => None,
        };

        let mut client_cert = None;
        let mut auth = Auth::Anonymous;
        let mut headers = Vec::new();
        let mut exec_source = None;
        if let Some(user) = user {
            headers = impersonation(&user.user)
                .map_err(|reason| invalid(format!("user `{}`: {reason}", user.name)))?;
            let raw = &user.user;
            if raw.auth_provider.is_some() {
                return Err(invalid(format!(
                    "user `{}`: `auth-provider` plugins are not supported (use an `exec` credential plugin)",
                    user.name
                )));
            }
            let cert_pem = match (&raw.client_certificate_data, &raw.client_certificate) {
                (Some(data), _) => Some(decode_data(data).map_err(|reason| {
                    invalid(format!(
                        "user `{}`: `client-certificate-data` {reason}",
                        user.name
                    ))
                })?),
                (None, Some(file)) => Some(read_file(
                    &origin,
                    "client-certificate",
                    &self.resolve_path(file),
                )?),
                (None, None) => None,
            };
            let key_pem = match (&raw.client_key_data, &raw.client_key) {
                (Some(data), _) => Some(decode_data(data).map_err(|reason| {
                    invalid(format!("user `{}`: `client-key-data` {reason}", user.name))
                })?),
                (None, Some(file)) => {
                    Some(read_file(&origin, "client-key", &self.resolve_path(file))?)
                }
                (None, None) => None,
            };
            match (cert_pem, key_pem) {
                (Some(cert), Some(key)) => {
                    client_cert = Some(client_certificate(&origin, &cert, &key)?);
                }
                (Some(_), None) => {
                    return Err(invalid(format!(
                        "user `{}` has a client certificate but no client key",
                        user.name
                    )));
                }
                (None, Some(_)) => {
                    return Err(invalid(format!(
                        "user `{}` has a client key but no client certificate",
                        user.name
                    )));
                }
                (None, None) => {}
            }
            if let Some(token) = raw.token.as_deref().filter(|t| !t.is_empty()) {
                auth = Auth::Token(token.trim().to_owned());
            } else if let Some(file) = raw.token_file.as_deref().filter(|t| !t.is_empty()) {
                let file = self.resolve_path(file);
                // Read now so a missing file fails early; re-read before each pass.
                read_token(&origin, &file)?;
                auth = Auth::TokenFile {
                    origin: origin.clone(),
                    file,
                };
            } else if let (Some(username), Some(password)) = (&raw.username, &raw.password) {
                auth = Auth::Basic {
                    username: username.clone(),
                    password: password.clone(),
                };
            }
            if let Some(plugin) = &raw.exec {
                let source = ExecSource {
                    plugin: plugin.clone(),
                    kubeconfig: self.path.clone(),
                    user: user.name.clone(),
                    server: server.clone(),
                    certificate_authority_data: ca_pem
                        .as_deref()
                        .map(|pem| base64::engine::general_purpose::STANDARD.encode(pem)),
                    insecure,
                    program: self.resolve_command(&plugin.command),
                };
                let (token, cert) = source.credential()?;
                if let Some(token) = token {
                    auth = Auth::Token(token);
                }
                if cert.is_some() {
                    client_cert = cert;
                }
                exec_source = Some(source);
            }
        }

        Ok(Connection {
            server,
            context: Some(name.to_owned()),
            roots,
            insecure,
            client_cert,
            auth,
            headers,
            exec: exec_source,
        })
    }

    /// An exec command with a path separator is relative to the kubeconfig's
    /// directory; a bare name is looked up on `PATH`.
    fn resolve_command(&self, command: &str) -> PathBuf {
        if command.contains('/') {
            self.resolve_path(command)
        } else {
            PathBuf::from(command)
        }
    }
}

/// The `Impersonate-*` headers of `as`, `as-uid`, `as-groups` and `as-user-extra`.
fn impersonation(user: &RawUser) -> Result<Vec<(String, String)>, String> {
    let mut headers = Vec::new();
    let Some(name) = user.impersonate.as_deref().filter(|n| !n.is_empty()) else {
        if !user.impersonate_groups.is_empty()
            || !user.impersonate_extra.is_empty()
            || user.impersonate_uid.is_some()
        {
            return Err("`as-groups`, `as-uid` or `as-user-extra` without `as`".into());
        }
        return Ok(headers);
    };
    headers.push(("Impersonate-User".to_owned(), name.to_owned()));
    if let Some(uid) = &user.impersonate_uid {
        headers.push(("Impersonate-Uid".to_owned(), uid.clone()));
    }
    for group in &user.impersonate_groups {
        headers.push(("Impersonate-Group".to_owned(), group.clone()));
    }
    for (key, values) in &user.impersonate_extra {
        // Header names are tokens: anything else in the key is percent-encoded.
        let mut encoded = String::new();
        for byte in key.bytes() {
            if byte.is_ascii_alphanumeric() || b"-!#$&'*+.^_`|~".contains(&byte) {
                encoded.push(char::from(byte));
            } else {
                let _ = write!(encoded, "%{byte:02X}");
            }
        }
        for value in values {
            headers.push((format!("Impersonate-Extra-{encoded}"), value.clone()));
        }
    }
    if let Some((_, bad)) = headers
        .iter()
        .find(|(_, value)| value.chars().any(char::is_control))
    {
        return Err(format!(
            "impersonation value `{}` holds control characters",
            bad.escape_debug()
        ));
    }
    Ok(headers)
}

/// `*-data` fields: base64 of the PEM text.
fn decode_data(data: &str) -> Result<Vec<u8>, String> {
    let compact: String = data.split_whitespace().collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|e| format!("is not valid base64: {e}"))
}

pub(crate) fn read_file(
    origin: &str,
    what: &'static str,
    file: &Path,
) -> Result<Vec<u8>, KubeError> {
    fs_err::read(file).map_err(|source| KubeError::File {
        origin: origin.to_owned(),
        what,
        file: file.to_path_buf(),
        source,
    })
}

pub(crate) fn read_token(origin: &str, file: &Path) -> Result<String, KubeError> {
    let bytes = read_file(origin, "token file", file)?;
    let token = String::from_utf8_lossy(&bytes).trim().to_owned();
    if token.is_empty() {
        return Err(KubeError::Pem {
            origin: origin.to_owned(),
            what: "token file",
            reason: format!("`{}` is empty", file.display()),
        });
    }
    Ok(token)
}

/// Every certificate in PEM text; at least one.
pub(crate) fn certificates(
    origin: &str,
    what: &'static str,
    pem: &[u8],
) -> Result<Vec<Certificate<'static>>, KubeError> {
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(pem) {
        match item {
            Ok(PemItem::Certificate(cert)) => certs.push(cert),
            Ok(_) => {}
            Err(e) => {
                return Err(KubeError::Pem {
                    origin: origin.to_owned(),
                    what,
                    reason: format!("is not valid PEM: {e}"),
                });
            }
        }
    }
    if certs.is_empty() {
        return Err(KubeError::Pem {
            origin: origin.to_owned(),
            what,
            reason: "holds no PEM certificate".into(),
        });
    }
    Ok(certs)
}

fn private_key(origin: &str, pem: &[u8]) -> Result<PrivateKey<'static>, KubeError> {
    for item in ureq::tls::parse_pem(pem) {
        match item {
            Ok(PemItem::PrivateKey(key)) => return Ok(key),
            Ok(_) => {}
            Err(e) => {
                return Err(KubeError::Pem {
                    origin: origin.to_owned(),
                    what: "client key",
                    reason: format!("is not valid PEM: {e}"),
                });
            }
        }
    }
    Err(KubeError::Pem {
        origin: origin.to_owned(),
        what: "client key",
        reason: "holds no PEM private key (PKCS#1, PKCS#8 or SEC1)".into(),
    })
}

pub(crate) fn client_certificate(
    origin: &str,
    cert_pem: &[u8],
    key_pem: &[u8],
) -> Result<ClientCert, KubeError> {
    let chain = certificates(origin, "client certificate", cert_pem)?;
    let key = private_key(origin, key_pem)?;
    Ok(ClientCert::new_with_certs(&chain, key))
}

/// The YAML error on one line: its message and location, no source snippet.
fn yaml_error_line(error: &serde_saphyr::Error) -> String {
    let text = error.without_snippet().to_string();
    let first = text.lines().next().unwrap_or_default();
    first.strip_prefix("error: ").unwrap_or(first).to_owned()
}
