//! The OCI image: one reproducible gzip layer, config, manifest, and the
//! three on-disk forms (OCI layout directory, OCI archive, docker archive).
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;

use serde_json::{Value, json};

use crate::fetch::sha256_hex;

pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";
pub const LAYER_MEDIA_TYPE: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";

/// The image's blobs, ready to write.
pub struct Image {
    pub layer_tar: Vec<u8>,
    pub layer_gzip: Vec<u8>,
    pub config: Vec<u8>,
    pub manifest: Vec<u8>,
    pub manifest_digest: String,
    pub tag: String,
    pub name: String,
}

/// Deterministic gzip: no file name, mtime 0, fixed level.
pub fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), flate2::Compression::new(6));
    encoder.write_all(bytes)?;
    encoder.finish()
}

fn descriptor(media_type: &str, bytes: &[u8]) -> Value {
    json!({"mediaType": media_type, "digest": format!("sha256:{}", sha256_hex(bytes)), "size": bytes.len()})
}

pub struct ImageConfig<'a> {
    pub architecture: &'a str,
    pub created: &'a str,
    pub env: &'a BTreeMap<String, String>,
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub workdir: Option<&'a str>,
    pub user: &'a str,
    pub exposed_ports: &'a [String],
    pub labels: &'a BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

pub fn assemble(
    layer_tar: Vec<u8>,
    settings: &ImageConfig<'_>,
    name: String,
    tag: String,
) -> std::io::Result<Image> {
    let layer_gzip = gzip(&layer_tar)?;
    let mut config = serde_json::Map::new();
    config.insert(
        "Env".into(),
        json!(
            settings
                .env
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
        ),
    );
    if let Some(entrypoint) = &settings.entrypoint {
        config.insert("Entrypoint".into(), json!(entrypoint));
    }
    if let Some(cmd) = &settings.cmd {
        config.insert("Cmd".into(), json!(cmd));
    }
    if let Some(workdir) = settings.workdir {
        config.insert("WorkingDir".into(), json!(workdir));
    }
    config.insert("User".into(), json!(settings.user));
    if !settings.exposed_ports.is_empty() {
        let ports: serde_json::Map<String, Value> = settings
            .exposed_ports
            .iter()
            .map(|p| {
                let port = if p.contains('/') {
                    p.clone()
                } else {
                    format!("{p}/tcp")
                };
                (port, json!({}))
            })
            .collect();
        config.insert("ExposedPorts".into(), Value::Object(ports));
    }
    if !settings.labels.is_empty() {
        config.insert("Labels".into(), json!(settings.labels));
    }
    let config = serde_json::to_vec(&json!({
        "architecture": settings.architecture,
        "os": "linux",
        "created": settings.created,
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{}", sha256_hex(&layer_tar))]},
        "history": [{"created": settings.created, "created_by": "drydock build"}],
    }))?;
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": descriptor(CONFIG_MEDIA_TYPE, &config),
        "layers": [descriptor(LAYER_MEDIA_TYPE, &layer_gzip)],
        "annotations": settings.annotations,
    }))?;
    Ok(Image {
        manifest_digest: format!("sha256:{}", sha256_hex(&manifest)),
        layer_tar,
        layer_gzip,
        config,
        manifest,
        tag,
        name,
    })
}

impl Image {
    /// The files of an OCI image layout, relative paths in sorted order.
    pub fn layout_files(&self) -> std::io::Result<Vec<(String, Vec<u8>)>> {
        let index = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": INDEX_MEDIA_TYPE,
            "manifests": [{
                "mediaType": MANIFEST_MEDIA_TYPE,
                "digest": self.manifest_digest,
                "size": self.manifest.len(),
                "annotations": {"org.opencontainers.image.ref.name": self.tag},
            }],
        }))?;
        let mut files = vec![
            (
                "oci-layout".to_owned(),
                br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
            ),
            ("index.json".to_owned(), index),
        ];
        for blob in [&self.config, &self.layer_gzip, &self.manifest] {
            files.push((format!("blobs/sha256/{}", sha256_hex(blob)), blob.clone()));
        }
        files.sort();
        Ok(files)
    }

    pub fn write_oci_dir(&self, dir: &Path) -> std::io::Result<()> {
        for (path, bytes) in self.layout_files()? {
            let path = dir.join(path);
            if let Some(parent) = path.parent() {
                fs_err::create_dir_all(parent)?;
            }
            fs_err::write(path, bytes)?;
        }
        Ok(())
    }

    pub fn oci_archive(&self, mtime: u64) -> std::io::Result<Vec<u8>> {
        archive(&self.layout_files()?, mtime)
    }

    /// `docker save` form: `manifest.json`, the config, an uncompressed layer.
    pub fn docker_archive(&self, mtime: u64) -> std::io::Result<Vec<u8>> {
        let config_name = format!("{}.json", sha256_hex(&self.config));
        let layer_name = format!("{}/layer.tar", sha256_hex(&self.layer_tar));
        let manifest = serde_json::to_vec(&json!([{
            "Config": config_name,
            "RepoTags": [format!("{}:{}", self.name, self.tag)],
            "Layers": [layer_name],
        }]))?;
        let mut files = vec![
            (config_name, self.config.clone()),
            (layer_name, self.layer_tar.clone()),
            ("manifest.json".to_owned(), manifest),
        ];
        files.sort();
        archive(&files, mtime)
    }
}

fn archive(files: &[(String, Vec<u8>)], mtime: u64) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, bytes) in files {
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o644);
        header.set_mtime(mtime);
        header.set_uid(0);
        header.set_gid(0);
        header.set_size(bytes.len() as u64);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, path, bytes.as_slice())?;
    }
    builder.into_inner()
}
