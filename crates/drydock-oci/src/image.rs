//! Opening image sources: OCI layouts (directory or archive), docker
//! archives (both layouts), and plain directories.
use std::path::{Path, PathBuf};

use drydock_core::{Digest, ImageMetadata, Layer, LayerMetadata, SourceMetadata};

use crate::error::{LayerError, OciError};
use crate::layer::{Expect, Mode, read_layer};
use crate::spec::{
    Config, DOCKER_LIST, DOCKER_MANIFEST, Descriptor, DockerArchiveEntry, Index, Manifest,
    OCI_INDEX, OCI_MANIFEST, Platform,
};
use crate::store::{DirStore, Store, TarStore};
use crate::walk::{Visitor, Walk};

/// JSON documents (index, manifest, config) larger than this are refused.
const JSON_LIMIT: u64 = 16 << 20;
const MAX_INDEX_DEPTH: usize = 8;

/// A source as the user names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceRef {
    DockerArchive(PathBuf),
    OciArchive(PathBuf),
    OciDir(PathBuf),
    Dir(PathBuf),
    /// One file (a lock file, a binary, an archive) cataloged on its own.
    File(PathBuf),
    /// An image in a registry (`host/repository[:tag][@digest]`), opened
    /// through [`Source::from_store`] by a crate that speaks HTTP.
    Registry(String),
}

impl SourceRef {
    /// Parse `scheme:PATH` or a bare path (auto-detected).
    pub fn parse(input: &str) -> Result<SourceRef, OciError> {
        if let Some((scheme, rest)) = input.split_once(':') {
            let path = PathBuf::from(rest);
            match scheme {
                "docker-archive" => return Ok(SourceRef::DockerArchive(path)),
                "oci-archive" => return Ok(SourceRef::OciArchive(path)),
                "oci-dir" | "oci" => return Ok(SourceRef::OciDir(path)),
                "dir" => return Ok(SourceRef::Dir(path)),
                "file" => return Ok(SourceRef::File(path)),
                "registry" => return Ok(SourceRef::Registry(rest.to_owned())),
                _ if !Path::new(input).exists() && !scheme.contains('/') => {
                    return Err(OciError::UnknownScheme(input.to_owned()));
                }
                _ => {}
            }
        }
        Self::detect(Path::new(input))
    }

    /// Decide what a bare path is by looking at it.
    pub fn detect(path: &Path) -> Result<SourceRef, OciError> {
        let meta = fs_err::metadata(path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                OciError::NotFound(path.to_path_buf())
            } else {
                OciError::Io {
                    path: path.to_path_buf(),
                    source,
                }
            }
        })?;
        if meta.is_dir() {
            if path.join("oci-layout").is_file() && path.join("index.json").is_file() {
                return Ok(SourceRef::OciDir(path.to_path_buf()));
            }
            return Ok(SourceRef::Dir(path.to_path_buf()));
        }
        // A tar with an image inside is an archive; any other file is
        // cataloged as itself (a lock file, a binary, a jar).
        match TarStore::open(path) {
            Ok(store) if store.has("manifest.json") => {
                Ok(SourceRef::DockerArchive(path.to_path_buf()))
            }
            Ok(store) if store.has("index.json") => Ok(SourceRef::OciArchive(path.to_path_buf())),
            _ => Ok(SourceRef::File(path.to_path_buf())),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            SourceRef::DockerArchive(_) => "docker-archive",
            SourceRef::OciArchive(_) => "oci-archive",
            SourceRef::OciDir(_) => "oci-dir",
            SourceRef::Dir(_) => "dir",
            SourceRef::File(_) => "file",
            SourceRef::Registry(_) => "registry",
        }
    }

    pub fn path(&self) -> &Path {
        match self {
            SourceRef::DockerArchive(p)
            | SourceRef::OciArchive(p)
            | SourceRef::OciDir(p)
            | SourceRef::Dir(p)
            | SourceRef::File(p) => p,
            SourceRef::Registry(r) => Path::new(r),
        }
    }
}

impl std::fmt::Display for SourceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.kind(), self.path().display())
    }
}

/// Told about long work as it happens; front ends draw it.
pub trait Progress {
    /// Layer `index` of `total` starts.
    fn layer(&self, index: usize, total: usize, digest: Option<&Digest>);
}

/// Progress that goes nowhere.
pub struct NoProgress;

impl Progress for NoProgress {
    fn layer(&self, _index: usize, _total: usize, _digest: Option<&Digest>) {}
}

struct LayerSpec {
    name: String,
    expect: Expect,
    layer: Layer,
}

