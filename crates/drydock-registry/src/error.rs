use std::path::PathBuf;

use drydock_core::Digest;

/// Errors talking to a registry or an OCI layout. Variants name the input;
/// causes are kept as `source`.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("`{reference}` is not an image reference: {reason}")]
    Reference { reference: String, reason: String },
    #[error("{method} {url}")]
    Transport {
        method: &'static str,
        url: String,
        #[source]
        source: Box<ureq::Error>,
    },
    #[error("{method} {url}: HTTP {status}{detail}")]
    Status {
        method: &'static str,
        url: String,
        status: u16,
        /// The registry's own error text, when it sent one (`: MANIFEST_UNKNOWN …`).
        detail: String,
    },
    #[error("{method} {url}: gave up after {attempts} attempts (last: {last})")]
    GaveUp {
        method: &'static str,
        url: String,
        attempts: u32,
        last: String,
    },
    #[error("{url}: authentication failed (HTTP 401); check the credentials for `{registry}`")]
    Unauthorized { url: String, registry: String },
    #[error(
        "{url}: the registry asks for authentication this client does not speak: `{challenge}`"
    )]
    UnsupportedChallenge { url: String, challenge: String },
    #[error("token from `{realm}`")]
    Token {
        realm: String,
        #[source]
        source: Box<RegistryError>,
    },
    #[error("`{what}` is not a valid document")]
    Json {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{what} {digest}: the content hashes to {actual}")]
    DigestMismatch {
        what: &'static str,
        digest: Digest,
        actual: Digest,
    },
    #[error("{what} {digest}: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        what: &'static str,
        digest: Digest,
        expected: u64,
        actual: u64,
    },
    #[error("{what} is larger than {limit} bytes")]
    TooLarge { what: String, limit: u64 },
    #[error("`{reference}` not found")]
    NotFound { reference: String },
    #[error("unsupported media type `{media_type}` for {what}")]
    MediaType { what: String, media_type: String },
    #[error("cannot read `{}`", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("TLS setup")]
    Tls(#[source] Box<ureq::Error>),
    #[error("credential helper `{helper}`: {reason}")]
    CredentialHelper { helper: String, reason: String },
    #[error("blob {digest}: connection lost at byte {offset} after {attempts} attempts")]
    Resume {
        digest: Digest,
        offset: u64,
        attempts: u32,
        #[source]
        source: std::io::Error,
    },
    #[error("`{}`: {reason}", path.display())]
    Layout { path: PathBuf, reason: String },
}

impl RegistryError {
    /// `Io` with its path.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> RegistryError {
        let path = path.into();
        move |source| RegistryError::Io { path, source }
    }

    /// Is this "the object does not exist"?
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            RegistryError::NotFound { .. } | RegistryError::Status { status: 404, .. }
        )
    }
}
