//! API tokens: a file of `NAME SCOPE sha256:HEX` lines (the SHA-256 of each
//! token, never the token), scopes `read` and `admin`.
//!
//! Tokens are 256 random bits, so one SHA-256 is as strong a hash as a slow
//! password hash would be; comparison is in constant time.
use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use sha2::{Digest as _, Sha256};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// Every `GET` of the API and the dashboard.
    Read,
    /// Also the admin routes (inventory sources and their settings).
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Admin => "admin",
        }
    }
}

impl std::str::FromStr for Scope {
    type Err = String;
    fn from_str(text: &str) -> Result<Scope, String> {
        match text {
            "read" => Ok(Scope::Read),
            "admin" => Ok(Scope::Admin),
            other => Err(format!("`{other}`: expected `read` or `admin`")),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot read the token file `{path}`")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the token file `{path}`")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "token file `{path}` line {line}: expected `NAME SCOPE sha256:HEX` (SCOPE `read` or `admin`; see `drydock serve token --help`)"
    )]
    Line { path: PathBuf, line: usize },
    #[error("token file `{path}` holds no token")]
    Empty { path: PathBuf },
    #[error("token file `{path}` has a token named `{name}` already")]
    Duplicate { path: PathBuf, name: String },
    #[error("`{0}` is not a token name (letters, digits, `-`, `_`, `.`)")]
    Name(String),
    #[error("cannot draw random bytes for a token")]
    Random(#[source] rand_core::Error),
}

#[derive(Debug, Clone)]
struct Entry {
    name: String,
    scope: Scope,
    hash: [u8; 32],
}

/// The tokens a server accepts.
#[derive(Debug, Clone)]
pub struct TokenFile {
    entries: Vec<Entry>,
}

impl TokenFile {
    pub fn load(path: &Path) -> Result<TokenFile, TokenError> {
        let text = fs_err::read_to_string(path).map_err(|source| TokenError::Read {
            path: path.to_owned(),
            source,
        })?;
        let entries = parse(&text, path)?;
        if entries.is_empty() {
            return Err(TokenError::Empty {
                path: path.to_owned(),
            });
        }
        Ok(TokenFile { entries })
    }

    /// The scope of `token`, if it is one of ours. Every entry is compared
    /// (in constant time), whichever matches.
    pub fn check(&self, token: &str) -> Option<Scope> {
        let hash: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut found = None;
        for entry in &self.entries {
            let difference = entry
                .hash
                .iter()
                .zip(&hash)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b));
            if difference == 0 {
                found = Some(entry.scope);
            }
        }
        found
    }

    /// Names and scopes (for messages; never the hashes).
    pub fn names(&self) -> Vec<(String, Scope)> {
        self.entries
            .iter()
            .map(|e| (e.name.clone(), e.scope))
            .collect()
    }
}

fn parse(text: &str, path: &Path) -> Result<Vec<Entry>, TokenError> {
    let mut entries = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || TokenError::Line {
            path: path.to_owned(),
            line: index + 1,
        };
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [name, scope, hash] = fields.as_slice() else {
            return Err(bad());
        };
        let scope: Scope = scope.parse().map_err(|_| bad())?;
        let hex = hash.strip_prefix("sha256:").ok_or_else(bad)?;
        let hash = decode_hex(hex).ok_or_else(bad)?;
        entries.push(Entry {
            name: (*name).to_owned(),
            scope,
            hash,
        });
    }
    Ok(entries)
}

fn decode_hex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (slot, pair) in out.iter_mut().zip(text.as_bytes().chunks(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *slot = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(out)
}

/// `sha256:HEX` of a token, as the token file stores it.
pub fn hash_token(token: &str) -> String {
    let hash = Sha256::digest(token.as_bytes());
    let mut out = String::from("sha256:");
    for byte in hash {
        let _ = std::fmt::Write::write_fmt(&mut out, format_args!("{byte:02x}"));
    }
    out
}

/// Makes a new token (`ddk_` + 43 base64url characters), appends its hash
/// to `path` (created if missing, mode 0600) and returns the token: it is
/// shown once and stored nowhere.
pub fn add_token(path: &Path, name: &str, scope: Scope) -> Result<String, TokenError> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(TokenError::Name(name.to_owned()));
    }
    let existing = match fs_err::read_to_string(path) {
        Ok(text) => parse(&text, path)?,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(source) => {
            return Err(TokenError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    if existing.iter().any(|e| e.name == name) {
        return Err(TokenError::Duplicate {
            path: path.to_owned(),
            name: name.to_owned(),
        });
    }
    let mut bytes = [0u8; 32];
    rand_core::RngCore::try_fill_bytes(&mut rand_core::OsRng, &mut bytes)
        .map_err(TokenError::Random)?;
    let token = format!(
        "ddk_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let write = |source| TokenError::Write {
        path: path.to_owned(),
        source,
    };
    let mut options = fs_err::OpenOptions::new();
    options.create(true).append(true);
    fs_err::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(write)?;
    writeln!(file, "{name} {} {}", scope.as_str(), hash_token(&token)).map_err(write)?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_through_their_hashes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens");
        let reader = add_token(&path, "ci", Scope::Read).unwrap();
        let admin = add_token(&path, "ops", Scope::Admin).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains(&reader) && !text.contains(&admin), "{text}");
        let file = TokenFile::load(&path).unwrap();
        assert_eq!(file.check(&reader), Some(Scope::Read));
        assert_eq!(file.check(&admin), Some(Scope::Admin));
        assert_eq!(file.check("ddk_wrong"), None);
        assert_eq!(file.check(""), None);
        assert!(matches!(
            add_token(&path, "ci", Scope::Read),
            Err(TokenError::Duplicate { .. })
        ));
        std::fs::write(&path, "ci read md5:00\n").unwrap();
        let error = TokenFile::load(&path).unwrap_err().to_string();
        assert!(error.contains("line 1"), "{error}");
    }
}
