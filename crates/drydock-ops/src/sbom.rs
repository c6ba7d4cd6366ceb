use drydock_oci::{OciError, Platform, Progress, Source, SourceRef};
use drydock_sbom::{Sbom, Tool};

/// What `sbom` needs to know.
#[derive(Clone, Debug, Default)]
pub struct SbomSettings {
    /// The source as the user wrote it (`oci-dir:PATH`, a bare path, …).
    pub source: String,
    /// `os/arch[/variant]`; linux/amd64 when absent.
    pub platform: Option<String>,
    /// How to reach registries (for `registry:REF` sources).
    pub registry: crate::RegistrySettings,
}

#[derive(Debug, thiserror::Error)]
pub enum SbomError {
    #[error("`{0}` is not a platform (expected os/arch[/variant], e.g. linux/arm64/v8)")]
    Platform(String),
    #[error("{source_name}")]
    Registry {
        source_name: String,
        #[source]
        source: Box<drydock_registry::RegistryError>,
    },
    #[error("{source_name}")]
    Source {
        source_name: String,
        #[source]
        source: Box<OciError>,
    },
}

/// Catalog a source into an SBOM.
pub fn sbom(settings: &SbomSettings, progress: &dyn Progress) -> Result<Sbom, SbomError> {
    let source = open_source(settings)?;
    let wrap = |source: OciError| SbomError::Source {
        source_name: settings.source.clone(),
        source: Box::new(source),
    };
    let catalog = drydock_catalog::catalog_source(&source, drydock_catalog::builtin(), progress)
        .map_err(wrap)?;
    Ok(Sbom {
        source: source.metadata().clone(),
        distro: catalog.distro,
        packages: catalog.packages,
        relationships: catalog.relationships,
        problems: catalog.problems,
        tool: Tool::drydock(),
        created: crate::created_timestamp(),
    })
}

/// Open any source `sbom` accepts (registries through the one HTTP client).
pub(crate) fn open_source(settings: &SbomSettings) -> Result<Source, SbomError> {
    let platform = match &settings.platform {
        Some(p) => Some(Platform::parse(p).ok_or_else(|| SbomError::Platform(p.clone()))?),
        None => None,
    };
    let wrap = |source: OciError| SbomError::Source {
        source_name: settings.source.clone(),
        source: Box::new(source),
    };
    let reference = SourceRef::parse(&settings.source).map_err(wrap)?;
    let source = match &reference {
        SourceRef::Registry(name) => {
            let wrap_registry = |source| SbomError::Registry {
                source_name: settings.source.clone(),
                source: Box::new(source),
            };
            let parsed = drydock_registry::Reference::parse(name).map_err(wrap_registry)?;
            let client = settings.registry.client().map_err(wrap_registry)?;
            let store = drydock_registry::RegistryStore::open(drydock_registry::Repository::new(
                client, parsed,
            ))
            .map_err(wrap_registry)?;
            Source::from_store(reference, Box::new(store), platform.as_ref()).map_err(wrap)?
        }
        _ => Source::open(reference, platform.as_ref()).map_err(wrap)?,
    };
    Ok(source)
}
