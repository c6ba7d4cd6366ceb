//! An OCI image layout on disk as a [`Target`]: blobs are written under a
//! temporary name and renamed into place only after their digest checks;
//! `index.json` is replaced atomically.
use std::io::{Read, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use drydock_core::Digest;

use crate::client::MANIFEST_LIMIT;
use crate::error::RegistryError;
use crate::remote::{Fetched, VerifyingReader, media_type_of, unwrap_io};
use crate::spec::{Descriptor, Index, Manifest, OCI_INDEX, OCI_MANIFEST, REF_NAME};
use crate::target::{Opener, Target};

pub struct Layout {
    root: PathBuf,
    /// The ref name to read or write (`org.opencontainers.image.ref.name`).
    tag: Option<String>,
    /// Serialises read-modify-write of `index.json`.
    index_lock: Mutex<()>,
}

impl Layout {
    /// An existing layout, or a new one when `create`.
    pub fn open(root: &Path, tag: Option<String>, create: bool) -> Result<Layout, RegistryError> {
        let layout = Layout {
            root: root.to_path_buf(),
            tag,
            index_lock: Mutex::new(()),
        };
        if !root.join("oci-layout").is_file() {
            if !create {
                return Err(RegistryError::Layout {
                    path: root.to_path_buf(),
                    reason: "not an OCI layout (no `oci-layout` file)".into(),
                });
            }
            fs_err::create_dir_all(root.join("blobs").join("sha256"))
                .map_err(RegistryError::io(root))?;
            Layout::write_atomic(
                &root.join("oci-layout"),
                br#"{"imageLayoutVersion":"1.0.0"}"#,
            )?;
            if !root.join("index.json").is_file() {
                layout.write_index(&Index::empty())?;
            }
        }
        Ok(layout)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(digest.algorithm().as_str())
            .join(digest.hex())
    }

    pub fn index(&self) -> Result<Index, RegistryError> {
        let path = self.root.join("index.json");
        let bytes = fs_err::read(&path).map_err(RegistryError::io(&path))?;
        serde_json::from_slice(&bytes).map_err(|source| RegistryError::Json {
            what: path.display().to_string(),
            source,
        })
    }

    fn write_index(&self, index: &Index) -> Result<(), RegistryError> {
        let bytes = serde_json::to_vec(index).map_err(|source| RegistryError::Json {
            what: "index.json".into(),
            source,
        })?;
        Layout::write_atomic(&self.root.join("index.json"), &bytes)
    }

    fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), RegistryError> {
        let temp = temp_name(path);
        {
            let mut file = fs_err::File::create(&temp).map_err(RegistryError::io(&temp))?;
            file.write_all(bytes).map_err(RegistryError::io(&temp))?;
            file.sync_all().map_err(RegistryError::io(&temp))?;
        }
        fs_err::rename(&temp, path).map_err(RegistryError::io(path))
    }

    fn read_manifest_blob(&self, descriptor: &Descriptor) -> Result<Fetched, RegistryError> {
        let bytes = self.blob_bytes(descriptor, MANIFEST_LIMIT)?;
        let media_type = media_type_of(&bytes).unwrap_or_else(|| descriptor.media_type.clone());
        Ok(Fetched {
            bytes,
            media_type,
            digest: descriptor.digest.clone(),
        })
    }

    /// Is this index entry a signature, attestation or other artifact?
    fn is_artifact(descriptor: &Descriptor) -> bool {
        if descriptor.artifact_type.is_some() {
            return true;
        }
        let name = descriptor
            .annotations
            .get(REF_NAME)
            .map(String::as_str)
            .unwrap_or_default();
        let suffix = name.rsplit_once('.').map(|(_, suffix)| suffix);
        matches!(suffix, Some("sig" | "att")) || name.starts_with("sha256-")
    }
}

fn temp_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.drydock-partial-{}", std::process::id()))
}

impl Target for Layout {
    fn name(&self) -> String {
        self.root.display().to_string()
    }

    fn resolve(&self) -> Result<Fetched, RegistryError> {
        let index = self.index()?;
        let chosen = match &self.tag {
            Some(tag) => index
                .manifests
                .iter()
                .find(|d| d.annotations.get(REF_NAME) == Some(tag)),
            None => index.manifests.iter().find(|d| !Layout::is_artifact(d)),
        };
        let Some(descriptor) = chosen else {
            return Err(RegistryError::NotFound {
                reference: match &self.tag {
                    Some(tag) => format!("{}:{tag}", self.root.display()),
                    None => self.root.display().to_string(),
                },
            });
        };
        self.read_manifest_blob(descriptor)
    }

