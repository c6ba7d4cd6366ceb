//! Registry settings shared by every operation that talks to registries,
//! and naming targets: `registry:REF`, a bare `REF`, or `oci-dir:PATH`.
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use drydock_registry::{
    Client, ClientOptions, Credential, Credentials, Layout, Reference, RegistryError, Repository,
    Target,
};

use crate::EnvVars;

/// How to reach registries (from the command line).
#[derive(Clone, Debug, Default)]
pub struct RegistrySettings {
    /// Extra CA certificates (PEM) to trust beside the system roots.
    pub ca_certs: Vec<PathBuf>,
    /// Registries where plain HTTP and unverified TLS are allowed.
    pub insecure: Vec<String>,
    /// Credentials for every registry (else Docker's `config.json`).
    pub username: Option<String>,
    pub password: Option<String>,
    /// Blob transfers at once (default 4).
    pub parallel: Option<usize>,
    /// Upload in chunks of this many bytes instead of one request.
    pub chunk_size: Option<u64>,
    /// Attempts per request (default 5).
    pub attempts: Option<u32>,
    /// First retry delay in milliseconds (default 200).
    pub backoff_ms: Option<u64>,
}

impl RegistrySettings {
    pub fn client(&self) -> Result<Arc<Client>, RegistryError> {
        let docker_config = EnvVars::get(EnvVars::DOCKER_CONFIG)
            .map(|dir| PathBuf::from(dir).join("config.json"))
            .or_else(|| {
                EnvVars::get(EnvVars::HOME)
                    .map(|home| PathBuf::from(home).join(".docker").join("config.json"))
            });
        let explicit = match (&self.username, &self.password) {
            (Some(username), password) => Some(Credential {
                username: username.clone(),
                password: password.clone().unwrap_or_default(),
            }),
            _ => None,
        };
        let mut options = ClientOptions {
            credentials: Credentials {
                explicit,
                docker_config,
            },
            ca_certs: self.ca_certs.clone(),
            insecure: self.insecure.clone(),
            chunk_size: self.chunk_size,
            ..ClientOptions::default()
        };
        if let Some(parallel) = self.parallel {
            options.parallel = parallel.max(1);
        }
        if let Some(attempts) = self.attempts {
            options.attempts = attempts.max(1);
        }
        if let Some(backoff) = self.backoff_ms {
            options.backoff = Duration::from_millis(backoff);
        }
        Ok(Arc::new(Client::new(options)?))
    }
}

/// A named place holding images.
pub(crate) enum Named {
    Registry(Reference),
    Layout(PathBuf),
}

impl Named {
    /// `registry:REF`, `docker://REF`, `oci-dir:PATH`/`oci:PATH`, or a bare reference.
    pub(crate) fn parse(input: &str) -> Result<Named, RegistryError> {
        if let Some(path) = input
            .strip_prefix("oci-dir:")
            .or_else(|| input.strip_prefix("oci:"))
        {
            return Ok(Named::Layout(PathBuf::from(path)));
        }
        let reference = input
            .strip_prefix("registry:")
            .or_else(|| input.strip_prefix("docker://"))
            .unwrap_or(input);
        Ok(Named::Registry(Reference::parse(reference)?))
    }

    /// Open it; a layout is created when `create`.
    pub(crate) fn open(
        &self,
        settings: &RegistrySettings,
        create: bool,
    ) -> Result<Box<dyn Target>, RegistryError> {
        match self {
            Named::Registry(reference) => Ok(Box::new(Repository::new(
                settings.client()?,
                reference.clone(),
            ))),
            Named::Layout(path) => Ok(Box::new(Layout::open(path, None, create)?)),
        }
    }

    /// The tag to write when this is a destination.
    pub(crate) fn tag(&self) -> Option<String> {
        match self {
            Named::Registry(reference) => reference.tag.clone(),
            Named::Layout(_) => Some("latest".to_owned()),
        }
    }

    /// The name signatures carry (`registry/repository`, or the layout path).
    pub(crate) fn identity(&self) -> String {
        match self {
            Named::Registry(reference) => reference.name(),
            Named::Layout(path) => path.display().to_string(),
        }
    }
}