/// An opened source, ready to walk.
pub struct Source {
    reference: SourceRef,
    metadata: SourceMetadata,
    image: Option<(Box<dyn Store>, Vec<LayerSpec>)>,
    /// The config's name in the store.
    config_name: Option<String>,
}

impl Source {
    /// Open a source; for images, choose the manifest for `platform`.
    pub fn open(reference: SourceRef, platform: Option<&Platform>) -> Result<Source, OciError> {
        let wanted = platform.cloned().unwrap_or_else(Platform::linux_amd64);
        let (image, store, layers, config_name) = match &reference {
            SourceRef::Registry(name) => return Err(OciError::NeedsRegistryClient(name.clone())),
            SourceRef::Dir(path) | SourceRef::File(path) => {
                let exists = match &reference {
                    SourceRef::Dir(_) => path.is_dir(),
                    _ => path.is_file(),
                };
                if !exists {
                    return Err(OciError::NotFound(path.clone()));
                }
                return Ok(Source {
                    metadata: SourceMetadata {
                        name: reference.to_string(),
                        kind: reference.kind().into(),
                        image: None,
                    },
                    reference,
                    image: None,
                    config_name: None,
                });
            }
            SourceRef::OciDir(path) => {
                if !path.is_dir() {
                    return Err(OciError::NotFound(path.clone()));
                }
                let store: Box<dyn Store> = Box::new(DirStore::new(path));
                let (meta, layers, config) =
                    open_layout(store.as_ref(), &wanted, platform.is_some())?;
                (meta, store, layers, config)
            }
            SourceRef::OciArchive(path) => {
                let store: Box<dyn Store> = Box::new(TarStore::open(path)?);
                let (meta, layers, config) =
                    open_layout(store.as_ref(), &wanted, platform.is_some())?;
                (meta, store, layers, config)
            }
            SourceRef::DockerArchive(path) => {
                let store: Box<dyn Store> = Box::new(TarStore::open(path)?);
                let (meta, layers, config) = open_docker_archive(store.as_ref(), path)?;
                (meta, store, layers, config)
            }
        };
        Ok(Source {
            metadata: SourceMetadata {
                name: reference.to_string(),
                kind: reference.kind().into(),
                image: Some(image),
            },
            reference,
            image: Some((store, layers)),
            config_name: Some(config_name),
        })
    }

    /// Open an image whose blobs come from `store` (a registry, say): the
    /// store serves `index.json` and `blobs/<algorithm>/<hex>` as a layout would.
    pub fn from_store(
        reference: SourceRef,
        store: Box<dyn Store>,
        platform: Option<&Platform>,
    ) -> Result<Source, OciError> {
        let wanted = platform.cloned().unwrap_or_else(Platform::linux_amd64);
        let (image, layers, config_name) =
            open_layout(store.as_ref(), &wanted, platform.is_some())?;
        Ok(Source {
            metadata: SourceMetadata {
                name: reference.to_string(),
                kind: reference.kind().into(),
                image: Some(image),
            },
            reference,
            image: Some((store, layers)),
            config_name: Some(config_name),
        })
    }

    pub fn metadata(&self) -> &SourceMetadata {
        &self.metadata
    }

    pub fn reference(&self) -> &SourceRef {
        &self.reference
    }

    /// The image configuration as stored (JSON), checked against its
    /// digest; `None` for directories and single files.
    pub fn config_json(&self) -> Result<Option<Vec<u8>>, OciError> {
        let (Some((store, _)), Some(name)) = (&self.image, &self.config_name) else {
            return Ok(None);
        };
        let bytes = store.read_to_vec(name, JSON_LIMIT)?;
        if let Some(expected) = self
            .metadata
            .image
            .as_ref()
            .and_then(|image| image.config_digest.as_ref())
        {
            let actual = Digest::sha256_of(&bytes);
            if expected.algorithm() == actual.algorithm() && &actual != expected {
                return Err(OciError::Blob {
                    digest: expected.clone(),
                    source: crate::error::BlobError::DigestMismatch { actual },
                });
            }
        }
        Ok(Some(bytes))
    }

    /// The image's config blob, checked against its digest; an error for
    /// directories and single files.
    pub fn config_bytes(&self) -> Result<Vec<u8>, OciError> {
        self.config_json()?.ok_or_else(|| OciError::NotAnImage {
            path: self.reference.path().to_path_buf(),
            reason: "not an image".into(),
        })
    }

    /// The number of layers (0 for directories and files).
    pub fn layer_count(&self) -> usize {
        self.image.as_ref().map_or(0, |(_, layers)| layers.len())
    }

