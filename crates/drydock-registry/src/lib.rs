//! The OCI distribution client — the only place HTTP meets images: manifests,
//! indexes and blobs (digest-verified, retried with backoff, resumed with
//! Range requests), pushes (monolithic, chunked, cross-repository mounts),
//! tags, catalog, referrers with the tag-schema fallback; anonymous, basic
//! and bearer auth with Docker `config.json` and credential helpers; TLS
//! with system roots plus extra CAs. OCI layouts on disk speak the same
//! [`Target`] trait, so copies, signatures and attestations work on both.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod auth;
mod client;
mod error;
mod layout;
mod reference;
mod remote;
pub mod spec;
mod store;
mod target;
mod transfer;

pub use auth::{Credential, Credentials};

/// Entry points for the fuzz targets (`fuzz/`): the parsers of untrusted
/// registry input that are otherwise private. Not a stable API.
#[doc(hidden)]
pub mod fuzzing {
    /// Parses a `WWW-Authenticate` header; a description of the challenge.
    pub fn www_authenticate(header: &str) -> Option<String> {
        crate::auth::parse_challenge(header).map(|challenge| format!("{challenge:?}"))
    }

    /// Reads a Docker `config.json` for `registry` without running any
    /// credential helper; a description of the answer.
    pub fn docker_config(bytes: &[u8], registry: &str) -> Result<String, crate::RegistryError> {
        crate::auth::config_answer(bytes, std::path::Path::new("config.json"), registry)
            .map(|answer| format!("{answer:?}"))
    }
}
pub use client::{Client, ClientOptions, MANIFEST_LIMIT, default_http_agent};
pub use error::RegistryError;
pub use layout::Layout;
pub use reference::{Reference, is_loopback_host};
pub use remote::{BlobReader, Fetched, Repository, VerifyingReader, fallback_tag};
pub use store::RegistryStore;
pub use target::{Opener, Target};
pub use transfer::{Copied, copy, copy_blobs};
