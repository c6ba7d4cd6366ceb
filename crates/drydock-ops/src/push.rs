//! `push` and `copy`: an image from an OCI layout (or registry) into a
//! registry (or layout), blobs in parallel, manifests last.
use drydock_core::Digest;
use drydock_registry::{Copied, RegistryError};

use crate::registry::{Named, RegistrySettings};

/// What `copy` needs: source and destination as the user wrote them.
#[derive(Clone, Debug, Default)]
pub struct CopySettings {
    pub source: String,
    pub destination: String,
    pub registry: RegistrySettings,
}

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("`{name}`")]
    Registry {
        name: String,
        #[source]
        source: Box<RegistryError>,
    },
}

/// The outcome of a copy.
#[derive(Clone, Debug)]
pub struct CopyReport {
    pub digest: Digest,
    pub destination: String,
    pub copied: Copied,
}

/// Copy an image; `push` is `copy` with a local source.
pub fn copy(settings: &CopySettings) -> Result<CopyReport, CopyError> {
    let wrap = |name: &str| {
        let name = name.to_owned();
        move |source| CopyError::Registry {
            name,
            source: Box::new(source),
        }
    };
    // `oci-dir:` and bare paths that exist are layouts; the rest are references.
    let source_name = local_or_reference(&settings.source);
    let source = Named::parse(&source_name).map_err(wrap(&settings.source))?;
    let destination = Named::parse(&settings.destination).map_err(wrap(&settings.destination))?;
    let from = source
        .open(&settings.registry, false)
        .map_err(wrap(&settings.source))?;
    let to = destination
        .open(&settings.registry, true)
        .map_err(wrap(&settings.destination))?;
    let parallel = settings.registry.parallel.unwrap_or(4);
    let (root, copied) = drydock_registry::copy(
        from.as_ref(),
        to.as_ref(),
        destination.tag().as_deref(),
        parallel,
    )
    .map_err(wrap(&format!(
        "{} → {}",
        settings.source, settings.destination
    )))?;
    Ok(CopyReport {
        digest: root.digest,
        destination: settings.destination.clone(),
        copied,
    })
}

/// A bare path to an existing OCI layout means the layout.
fn local_or_reference(input: &str) -> String {
    let path = std::path::Path::new(input);
    if !input.contains("://") && path.join("oci-layout").is_file() {
        format!("oci-dir:{input}")
    } else {
        input.to_owned()
    }
}
