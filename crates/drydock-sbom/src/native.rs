//! drydock's native JSON: the model, versioned (see `docs/sbom-json.md`).
//!
//! Readers ignore unknown fields and treat missing lists as empty and missing
//! optional values as absent, so additions within schema version 1 stay
//! readable.
//!
//! The schema is defined by the types in this module, not by the core types'
//! serde derives, so a change to a core type cannot silently change the
//! contract: converting between the two is an exhaustive struct literal.

use drydock_core::{
    Digest, Distro, ImageMetadata, ImagePath, Layer, LayerMetadata, Location, OwnedFile, Package,
    PackageKind, Problem, Relationship, SourceMetadata, SourcePackage,
};
use serde::{Deserialize, Serialize};

use crate::{Format, Sbom, SbomError, Tool, parse_purl, sorted_packages, write_json};

/// The `schema_version` this crate writes and reads.
pub const NATIVE_SCHEMA_VERSION: &str = "1";

#[derive(Serialize, Deserialize)]
struct Document {
    schema_version: String,
    tool: NativeTool,
    created: String,
    source: NativeSource,
    distro: Option<NativeDistro>,
    #[serde(default)]
    packages: Vec<NativePackage>,
    #[serde(default)]
    relationships: Vec<NativeRelationship>,
    #[serde(default)]
    problems: Vec<NativeProblem>,
}

#[derive(Serialize, Deserialize)]
struct NativeTool {
    name: String,
    version: String,
}

#[derive(Serialize, Deserialize)]
struct NativeSource {
    name: String,
    kind: String,
    image: Option<NativeImage>,
}

#[derive(Serialize, Deserialize)]
struct NativeImage {
    manifest_digest: Option<Digest>,
    config_digest: Option<Digest>,
    media_type: Option<String>,
    os: String,
    architecture: String,
    variant: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    layers: Vec<NativeImageLayer>,
}

#[derive(Serialize, Deserialize)]
struct NativeImageLayer {
    index: usize,
    digest: Option<Digest>,
    diff_id: Option<Digest>,
    media_type: String,
    size: u64,
}

#[derive(Serialize, Deserialize)]
struct NativeDistro {
    id: String,
    version_id: String,
    version_codename: Option<String>,
    pretty_name: Option<String>,
    #[serde(default)]
    id_like: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone)]
struct NativeLayer {
    index: usize,
    digest: Option<Digest>,
    diff_id: Option<Digest>,
}

#[derive(Serialize, Deserialize)]
struct NativeLocation {
    path: ImagePath,
    layer: Option<NativeLayer>,
}

#[derive(Serialize, Deserialize)]
struct NativeSourcePackage {
    name: String,
    version: String,
}