    fn manifest(&self, object: &str) -> Result<Option<Fetched>, RegistryError> {
        if let Ok(digest) = object.parse::<Digest>() {
            if !self.blob_path(&digest).is_file() {
                return Ok(None);
            }
            let media_type = self
                .index()?
                .manifests
                .into_iter()
                .find(|d| d.digest == digest)
                .map_or_else(|| OCI_MANIFEST.to_owned(), |d| d.media_type);
            return self
                .read_manifest_blob(&Descriptor::new(&media_type, digest, 0))
                .map(Some);
        }
        let index = self.index()?;
        match index
            .manifests
            .iter()
            .find(|d| d.annotations.get(REF_NAME).map(String::as_str) == Some(object))
        {
            Some(descriptor) => self.read_manifest_blob(descriptor).map(Some),
            None => Ok(None),
        }
    }

    fn open_blob(&self, descriptor: &Descriptor) -> Result<Box<dyn Read + Send>, RegistryError> {
        let path = self.blob_path(&descriptor.digest);
        let file = fs_err::File::open(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                RegistryError::NotFound {
                    reference: format!("blob {} in {}", descriptor.digest, self.root.display()),
                }
            } else {
                RegistryError::io(&path)(e)
            }
        })?;
        Ok(Box::new(file))
    }

    fn has_blob(&self, digest: &Digest) -> Result<bool, RegistryError> {
        Ok(self.blob_path(digest).is_file())
    }

    fn put_blob(
        &self,
        digest: &Digest,
        size: u64,
        _mount_from: Option<&(String, String)>,
        open: Opener<'_>,
    ) -> Result<(), RegistryError> {
        let path = self.blob_path(digest);
        if path.is_file() {
            return Ok(());
        }
        if let Some(parent) = path.parent() {
            fs_err::create_dir_all(parent).map_err(RegistryError::io(parent))?;
        }
        let temp = temp_name(&path);
        let result = (|| {
            let mut reader = VerifyingReader::new(open()?, digest.clone(), Some(size));
            let mut file = fs_err::File::create(&temp).map_err(RegistryError::io(&temp))?;
            std::io::copy(&mut reader, &mut file).map_err(|e| unwrap_io(e, digest))?;
            file.sync_all().map_err(RegistryError::io(&temp))?;
            Ok(())
        })();
        if let Err(error) = result {
            let _ = fs_err::remove_file(&temp);
            return Err(error);
        }
        fs_err::rename(&temp, &path).map_err(RegistryError::io(&path))
    }

    fn put_manifest(&self, manifest: &Fetched, tag: Option<&str>) -> Result<(), RegistryError> {
        let bytes = manifest.bytes.clone();
        self.put_blob(&manifest.digest, bytes.len() as u64, None, &move || {
            Ok(Box::new(std::io::Cursor::new(bytes.clone())))
        })?;
        let Some(tag) = tag else {
            return Ok(());
        };
        let _guard = self
            .index_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut index = self.index()?;
        index
            .manifests
            .retain(|d| d.annotations.get(REF_NAME).map(String::as_str) != Some(tag));
        let mut descriptor = manifest.descriptor();
        descriptor
            .annotations
            .insert(REF_NAME.to_owned(), tag.to_owned());
        index.manifests.push(descriptor);
        self.write_index(&index)
    }

    fn referrers(&self, subject: &Digest) -> Result<Vec<Descriptor>, RegistryError> {
        let mut found = Vec::new();
        for descriptor in self.index()?.manifests {
            if descriptor.media_type != OCI_MANIFEST || !Layout::is_artifact(&descriptor) {
                continue;
            }
            let fetched = self.read_manifest_blob(&descriptor)?;
            let Ok(manifest) = serde_json::from_slice::<Manifest>(&fetched.bytes) else {
                continue;
            };
            if manifest
                .subject
                .as_ref()
                .is_some_and(|s| &s.digest == subject)
            {
                found.push(descriptor);
            }
        }
        Ok(found)
    }

    fn put_referrer(
        &self,
        _subject: &Digest,
        manifest: &Fetched,
        entry: Descriptor,
    ) -> Result<(), RegistryError> {
        let bytes = manifest.bytes.clone();
        self.put_blob(&manifest.digest, bytes.len() as u64, None, &move || {
            Ok(Box::new(std::io::Cursor::new(bytes.clone())))
        })?;
        let _guard = self
            .index_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut index = self.index()?;
        if !index.manifests.iter().any(|d| d.digest == entry.digest) {
            index.manifests.push(entry);
        }
        if index.media_type.is_none() {
            index.media_type = Some(OCI_INDEX.to_owned());
        }
        self.write_index(&index)
    }
}
