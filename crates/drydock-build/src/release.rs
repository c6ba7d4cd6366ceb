//! Debian `InRelease`: an OpenPGP cleartext-signed `Release` file (RFC 4880
//! §7), verified against a keyring, and its `SHA256` index list.
use pgp::composed::{CleartextSignedMessage, Deserializable, SignedPublicKey};

use crate::control::parse_paragraphs;

#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error("the keyring holds no usable OpenPGP public key")]
    EmptyKeyring,
    #[error("not an OpenPGP cleartext-signed message")]
    NotSigned(#[source] pgp::errors::Error),
    #[error("no signature verifies against the keyring ({signatures} signature(s) checked)")]
    BadSignature { signatures: usize },
    #[error("bad Release fields")]
    Fields(#[source] crate::control::ControlError),
    #[error("no Release paragraph")]
    Empty,
    #[error("bad `SHA256` line `{0}`")]
    HashLine(String),
}

/// Public keys from an OpenPGP keyring (binary or armored).
pub struct Keyring {
    keys: Vec<SignedPublicKey>,
}

impl Keyring {
    pub fn parse(bytes: &[u8]) -> Result<Self, ReleaseError> {
        let keys: Vec<SignedPublicKey> = if bytes.starts_with(b"-----BEGIN") {
            SignedPublicKey::from_armor_many(bytes)
                .map(|(keys, _)| keys.filter_map(Result::ok).collect())
                .unwrap_or_default()
        } else {
            SignedPublicKey::from_bytes_many(bytes)
                .map(|keys| keys.filter_map(Result::ok).collect())
                .unwrap_or_default()
        };
        if keys.is_empty() {
            return Err(ReleaseError::EmptyKeyring);
        }
        Ok(Self { keys })
    }

    /// Verify a cleartext-signed message; returns the signed text (dash
    /// escapes removed) when at least one signature was made by a key, or
    /// a subkey, of the keyring.
    pub fn verify_cleartext(&self, text: &str) -> Result<String, ReleaseError> {
        let (message, _) =
            CleartextSignedMessage::from_string(text).map_err(ReleaseError::NotSigned)?;
        for key in &self.keys {
            if message.verify(key).is_ok()
                || key
                    .public_subkeys
                    .iter()
                    .any(|subkey| message.verify(subkey).is_ok())
            {
                return Ok(unescape(message.text()));
            }
        }
        Err(ReleaseError::BadSignature {
            signatures: message.signatures().len(),
        })
    }
}

/// RFC 4880 §7.1: lines starting with `- ` carry a dash escape.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        out.push_str(line.strip_prefix("- ").unwrap_or(line));
    }
    out
}

/// The fields of a Release file drydock uses.
#[derive(Clone, Debug, Default)]
pub struct Release {
    pub suite: Option<String>,
    pub codename: Option<String>,
    pub date: Option<String>,
    /// `path → (sha256, size)`.
    pub sha256: std::collections::BTreeMap<String, (String, u64)>,
}

impl Release {
    pub fn parse(text: &str) -> Result<Self, ReleaseError> {
        let paragraphs = parse_paragraphs(text).map_err(ReleaseError::Fields)?;
        let paragraph = paragraphs.first().ok_or(ReleaseError::Empty)?;
        let mut release = Release {
            suite: paragraph.get("Suite").map(str::to_owned),
            codename: paragraph.get("Codename").map(str::to_owned),
            date: paragraph.get("Date").map(str::to_owned),
            ..Release::default()
        };
        for line in paragraph.get("SHA256").unwrap_or_default().lines() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let mut parts = line.split_whitespace();
            let (Some(hash), Some(size), Some(path), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(ReleaseError::HashLine(line.to_owned()));
            };
            let size = size
                .parse()
                .map_err(|_| ReleaseError::HashLine(line.to_owned()))?;
            if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(ReleaseError::HashLine(line.to_owned()));
            }
            release
                .sha256
                .insert(path.to_owned(), (hash.to_ascii_lowercase(), size));
        }
        Ok(release)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_hash_list() {
        let release = Release::parse(
            "Suite: stable\nCodename: bookworm\nSHA256:\n 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef 12 main/binary-amd64/Packages.xz\n",
        )
        .unwrap();
        assert_eq!(release.codename.as_deref(), Some("bookworm"));
        assert_eq!(release.sha256["main/binary-amd64/Packages.xz"].1, 12);
        assert!(Release::parse("SHA256:\n nothex 1 x\n").is_err());
    }

    #[test]
    fn dash_unescape() {
        assert_eq!(unescape("- -x\nA\n"), "-x\nA\n");
    }
}
