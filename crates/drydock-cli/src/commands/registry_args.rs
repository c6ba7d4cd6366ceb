//! Registry options shared by every subcommand that talks to registries.
use std::path::PathBuf;

use clap::Args;
use drydock_ops::RegistrySettings;

#[derive(Args, Clone, Debug, Default)]
pub(crate) struct RegistryArgs {
    /// Trust this CA certificate (PEM) for registry TLS, beside the system roots
    #[arg(long = "ca-cert", value_name = "FILE")]
    ca_cert: Vec<PathBuf>,
    /// Allow plain HTTP and unverified TLS for this registry (host[:port]); loopback registries may always use plain HTTP
    #[arg(long, value_name = "HOST")]
    insecure: Vec<String>,
    /// Registry user name (else Docker's config.json and credential helpers)
    #[arg(long, value_name = "USER")]
    username: Option<String>,
    /// Registry password (with --username)
    #[arg(long, value_name = "PASSWORD")]
    password: Option<String>,
    /// Blob transfers at once
    #[arg(long, value_name = "N")]
    parallel: Option<usize>,
    /// Upload blobs in chunks of this many bytes
    #[arg(long, value_name = "BYTES", hide = true)]
    chunk_size: Option<u64>,
    /// Attempts per request before giving up
    #[arg(long, value_name = "N", hide = true)]
    retries: Option<u32>,
    /// First retry delay in milliseconds
    #[arg(long, value_name = "MS", hide = true)]
    backoff_ms: Option<u64>,
}

impl RegistryArgs {
    pub(crate) fn settings(self) -> RegistrySettings {
        let RegistryArgs {
            ca_cert,
            insecure,
            username,
            password,
            parallel,
            chunk_size,
            retries,
            backoff_ms,
        } = self;
        RegistrySettings {
            ca_certs: ca_cert,
            insecure,
            username,
            password,
            parallel,
            chunk_size,
            attempts: retries,
            backoff_ms,
        }
    }
}
