//! Downloads through the project's one HTTP client, and the cache: signed
//! InRelease files by archive and suite, indices and .debs by SHA-256.
//! Everything read from the cache is verified again, as if downloaded.
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest as _, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("`{url}`: cannot download")]
    Http {
        url: String,
        #[source]
        source: Box<ureq::Error>,
    },
    #[error("`{url}`: HTTP status {status}")]
    Status { url: String, status: u16 },
    #[error("`{url}`: more than {limit} bytes")]
    TooLarge { url: String, limit: u64 },
    #[error("`{url}`: read failed")]
    Read {
        url: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{what}` is not in the cache `{}` and --offline forbids downloading it\n\nhint: run `drydock mirror` first", cache.display())]
    Offline { what: String, cache: PathBuf },
    #[error("cache `{}`", path.display())]
    Cache {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Downloads with a cache directory.
pub struct Fetcher {
    agent: ureq::Agent,
    pub cache_dir: PathBuf,
    pub offline: bool,
    /// `(prefix, replacement)`: archive URLs rewritten before downloading.
    pub mirrors: Vec<(String, String)>,
}

impl Fetcher {
    pub fn new(cache_dir: PathBuf, offline: bool, mirrors: Vec<(String, String)>) -> Self {
        Self {
            agent: agent(),
            cache_dir,
            offline,
            mirrors,
        }
    }

    fn rewrite(&self, url: &str) -> String {
        for (prefix, replacement) in &self.mirrors {
            if let Some(rest) = url.strip_prefix(prefix.trim_end_matches('/')) {
                return format!("{}{rest}", replacement.trim_end_matches('/'));
            }
        }
        url.to_owned()
    }

    /// Download `url` (after mirror rewriting), at most `limit` bytes.
    pub fn download(&self, url: &str, limit: u64) -> Result<Vec<u8>, FetchError> {
        let url = self.rewrite(url);
        let response = self
            .agent
            .get(&url)
            .call()
            .map_err(|source| FetchError::Http {
                url: url.clone(),
                source: Box::new(source),
            })?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(FetchError::Status { url, status });
        }
        let mut reader = response
            .into_body()
            .into_with_config()
            .limit(limit.saturating_add(1))
            .reader();
        let mut bytes = Vec::new();
        (&mut reader)
            .take(limit.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|source| FetchError::Read {
                url: url.clone(),
                source,
            })?;
        if bytes.len() as u64 > limit {
            return Err(FetchError::TooLarge { url, limit });
        }
        Ok(bytes)
    }

    /// A cached file, or `download()` and keep it only if `verify` accepts it.
    /// Cached bytes go through `verify` too.
    pub fn cached<E>(
        &self,
        relative: &str,
        url: &str,
        limit: u64,
        verify: impl Fn(&[u8]) -> Result<(), E>,
    ) -> Result<Vec<u8>, CachedError<E>> {
        let path = self.cache_dir.join(relative);
        match fs_err::read(&path) {
            Ok(bytes) => {
                verify(&bytes).map_err(CachedError::Verify)?;
                return Ok(bytes);
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(CachedError::Fetch(FetchError::Cache { path, source })),
        }
        if self.offline {
            return Err(CachedError::Fetch(FetchError::Offline {
                what: url.to_owned(),
                cache: self.cache_dir.clone(),
            }));
        }
        let bytes = self.download(url, limit).map_err(CachedError::Fetch)?;
        verify(&bytes).map_err(CachedError::Verify)?;
        write_atomic(&path, &bytes)
            .map_err(|source| CachedError::Fetch(FetchError::Cache { path, source }))?;
        Ok(bytes)
    }

    /// Remove a cache entry (a newer InRelease replaces an older one).
    pub fn forget(&self, relative: &str) {
        let _ = fs_err::remove_file(self.cache_dir.join(relative));
    }
}

#[derive(Debug)]
pub enum CachedError<E> {
    Fetch(FetchError),
    Verify(E),
}

/// Write through a temporary file in the same directory, then rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let parent = path.parent().unwrap_or(Path::new("."));
    fs_err::create_dir_all(parent)?;
    let mut temporary = tempfile::NamedTempFile::new_in(parent)?;
    std::io::Write::write_all(&mut temporary, bytes)?;
    temporary.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// A file name for a URL: `http://deb.debian.org/debian` → `deb.debian.org_debian`.
pub fn url_key(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.trim_end_matches('/')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn agent() -> ureq::Agent {
    drydock_registry::default_http_agent(Duration::from_mins(2))
}
