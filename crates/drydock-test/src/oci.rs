//! Writes OCI image layouts (image-spec v1.1: `oci-layout`, `index.json`,
//! `blobs/sha256/<hex>`) from layer bytes you choose, with correct digests,
//! sizes and diff_ids; tests then break them on purpose (see [`WrittenImage`]).

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

pub const MEDIA_TYPE_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const MEDIA_TYPE_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const MEDIA_TYPE_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const MEDIA_TYPE_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const MEDIA_TYPE_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";

/// Lower-case hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// A layer blob: its bytes as stored, media type, and the diff_id (digest of
/// the uncompressed tar) the config lists for it.
#[derive(Clone, Debug)]
pub struct Blob {
    pub media_type: String,
    pub bytes: Vec<u8>,
    pub diff_id: String,
}

impl Blob {
    /// An uncompressed tar layer.
    pub fn tar(tar: Vec<u8>) -> Self {
        let diff_id = format!("sha256:{}", sha256_hex(&tar));
        Self {
            media_type: MEDIA_TYPE_LAYER_TAR.to_owned(),
            bytes: tar,
            diff_id,
        }
    }

    /// A gzip-compressed tar layer.
    pub fn tar_gzip(tar: &[u8]) -> Self {
        let diff_id = format!("sha256:{}", sha256_hex(tar));
        Self {
            media_type: MEDIA_TYPE_LAYER_GZIP.to_owned(),
            bytes: crate::gzip(tar),
            diff_id,
        }
    }

    /// Any bytes under any media type; the diff_id is the digest of `diff_id_of`.
    pub fn raw(media_type: &str, bytes: Vec<u8>, diff_id_of: &[u8]) -> Self {
        Self {
            media_type: media_type.to_owned(),
            bytes,
            diff_id: format!("sha256:{}", sha256_hex(diff_id_of)),
        }
    }
}

/// An image to write as an OCI layout.
#[derive(Clone, Debug)]
pub struct OciImage {
    layers: Vec<Blob>,
    os: String,
    architecture: String,
    variant: Option<String>,
    platform_in_index: bool,
    ref_name: String,
    /// The config's `config` object (User, Labels, Env …).
    runtime: Value,
    created: Option<String>,
}

impl Default for OciImage {
    fn default() -> Self {
        Self {
            layers: Vec::new(),
            os: "linux".to_owned(),
            architecture: host_oci_architecture().to_owned(),
            variant: None,
            platform_in_index: true,
            ref_name: "latest".to_owned(),
            runtime: json!({}),
            created: None,
        }
    }
}

/// The OCI/Go name of the architecture these tests run on.
pub fn host_oci_architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

impl OciImage {
    pub fn new() -> Self {
        Self::default()
    }

    #[must_use]
    pub fn layer(mut self, blob: Blob) -> Self {
        self.layers.push(blob);
        self
    }

    /// Platform written into the config and the index descriptor.
    #[must_use]
    pub fn platform(mut self, os: &str, architecture: &str, variant: Option<&str>) -> Self {
        os.clone_into(&mut self.os);
        architecture.clone_into(&mut self.architecture);
        self.variant = variant.map(str::to_owned);
        self
    }

    /// The config's `config` object (e.g. `{"User": "1000", "Labels": {…}}`).
    #[must_use]
    pub fn runtime_config(mut self, runtime: Value) -> Self {
        self.runtime = runtime;
        self
    }

    /// The config's `created` timestamp (RFC 3339).
    #[must_use]
    pub fn created(mut self, created: &str) -> Self {
        self.created = Some(created.to_owned());
        self
    }

    /// Leave `platform` out of the index descriptor (single-image layouts often do).
    #[must_use]
    pub fn without_index_platform(mut self) -> Self {
        self.platform_in_index = false;
        self
    }