#[derive(Serialize, Deserialize)]
struct NativeFile {
    path: ImagePath,
    digest: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct NativePackage {
    name: String,
    version: String,
    kind: PackageKind,
    purl: String,
    arch: Option<String>,
    source: Option<NativeSourcePackage>,
    #[serde(default)]
    licenses: Vec<String>,
    maintainer: Option<String>,
    installed_size: Option<u64>,
    checksum: Option<String>,
    installed: bool,
    #[serde(default)]
    locations: Vec<NativeLocation>,
    layer: Option<NativeLayer>,
    #[serde(default)]
    files: Vec<NativeFile>,
}

#[derive(Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
struct NativeRelationship {
    from: String,
    to: String,
    kind: String,
}

#[derive(Serialize, Deserialize)]
struct NativeProblem {
    cataloger: String,
    path: ImagePath,
    layer: Option<NativeLayer>,
    reason: String,
}

/// Write `sbom` as drydock native JSON (schema version 1): packages sorted
/// (kind, name, version, arch, first location), owned files sorted by path,
/// relationships sorted, problems sorted by path, layer, cataloger, reason.
pub fn write_native_json(sbom: &Sbom, out: &mut dyn std::io::Write) -> Result<(), SbomError> {
    write_json(Format::Json, &to_document(sbom), out)
}

/// Read a native JSON SBOM written by [`write_native_json`].
pub fn read_native(bytes: &[u8]) -> Result<Sbom, SbomError> {
    #[derive(Deserialize)]
    struct Version {
        schema_version: String,
    }
    let version: Version =
        serde_json::from_slice(bytes).map_err(|source| SbomError::ReadNative { source })?;
    if version.schema_version != NATIVE_SCHEMA_VERSION {
        return Err(SbomError::UnsupportedSchemaVersion {
            found: version.schema_version,
        });
    }
    let document: Document =
        serde_json::from_slice(bytes).map_err(|source| SbomError::ReadNative { source })?;
    from_document(document)
}

fn to_document(sbom: &Sbom) -> Document {
    let mut relationships: Vec<NativeRelationship> = sbom
        .relationships
        .iter()
        .map(|r| NativeRelationship {
            from: r.from.clone(),
            to: r.to.clone(),
            kind: r.kind.clone(),
        })
        .collect();
    relationships.sort();
    let mut problems: Vec<&Problem> = sbom.problems.iter().collect();
    problems.sort_by(|a, b| {
        (&a.path, &a.layer, &a.cataloger, &a.reason).cmp(&(
            &b.path,
            &b.layer,
            &b.cataloger,
            &b.reason,
        ))
    });
    Document {
        schema_version: NATIVE_SCHEMA_VERSION.to_owned(),
        tool: NativeTool {
            name: sbom.tool.name.clone(),
            version: sbom.tool.version.clone(),
        },
        created: sbom.created.clone(),
        source: NativeSource {
            name: sbom.source.name.clone(),
            kind: sbom.source.kind.clone(),
            image: sbom.source.image.as_ref().map(|image| NativeImage {
                manifest_digest: image.manifest_digest.clone(),
                config_digest: image.config_digest.clone(),
                media_type: image.media_type.clone(),
                os: image.os.clone(),
                architecture: image.architecture.clone(),
                variant: image.variant.clone(),
                tags: image.tags.clone(),
                layers: image
                    .layers
                    .iter()
                    .map(|l| NativeImageLayer {
                        index: l.layer.index,
                        digest: l.layer.digest.clone(),
                        diff_id: l.layer.diff_id.clone(),
                        media_type: l.media_type.clone(),
                        size: l.size,
                    })
                    .collect(),
            }),
        },
        distro: sbom.distro.as_ref().map(|d| NativeDistro {
            id: d.id.clone(),
            version_id: d.version_id.clone(),
            version_codename: d.version_codename.clone(),
            pretty_name: d.pretty_name.clone(),
            id_like: d.id_like.clone(),
        }),
        packages: sorted_packages(&sbom.packages)
            .into_iter()
            .map(native_package)
            .collect(),
        relationships,
        problems: problems
            .into_iter()
            .map(|p| NativeProblem {
                cataloger: p.cataloger.clone(),
                path: p.path.clone(),
                layer: p.layer.as_ref().map(native_layer),
                reason: p.reason.clone(),
            })
            .collect(),
    }
}

fn native_layer(layer: &Layer) -> NativeLayer {
    NativeLayer {
        index: layer.index,
        digest: layer.digest.clone(),
        diff_id: layer.diff_id.clone(),
    }
}

fn core_layer(layer: NativeLayer) -> Layer {
    Layer {
        index: layer.index,
        digest: layer.digest,
        diff_id: layer.diff_id,
    }
}

fn native_package(package: &Package) -> NativePackage {
    let mut files: Vec<&OwnedFile> = package.files.iter().collect();
    files.sort();
    NativePackage {
        name: package.name.clone(),
        version: package.version.clone(),
        kind: package.kind,
        purl: package.purl.to_string(),
        arch: package.arch.clone(),
        source: package.source.as_ref().map(|s| NativeSourcePackage {
            name: s.name.clone(),
            version: s.version.clone(),
        }),
        licenses: package.licenses.clone(),
        maintainer: package.maintainer.clone(),
        installed_size: package.installed_size,
        checksum: package.checksum.clone(),
        installed: package.installed,
        locations: package
            .locations
            .iter()
            .map(|l| NativeLocation {
                path: l.path.clone(),
                layer: l.layer.as_ref().map(native_layer),
            })
            .collect(),
        layer: package.layer.as_ref().map(native_layer),
        files: files
            .into_iter()
            .map(|f| NativeFile {
                path: f.path.clone(),
                digest: f.digest.clone(),
            })
            .collect(),
    }
}

fn from_document(document: Document) -> Result<Sbom, SbomError> {
    let packages = document
        .packages
        .into_iter()
        .map(core_package)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Sbom {
        source: SourceMetadata {
            name: document.source.name,
            kind: document.source.kind,
            image: document.source.image.map(|image| ImageMetadata {
                manifest_digest: image.manifest_digest,
                config_digest: image.config_digest,
                media_type: image.media_type,
                os: image.os,
                architecture: image.architecture,
                variant: image.variant,
                tags: image.tags,
                layers: image
                    .layers
                    .into_iter()
                    .map(|l| LayerMetadata {
                        layer: Layer {
                            index: l.index,
                            digest: l.digest,
                            diff_id: l.diff_id,
                        },
                        media_type: l.media_type,
                        size: l.size,
                    })
                    .collect(),
            }),
        },
        distro: document.distro.map(|d| Distro {
            id: d.id,
            version_id: d.version_id,
            version_codename: d.version_codename,
            pretty_name: d.pretty_name,
            id_like: d.id_like,
        }),
        packages,
        relationships: document
            .relationships
            .into_iter()
            .map(|r| Relationship {
                from: r.from,
                to: r.to,
                kind: r.kind,
            })
            .collect(),
        problems: document
            .problems
            .into_iter()
            .map(|p| Problem {
                cataloger: p.cataloger,
                path: p.path,
                layer: p.layer.map(core_layer),
                reason: p.reason,
            })
            .collect(),
        tool: Tool {
            name: document.tool.name,
            version: document.tool.version,
        },
        created: document.created,
    })
}

fn core_package(package: NativePackage) -> Result<Package, SbomError> {
    let purl = parse_purl(&package.purl).map_err(|source| SbomError::InvalidPurl {
        package: package.name.clone(),
        source,
    })?;
    Ok(Package {
        name: package.name,
        version: package.version,
        kind: package.kind,
        purl,
        arch: package.arch,
        source: package.source.map(|s| SourcePackage {
            name: s.name,
            version: s.version,
        }),
        licenses: package.licenses,
        maintainer: package.maintainer,
        installed_size: package.installed_size,
        checksum: package.checksum,
        installed: package.installed,
        locations: package
            .locations
            .into_iter()
            .map(|l| Location {
                path: l.path,
                layer: l.layer.map(core_layer),
            })
            .collect(),
        layer: package.layer.map(core_layer),
        files: package
            .files
            .into_iter()
            .map(|f| OwnedFile {
                path: f.path,
                digest: f.digest,
            })
            .collect(),
    })
}
