//! Credentials (explicit, Docker `config.json`, credential helpers) and the
//! `WWW-Authenticate` challenges registries answer with.
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

use crate::error::RegistryError;

/// A user name and a password (or identity token).
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credential({}, <redacted>)", self.username)
    }
}

impl Credential {
    pub(crate) fn basic_header(&self) -> String {
        let raw = format!("{}:{}", self.username, self.password);
        format!("Basic {}", STANDARD.encode(raw.as_bytes()))
    }
}

/// Where credentials come from, tried in order.
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    /// Given on the command line, for any registry.
    pub explicit: Option<Credential>,
    /// Docker's `config.json` (`auths`, `credHelpers`, `credsStore`).
    pub docker_config: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DockerConfig {
    #[serde(default)]
    auths: BTreeMap<String, DockerAuth>,
    #[serde(default)]
    cred_helpers: BTreeMap<String, String>,
    #[serde(default)]
    creds_store: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DockerAuth {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct HelperAnswer {
    username: String,
    secret: String,
}

/// The keys `config.json` may use for `registry`.
fn config_keys(registry: &str) -> Vec<String> {
    let mut keys = vec![
        registry.to_owned(),
        format!("https://{registry}"),
        format!("http://{registry}"),
    ];
    if registry == "docker.io" {
        keys.push("https://index.docker.io/v1/".to_owned());
        keys.push("index.docker.io".to_owned());
    }
    keys
}

impl Credentials {
    /// The credential for `registry`, if any source has one.
    pub fn lookup(&self, registry: &str) -> Result<Option<Credential>, RegistryError> {
        if let Some(explicit) = &self.explicit {
            return Ok(Some(explicit.clone()));
        }
        let Some(path) = &self.docker_config else {
            return Ok(None);
        };
        let bytes = match fs_err::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(RegistryError::io(path)(e)),
        };
        match config_answer(&bytes, path, registry)? {
            ConfigAnswer::Credential(found) => Ok(Some(found)),
            ConfigAnswer::Helper(helper) => run_helper(&helper, registry),
            ConfigAnswer::Nothing => Ok(None),
        }
    }
}

/// What Docker's `config.json` says for a registry, without running anything.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ConfigAnswer {
    Credential(Credential),
    /// The credential helper to ask (`credHelpers` for the registry, else
    /// `credsStore` when `auths` has nothing).
    Helper(String),
    Nothing,
}

/// Reads `config.json` (`bytes`, read from `path`) for `registry`:
/// `credHelpers` first, then `auths`, then `credsStore`.
pub(crate) fn config_answer(
    bytes: &[u8],
    path: &Path,
    registry: &str,
) -> Result<ConfigAnswer, RegistryError> {
    let config: DockerConfig =
        serde_json::from_slice(bytes).map_err(|source| RegistryError::Json {
            what: path.display().to_string(),
            source,
        })?;
    let keys = config_keys(registry);
    if let Some(helper) = keys.iter().find_map(|k| config.cred_helpers.get(k)) {
        return Ok(ConfigAnswer::Helper(helper.clone()));
    }
    for key in &keys {
        if let Some(auth) = config.auths.get(key)
            && let Some(found) = decode_auth(auth, path)?
        {
            return Ok(ConfigAnswer::Credential(found));
        }
    }
    if let Some(store) = config.creds_store {
        return Ok(ConfigAnswer::Helper(store));
    }
    Ok(ConfigAnswer::Nothing)
}

fn decode_auth(auth: &DockerAuth, path: &Path) -> Result<Option<Credential>, RegistryError> {
    if let Some(token) = &auth.identitytoken {
        return Ok(Some(Credential {
            username: "<token>".into(),
            password: token.clone(),
        }));
    }
    if let (Some(username), Some(password)) = (&auth.username, &auth.password) {
        return Ok(Some(Credential {
            username: username.clone(),
            password: password.clone(),
        }));
    }
    let Some(encoded) = &auth.auth else {
        return Ok(None);
    };
    let bad = || RegistryError::Layout {
        path: path.to_path_buf(),
        reason: "an `auth` entry is not base64 of `user:password`".into(),
    };
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(decoded).map_err(|_| bad())?;
    let (username, password) = text.split_once(':').ok_or_else(bad)?;
    Ok(Some(Credential {
        username: username.to_owned(),
        password: password.to_owned(),
    }))
}

/// `docker-credential-<helper> get`, the server on stdin, JSON on stdout.
fn run_helper(helper: &str, registry: &str) -> Result<Option<Credential>, RegistryError> {
    let program = format!("docker-credential-{helper}");
    let fail = |reason: String| RegistryError::CredentialHelper {
        helper: program.clone(),
        reason,
    };
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("cannot run it ({e})")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(registry.as_bytes())
            .map_err(|e| fail(e.to_string()))?;
    }
    let out = child.wait_with_output().map_err(|e| fail(e.to_string()))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        if stdout.contains("credentials not found") || stderr.contains("credentials not found") {
            return Ok(None);
        }
        return Err(fail(format!("{} ({})", out.status, stderr.trim())));
    }
    let answer: HelperAnswer = serde_json::from_slice(&out.stdout)
        .map_err(|e| fail(format!("unreadable answer ({e})")))?;
    Ok(Some(Credential {
        username: answer.username,
        password: answer.secret,
    }))
}

/// One `WWW-Authenticate` challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

/// Parse `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`.
pub(crate) fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Some(Challenge::Basic);
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut params = BTreeMap::new();
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=')?;
        let key = key
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let after = after.trim_start();
        let (value, remaining) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"')?;
            (quoted.get(..end)?, quoted.get(end + 1..)?)
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after.get(..end)?, after.get(end..)?)
        };
        params.insert(key, value.to_owned());
        rest = remaining.trim_start().trim_start_matches(',').trim_start();
    }
    Some(Challenge::Bearer {
        realm: params.remove("realm")?,
        service: params.remove("service"),
        scope: params.remove("scope"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges() {
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.example/token".into(),
                service: Some("registry.example".into()),
                scope: Some("repository:a/b:pull,push".into()),
            })
        );
        assert_eq!(
            parse_challenge(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(parse_challenge("Negotiate"), None);
    }

    #[test]
    fn docker_config_auths() {
        let dir = std::env::temp_dir().join(format!("drydock-auth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.json");
        // "alice:s3cret" in base64, as `docker login` writes it.
        std::fs::write(
            &path,
            r#"{"auths":{"https://r.example:5000":{"auth":"YWxpY2U6czNjcmV0"}}}"#,
        )
        .unwrap();
        let credentials = Credentials {
            explicit: None,
            docker_config: Some(path),
        };
        let found = credentials.lookup("r.example:5000").unwrap().unwrap();
        assert_eq!(
            (found.username.as_str(), found.password.as_str()),
            ("alice", "s3cret")
        );
        assert!(credentials.lookup("other.example").unwrap().is_none());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
