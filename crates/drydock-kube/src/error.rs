use std::path::PathBuf;

/// What went wrong, naming the kubeconfig, context or cluster involved.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    #[error("kubeconfig `{path}`: cannot read it")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("kubeconfig `{path}`: not a valid kubeconfig: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("kubeconfig `{path}`: no context given and no `current-context` set")]
    NoContext { path: PathBuf },
    #[error("kubeconfig `{path}`: context `{context}` not found")]
    ContextNotFound { path: PathBuf, context: String },
    #[error(
        "kubeconfig `{path}`: context `{context}` names cluster `{cluster}`, which is not defined"
    )]
    ClusterNotFound {
        path: PathBuf,
        context: String,
        cluster: String,
    },
    #[error("kubeconfig `{path}`: context `{context}` names user `{user}`, which is not defined")]
    UserNotFound {
        path: PathBuf,
        context: String,
        user: String,
    },
    /// A setting that is missing, malformed or not supported.
    #[error("kubeconfig `{path}`, context `{context}`: {reason}")]
    Invalid {
        path: PathBuf,
        context: String,
        reason: String,
    },
    /// A file the kubeconfig (or the service-account directory) points at.
    #[error("{origin}: cannot read {what} `{file}`")]
    File {
        origin: String,
        what: &'static str,
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// PEM data (certificate authority, client certificate or key) that holds nothing usable.
    #[error("{origin}: {what} {reason}")]
    Pem {
        origin: String,
        what: &'static str,
        reason: String,
    },
    /// An exec credential plugin that could not run, failed or printed nonsense.
    #[error("kubeconfig `{path}`, user `{user}`: exec plugin `{command}` {reason}")]
    Exec {
        path: PathBuf,
        user: String,
        command: String,
        reason: String,
    },
    #[error("in-cluster configuration: {reason}")]
    InCluster { reason: String },
    #[error(
        "cluster `{server}`: TLS handshake failed (check `certificate-authority`, the client certificate, or the server address)"
    )]
    Tls {
        server: String,
        #[source]
        source: ureq::Error,
    },
    #[error("cannot reach cluster `{server}`")]
    Unreachable {
        server: String,
        #[source]
        source: ureq::Error,
    },
    #[error(
        "cluster `{server}`: 401 Unauthorized (token rejected or expired, or client certificate not accepted)"
    )]
    Unauthorized { server: String },
    #[error("cluster `{server}`: 403 Forbidden: {message}")]
    Forbidden { server: String, message: String },
    #[error("cluster `{server}`: GET `{path}`: {code} {message}")]
    Status {
        server: String,
        path: String,
        code: u16,
        message: String,
    },
    #[error("cluster `{server}`: GET `{path}` returned malformed JSON")]
    Json {
        server: String,
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("cluster `{server}`: GET `{path}`: {reason}")]
    Protocol {
        server: String,
        path: String,
        reason: String,
    },
}
