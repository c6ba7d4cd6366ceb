//! Exec credential plugins (`users[].user.exec`): run the command with its
//! arguments and environment, hand it an `ExecCredential` request in
//! `KUBERNETES_EXEC_INFO`, read the `ExecCredential` it prints.
//! `client.authentication.k8s.io/v1` and `v1beta1` are supported.
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;
use serde_json::json;

use crate::error::KubeError;

const API_VERSIONS: [&str; 2] = [
    "client.authentication.k8s.io/v1",
    "client.authentication.k8s.io/v1beta1",
];

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct ExecConfig {
    pub(crate) api_version: String,
    pub(crate) command: String,
    #[serde(deserialize_with = "crate::config::nullable")]
    args: Vec<String>,
    #[serde(deserialize_with = "crate::config::nullable")]
    env: Vec<EnvEntry>,
    install_hint: Option<String>,
    provide_cluster_info: bool,
    interactive_mode: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
struct EnvEntry {
    name: String,
    value: String,
}

/// What `provideClusterInfo: true` passes to the plugin.
pub(crate) struct ClusterInfo<'a> {
    pub(crate) server: &'a str,
    /// Base64 of the CA's PEM, as in the kubeconfig.
    pub(crate) certificate_authority_data: Option<String>,
    pub(crate) insecure: bool,
}

/// The credential a plugin returned.
pub(crate) struct Credential {
    pub(crate) token: Option<String>,
    /// PEM certificate chain and PEM key.
    pub(crate) client_certificate: Option<(String, String)>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExecCredential {
    #[serde(default)]
    api_version: String,
    #[serde(default)]
    kind: String,
    status: Option<ExecStatus>,
}

#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct ExecStatus {
    token: Option<String>,
    client_certificate_data: Option<String>,
    client_key_data: Option<String>,
}

/// Run the plugin once. `resolve` turns the configured command into the
/// program to start (relative paths are relative to the kubeconfig).
pub(crate) fn run(
    plugin: &ExecConfig,
    kubeconfig: &Path,
    user: &str,
    cluster: &ClusterInfo<'_>,
    resolve: impl Fn(&str) -> PathBuf,
) -> Result<Credential, KubeError> {
    let fail = |reason: String| KubeError::Exec {
        path: kubeconfig.to_path_buf(),
        user: user.to_owned(),
        command: plugin.command.clone(),
        reason,
    };
    if plugin.command.is_empty() {
        return Err(fail("has no `command`".into()));
    }
    if !API_VERSIONS.contains(&plugin.api_version.as_str()) {
        return Err(fail(format!(
            "asks for apiVersion `{}`; supported: {}",
            plugin.api_version,
            API_VERSIONS.join(", ")
        )));
    }
    if plugin.interactive_mode.as_deref() == Some("Always") {
        return Err(fail(
            "needs an interactive terminal (`interactiveMode: Always`), which drydock does not provide"
                .into(),
        ));
    }
    let mut spec = serde_json::Map::new();
    spec.insert("interactive".into(), json!(false));
    if plugin.provide_cluster_info {
        let mut info = serde_json::Map::new();
        info.insert("server".into(), json!(cluster.server));
        if let Some(ca) = &cluster.certificate_authority_data {
            info.insert("certificate-authority-data".into(), json!(ca));
        }
        if cluster.insecure {
            info.insert("insecure-skip-tls-verify".into(), json!(true));
        }
        spec.insert("cluster".into(), serde_json::Value::Object(info));
    }
    let request = json!({
        "apiVersion": plugin.api_version,
        "kind": "ExecCredential",
        "spec": spec,
    });
    let program = resolve(&plugin.command);
    let output = Command::new(&program)
        .args(&plugin.args)
        .envs(plugin.env.iter().map(|e| (&e.name, &e.value)))
        .env("KUBERNETES_EXEC_INFO", request.to_string())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            let hint = plugin
                .install_hint
                .as_deref()
                .map(|h| format!(" ({})", h.trim()))
                .unwrap_or_default();
            fail(format!("cannot be started: {e}{hint}"))
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim();
        return Err(fail(format!("failed ({}): {last}", output.status)));
    }
    let credential: ExecCredential = serde_json::from_slice(&output.stdout)
        .map_err(|e| fail(format!("printed no ExecCredential JSON: {e}")))?;
    if credential.kind != "ExecCredential" {
        return Err(fail(format!(
            "printed kind `{}`, not `ExecCredential`",
            credential.kind
        )));
    }
    if credential.api_version != plugin.api_version {
        return Err(fail(format!(
            "answered with apiVersion `{}`, not the requested `{}`",
            credential.api_version, plugin.api_version
        )));
    }
    let status = credential
        .status
        .ok_or_else(|| fail("printed an ExecCredential without `status`".into()))?;
    let token = status.token.filter(|t| !t.is_empty());
    let client_certificate = match (status.client_certificate_data, status.client_key_data) {
        (Some(cert), Some(key)) if !cert.is_empty() && !key.is_empty() => Some((cert, key)),
        (None, None) => None,
        _ => {
            return Err(fail(
                "returned only one of `clientCertificateData` and `clientKeyData`".into(),
            ));
        }
    };
    if token.is_none() && client_certificate.is_none() {
        return Err(fail(
            "returned neither a `token` nor `clientCertificateData`/`clientKeyData`".into(),
        ));
    }
    Ok(Credential {
        token,
        client_certificate,
    })
}