    /// Writes the layout into `dir` (created if missing).
    pub fn write(&self, dir: &Path) -> WrittenImage {
        let blobs = dir.join("blobs").join("sha256");
        std::fs::create_dir_all(&blobs).expect("create blobs dir");
        let put = |bytes: &[u8]| -> String {
            let hex = sha256_hex(bytes);
            std::fs::write(blobs.join(&hex), bytes).expect("write blob");
            format!("sha256:{hex}")
        };
        let layer_digests: Vec<String> =
            self.layers.iter().map(|layer| put(&layer.bytes)).collect();
        let mut config = json!({
            "architecture": self.architecture,
            "os": self.os,
            "config": self.runtime,
            "rootfs": {"type": "layers", "diff_ids": self.layers.iter().map(|layer| layer.diff_id.clone()).collect::<Vec<_>>()},
            "history": self.layers.iter().map(|_| json!({"created_by": "drydock-test"})).collect::<Vec<_>>(),
        });
        if let Some(variant) = &self.variant {
            config["variant"] = json!(variant);
        }
        if let Some(created) = &self.created {
            config["created"] = json!(created);
        }
        let config_bytes = serde_json::to_vec(&config).expect("serialize config");
        let config_digest = put(&config_bytes);
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": MEDIA_TYPE_MANIFEST,
            "config": {"mediaType": MEDIA_TYPE_CONFIG, "digest": config_digest, "size": config_bytes.len()},
            "layers": self.layers.iter().zip(&layer_digests).map(|(layer, digest)| json!({
                "mediaType": layer.media_type, "digest": digest, "size": layer.bytes.len(),
            })).collect::<Vec<_>>(),
        });
        let manifest_bytes = serde_json::to_vec(&manifest).expect("serialize manifest");
        let manifest_digest = put(&manifest_bytes);
        let mut descriptor = json!({
            "mediaType": MEDIA_TYPE_MANIFEST,
            "digest": manifest_digest,
            "size": manifest_bytes.len(),
            "annotations": {"org.opencontainers.image.ref.name": self.ref_name},
        });
        if self.platform_in_index {
            let mut platform = json!({"architecture": self.architecture, "os": self.os});
            if let Some(variant) = &self.variant {
                platform["variant"] = json!(variant);
            }
            descriptor["platform"] = platform;
        }
        let index = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [descriptor]});
        std::fs::write(
            dir.join("index.json"),
            serde_json::to_vec(&index).expect("serialize index"),
        )
        .expect("write index.json");
        std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)
            .expect("write oci-layout");
        WrittenImage {
            dir: dir.to_path_buf(),
            manifest_digest,
            config_digest,
            layer_digests,
        }
    }
}

/// A layout on disk, with handles to break it.
#[derive(Clone, Debug)]
pub struct WrittenImage {
    pub dir: PathBuf,
    pub manifest_digest: String,
    pub config_digest: String,
    pub layer_digests: Vec<String>,
}

impl WrittenImage {
    pub fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").expect("sha256 digest");
        self.dir.join("blobs").join("sha256").join(hex)
    }

    /// Flips one byte in the middle of the blob; the descriptor keeps the old digest.
    pub fn corrupt_blob(&self, digest: &str) {
        let path = self.blob_path(digest);
        let mut bytes = std::fs::read(&path).expect("read blob");
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x55;
        std::fs::write(&path, bytes).expect("write blob");
    }

    pub fn delete_blob(&self, digest: &str) {
        std::fs::remove_file(self.blob_path(digest)).expect("delete blob");
    }

    /// Rewrites `index.json` through `edit`.
    pub fn edit_index(&self, edit: impl FnOnce(&mut Value)) {
        let path = self.dir.join("index.json");
        let mut index: Value =
            serde_json::from_slice(&std::fs::read(&path).expect("read index.json"))
                .expect("parse index.json");
        edit(&mut index);
        std::fs::write(&path, serde_json::to_vec(&index).expect("serialize index"))
            .expect("write index.json");
    }

    /// Packs the layout into an `oci-archive` tar at `path`.
    pub fn to_oci_archive(&self, path: &Path) {
        let mut tar = crate::RawTar::new()
            .file(
                "oci-layout",
                std::fs::read(self.dir.join("oci-layout")).expect("read oci-layout"),
            )
            .file(
                "index.json",
                std::fs::read(self.dir.join("index.json")).expect("read index.json"),
            )
            .dir("blobs/")
            .dir("blobs/sha256/");
        let mut blobs: Vec<_> = std::fs::read_dir(self.dir.join("blobs").join("sha256"))
            .expect("list blobs")
            .map(|entry| entry.expect("blob entry").path())
            .collect();
        blobs.sort();
        for blob in blobs {
            let name = format!(
                "blobs/sha256/{}",
                blob.file_name().expect("blob name").to_string_lossy()
            );
            tar = tar.file(name, std::fs::read(&blob).expect("read blob"));
        }
        std::fs::write(path, tar.finish()).expect("write oci archive");
    }
}