    /// The stored bytes of layer `index` (compressed as stored), unverified:
    /// a walk checks them.
    pub fn open_layer(&self, index: usize) -> Result<Box<dyn std::io::Read + Send>, OciError> {
        let Some(spec) = self.image.as_ref().and_then(|(_, l)| l.get(index)) else {
            return Err(OciError::NotAnImage {
                path: self.reference.path().to_path_buf(),
                reason: format!("no layer {index}"),
            });
        };
        self.image.as_ref().map_or(
            Err(OciError::MissingBlob(Digest::sha256_of(b""))),
            |(store, _)| store.open(&spec.name),
        )
    }

    /// Forget the top layers beyond `keep`: later walks and reads see the
    /// image as it was below them (`drydock patch` replacing its own layer).
    pub fn keep_layers(&mut self, keep: usize) {
        if let Some((_, layers)) = &mut self.image {
            layers.truncate(keep);
        }
        if let Some(image) = &mut self.metadata.image {
            image.layers.truncate(keep);
        }
    }

    /// The single pass: apply every layer in order, dispatching claimed files
    /// to `visitor`, then read what links pointed back to.
    pub fn walk(&self, visitor: &mut dyn Visitor) -> Result<Walk, OciError> {
        self.walk_with_progress(visitor, &NoProgress)
    }

    /// [`Source::walk`], telling `progress` as each layer starts.
    pub fn walk_with_progress(
        &self,
        visitor: &mut dyn Visitor,
        progress: &dyn Progress,
    ) -> Result<Walk, OciError> {
        let mut walk = Walk::new();
        let Some((store, layers)) = &self.image else {
            let root = self.reference.path();
            let walked = match &self.reference {
                SourceRef::File(_) => crate::dir::walk_file(root, &mut walk, visitor),
                _ => crate::dir::walk_dir(root, &mut walk, visitor),
            };
            walked.map_err(|source| OciError::Dir {
                path: root.to_path_buf(),
                source,
            })?;
            return Ok(walk);
        };
        let layer_error = |spec: &LayerSpec, source: LayerError| OciError::Layer {
            index: spec.layer.index,
            digest: spec
                .layer
                .digest
                .as_ref()
                .map_or_else(|| spec.name.clone(), ToString::to_string),
            source,
        };
        for spec in layers {
            progress.layer(spec.layer.index, layers.len(), spec.layer.digest.as_ref());
            let raw = store.open(&spec.name)?;
            walk.begin_layer(spec.layer.clone());
            read_layer(raw, &spec.expect, &mut walk, &Mode::Apply(visitor))
                .map_err(|e| layer_error(spec, e))?;
            walk.end_layer(visitor);
        }
        crate::walk::fix_up(&mut walk, visitor, |walk, index, paths| {
            let Some(spec) = layers.get(index) else {
                return Ok(());
            };
            let raw = store.open(&spec.name)?;
            read_layer(
                raw,
                &spec.expect,
                walk,
                &Mode::Capture(paths, index, visitor),
            )
            .map_err(|e| layer_error(spec, e))
        })?;
        Ok(walk)
    }
}

fn read_json<T: serde::de::DeserializeOwned>(
    store: &dyn Store,
    name: &str,
    what: &str,
    expect: Option<&Descriptor>,
) -> Result<T, OciError> {
    let bytes = store.read_to_vec(name, JSON_LIMIT)?;
    if let Some(descriptor) = expect {
        let actual = Digest::sha256_of(&bytes);
        if descriptor.digest.algorithm() == actual.algorithm() && actual != descriptor.digest {
            return Err(OciError::Blob {
                digest: descriptor.digest.clone(),
                source: crate::error::BlobError::DigestMismatch { actual },
            });
        }
    }
    serde_json::from_slice(&bytes).map_err(|source| OciError::Json {
        what: what.to_owned(),
        source,
    })
}

fn blob_name(digest: &Digest) -> String {
    format!("blobs/{}/{}", digest.algorithm().as_str(), digest.hex())
}

fn read_blob_json<T: serde::de::DeserializeOwned>(
    store: &dyn Store,
    descriptor: &Descriptor,
    what: &str,
) -> Result<T, OciError> {
    let name = blob_name(&descriptor.digest);
    if !store.exists(&name) {
        return Err(OciError::MissingBlob(descriptor.digest.clone()));
    }
    read_json(
        store,
        &name,
        &format!("{what} {}", descriptor.digest),
        Some(descriptor),
    )
}

