//! A registry image as a [`drydock_oci::Store`]: the walk streams layer
//! bodies straight from HTTP (resumed on drops, digest-checked by the walk),
//! nothing is written to disk.
use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use drydock_core::Digest;
use drydock_oci::{OciError, Store};

use crate::error::RegistryError;
use crate::remote::{Fetched, Repository};
use crate::spec::{Descriptor, Index, REF_NAME};

pub struct RegistryStore {
    repository: Repository,
    root: Fetched,
    /// Manifests known by digest (the root, children of indexes served).
    manifests: Mutex<HashMap<Digest, Option<Vec<u8>>>>,
}

impl RegistryStore {
    /// Resolve the reference and present it as a one-image layout.
    pub fn open(repository: Repository) -> Result<RegistryStore, RegistryError> {
        let root = repository.resolve()?;
        let mut manifests = HashMap::new();
        manifests.insert(root.digest.clone(), Some(root.bytes.clone()));
        Ok(RegistryStore {
            repository,
            root,
            manifests: Mutex::new(manifests),
        })
    }

    pub fn root(&self) -> &Fetched {
        &self.root
    }

    fn error(&self, what: &str, source: RegistryError) -> OciError {
        OciError::Io {
            path: PathBuf::from(format!(
                "registry:{}@{what}",
                self.repository.reference.name()
            )),
            source: std::io::Error::other(source),
        }
    }

    fn synthetic_index(&self) -> Vec<u8> {
        let mut descriptor = self.root.descriptor();
        if let Some(tag) = &self.repository.reference.tag {
            descriptor
                .annotations
                .insert(REF_NAME.to_owned(), tag.clone());
        }
        let mut index = Index::empty();
        index.manifests.push(descriptor);
        serde_json::to_vec(&index).unwrap_or_default()
    }

    /// Note the children of an index so they are fetched as manifests.
    fn learn(&self, bytes: &[u8]) {
        if let Ok(index) = serde_json::from_slice::<Index>(bytes) {
            let mut known = self
                .manifests
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            for Descriptor { digest, .. } in index.manifests {
                known.entry(digest).or_insert(None);
            }
        }
    }
}

fn digest_of(name: &str) -> Option<Digest> {
    let rest = name.strip_prefix("blobs/")?;
    let (algorithm, hex) = rest.split_once('/')?;
    Digest::from_parts(algorithm, hex).ok()
}

impl Store for RegistryStore {
    fn open(&self, name: &str) -> Result<Box<dyn Read + Send>, OciError> {
        if name == "index.json" {
            return Ok(Box::new(std::io::Cursor::new(self.synthetic_index())));
        }
        let Some(digest) = digest_of(name) else {
            return Err(OciError::NotFound(PathBuf::from(name)));
        };
        let known = self
            .manifests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&digest)
            .cloned();
        match known {
            Some(Some(bytes)) => {
                self.learn(&bytes);
                Ok(Box::new(std::io::Cursor::new(bytes)))
            }
            Some(None) => {
                let fetched = self
                    .repository
                    .manifest(&digest.to_string())
                    .map_err(|e| self.error(&digest.to_string(), e))?
                    .ok_or_else(|| OciError::MissingBlob(digest.clone()))?;
                self.learn(&fetched.bytes);
                self.manifests
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(digest, Some(fetched.bytes.clone()));
                Ok(Box::new(std::io::Cursor::new(fetched.bytes)))
            }
            None => Ok(Box::new(self.repository.blob(&digest, None))),
        }
    }

    fn exists(&self, name: &str) -> bool {
        name == "index.json" || digest_of(name).is_some()
    }

    fn size(&self, _name: &str) -> Option<u64> {
        None
    }
}
