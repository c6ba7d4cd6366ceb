/// Errors of keys and signature formats.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("key: {0}")]
    Key(String),
    #[error("wrong password for the private key (decryption failed)")]
    WrongPassword,
    #[error("{what} is not valid")]
    Json {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{0}")]
    Format(String),
}