/// Pick the manifest for `wanted` from an index, descending nested indexes.
fn choose_manifest(
    store: &dyn Store,
    index: &Index,
    wanted: &Platform,
    explicit: bool,
    depth: usize,
    seen: &mut Vec<String>,
) -> Result<Option<Descriptor>, OciError> {
    if depth > MAX_INDEX_DEPTH {
        return Err(OciError::IndexTooDeep(MAX_INDEX_DEPTH));
    }
    let mut unlabelled = Vec::new();
    for descriptor in &index.manifests {
        let is_index = descriptor.media_type == OCI_INDEX || descriptor.media_type == DOCKER_LIST;
        if is_index {
            let nested: Index = read_blob_json(store, descriptor, "index")?;
            if let Some(found) = choose_manifest(store, &nested, wanted, explicit, depth + 1, seen)?
            {
                return Ok(Some(found));
            }
            continue;
        }
        match &descriptor.platform {
            Some(platform) => {
                seen.push(platform.to_string());
                if platform.satisfies(wanted) {
                    return Ok(Some(descriptor.clone()));
                }
            }
            None => unlabelled.push(descriptor.clone()),
        }
    }
    // Manifests without a platform in the index: look at their configs.
    for descriptor in unlabelled {
        let manifest: Manifest = read_blob_json(store, &descriptor, "manifest")?;
        let config: Config = read_blob_json(store, &manifest.config, "config")?;
        let platform = Platform {
            os: config.os,
            architecture: config.architecture,
            variant: config.variant,
        };
        // A layout with one image and no explicit --platform: take it as is.
        if platform.satisfies(wanted) || (!explicit && index.manifests.len() == 1) {
            return Ok(Some(descriptor));
        }
        seen.push(platform.to_string());
    }
    Ok(None)
}

fn open_layout(
    store: &dyn Store,
    wanted: &Platform,
    explicit: bool,
) -> Result<(ImageMetadata, Vec<LayerSpec>, String), OciError> {
    if !store.exists("index.json") {
        return Err(OciError::NotAnImage {
            path: PathBuf::from("index.json"),
            reason: "the OCI layout has no index.json".into(),
        });
    }
    let index: Index = read_json(store, "index.json", "index.json", None)?;
    let mut seen = Vec::new();
    let Some(descriptor) = choose_manifest(store, &index, wanted, explicit, 0, &mut seen)? else {
        seen.dedup();
        return Err(OciError::NoMatchingPlatform {
            wanted: wanted.to_string(),
            available: if seen.is_empty() {
                "none".into()
            } else {
                seen.join(", ")
            },
        });
    };
    let tags = index
        .manifests
        .iter()
        .filter(|d| d.digest == descriptor.digest)
        .filter_map(|d| {
            d.annotations
                .get("org.opencontainers.image.ref.name")
                .cloned()
        })
        .collect();
    let manifest: Manifest = read_blob_json(store, &descriptor, "manifest")?;
    let media_type = manifest
        .media_type
        .clone()
        .unwrap_or_else(|| descriptor.media_type.clone());
    if !(media_type.is_empty() || media_type == OCI_MANIFEST || media_type == DOCKER_MANIFEST) {
        return Err(OciError::UnsupportedMediaType {
            what: format!("manifest {}", descriptor.digest),
            media_type,
        });
    }
    let config: Config = read_blob_json(store, &manifest.config, "config")?;
    let diff_ids = config
        .rootfs
        .as_ref()
        .map(|r| r.diff_ids.clone())
        .unwrap_or_default();
    if !diff_ids.is_empty() && diff_ids.len() != manifest.layers.len() {
        return Err(OciError::DiffIdCount {
            layers: manifest.layers.len(),
            diff_ids: diff_ids.len(),
        });
    }
    let mut specs = Vec::new();
    let mut layers = Vec::new();
    for (index, descriptor) in manifest.layers.iter().enumerate() {
        check_layer_media_type(&descriptor.media_type, &descriptor.digest)?;
        let name = blob_name(&descriptor.digest);
        if !store.exists(&name) {
            return Err(OciError::MissingBlob(descriptor.digest.clone()));
        }
        let layer = Layer {
            index,
            digest: Some(descriptor.digest.clone()),
            diff_id: diff_ids.get(index).cloned(),
        };
        layers.push(LayerMetadata {
            layer: layer.clone(),
            media_type: descriptor.media_type.clone(),
            size: descriptor.size,
        });
        specs.push(LayerSpec {
            name,
            expect: Expect {
                digest: Some(descriptor.digest.clone()),
                size: Some(descriptor.size),
                diff_id: diff_ids.get(index).cloned(),
            },
            layer,
        });
    }
    let metadata = ImageMetadata {
        manifest_digest: Some(descriptor.digest.clone()),
        config_digest: Some(manifest.config.digest.clone()),
        media_type: Some(media_type),
        os: config.os,
        architecture: config.architecture,
        variant: config.variant,
        tags,
        layers,
    };
    let config_name = blob_name(&manifest.config.digest);
    Ok((metadata, specs, config_name))
}

fn check_layer_media_type(media_type: &str, digest: &Digest) -> Result<(), OciError> {
    const KNOWN: &[&str] = &[
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.layer.v1.tar+gzip",
        "application/vnd.oci.image.layer.v1.tar+zstd",
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
        "application/vnd.docker.image.rootfs.diff.tar",
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "application/vnd.docker.image.rootfs.diff.tar.zstd",
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    ];
    if media_type.is_empty() || KNOWN.contains(&media_type) {
        Ok(())
    } else {
        Err(OciError::UnsupportedMediaType {
            what: format!("layer {digest}"),
            media_type: media_type.to_owned(),
        })
    }
}

fn open_docker_archive(
    store: &dyn Store,
    path: &Path,
) -> Result<(ImageMetadata, Vec<LayerSpec>, String), OciError> {
    let entries: Vec<DockerArchiveEntry> =
        read_json(store, "manifest.json", "manifest.json", None)?;
    let Some(entry) = entries.into_iter().next() else {
        return Err(OciError::NotAnImage {
            path: path.to_path_buf(),
            reason: "manifest.json lists no image".into(),
        });
    };
    // The config is named by its digest: `<hex>.json` (old) or `blobs/sha256/<hex>` (Docker ≥ 25).
    let config_digest = digest_from_name(&entry.config);
    let config_bytes = store.read_to_vec(&entry.config, JSON_LIMIT)?;
    let actual = Digest::sha256_of(&config_bytes);
    if let Some(expected) = &config_digest
        && expected != &actual
    {
        return Err(OciError::Blob {
            digest: expected.clone(),
            source: crate::error::BlobError::DigestMismatch { actual },
        });
    }
    let config: Config =
        serde_json::from_slice(&config_bytes).map_err(|source| OciError::Json {
            what: format!("config `{}`", entry.config),
            source,
        })?;
    let diff_ids = config
        .rootfs
        .as_ref()
        .map(|r| r.diff_ids.clone())
        .unwrap_or_default();
    if diff_ids.len() != entry.layers.len() {
        return Err(OciError::DiffIdCount {
            layers: entry.layers.len(),
            diff_ids: diff_ids.len(),
        });
    }
    // Docker ≥ 25 also writes an OCI index; its manifest digest is the image's identity.
    let manifest_digest = if store.exists("index.json") {
        read_json::<Index>(store, "index.json", "index.json", None)
            .ok()
            .and_then(|index| index.manifests.first().map(|d| d.digest.clone()))
    } else {
        None
    };
    let mut specs = Vec::new();
    let mut layers = Vec::new();
    for (index, name) in entry.layers.iter().enumerate() {
        if !store.exists(name) {
            return Err(OciError::NotFound(path.join(name)));
        }
        let stored = digest_from_name(name);
        let layer = Layer {
            index,
            digest: stored.clone().or_else(|| diff_ids.get(index).cloned()),
            diff_id: diff_ids.get(index).cloned(),
        };
        layers.push(LayerMetadata {
            layer: layer.clone(),
            media_type: "application/vnd.docker.image.rootfs.diff.tar".into(),
            size: store.size(name).unwrap_or(0),
        });
        specs.push(LayerSpec {
            name: name.clone(),
            expect: Expect {
                digest: stored,
                size: None,
                diff_id: diff_ids.get(index).cloned(),
            },
            layer,
        });
    }
    let metadata = ImageMetadata {
        manifest_digest,
        config_digest: Some(config_digest.unwrap_or(actual)),
        media_type: None,
        os: config.os,
        architecture: config.architecture,
        variant: config.variant,
        tags: entry.repo_tags.unwrap_or_default(),
        layers,
    };
    Ok((metadata, specs, entry.config))
}

/// `blobs/sha256/<hex>` or `<hex>.json` → the digest the name carries.
fn digest_from_name(name: &str) -> Option<Digest> {
    let trimmed = name.trim_start_matches("./");
    if let Some(rest) = trimmed.strip_prefix("blobs/") {
        let (algorithm, hex) = rest.split_once('/')?;
        return Digest::from_parts(algorithm, hex).ok();
    }
    let hex = trimmed.strip_suffix(".json")?;
    Digest::from_parts("sha256", hex).ok()
}
