//! Where images are read from and written to: a registry repository or an
//! OCI layout on disk, behind one trait so copy, sign and verify work on both.
use std::io::Read;

use drydock_core::Digest;

use crate::error::RegistryError;
use crate::remote::{Fetched, Repository};
use crate::spec::Descriptor;

/// Opens a blob again for each attempt of an upload.
pub type Opener<'a> = &'a (dyn Fn() -> Result<Box<dyn Read + Send>, RegistryError> + Sync);

pub trait Target: Send + Sync {
    /// `registry/repository` or the layout's path, for messages and signatures.
    fn name(&self) -> String;
    /// The manifest (or index) the reference names.
    fn resolve(&self) -> Result<Fetched, RegistryError>;
    /// A manifest by tag or digest; `None` when absent.
    fn manifest(&self, object: &str) -> Result<Option<Fetched>, RegistryError>;
    /// A blob's bytes as a stream (digest checking is the reader's job).
    fn open_blob(&self, descriptor: &Descriptor) -> Result<Box<dyn Read + Send>, RegistryError>;
    fn has_blob(&self, digest: &Digest) -> Result<bool, RegistryError>;
    /// Store a blob (verified against `digest` before it counts as stored);
    /// `mount_from` (registry, repository) allows a cross-repository mount.
    fn put_blob(
        &self,
        digest: &Digest,
        size: u64,
        mount_from: Option<&(String, String)>,
        open: Opener<'_>,
    ) -> Result<(), RegistryError>;
    /// Store a manifest, under `tag` when given.
    fn put_manifest(&self, manifest: &Fetched, tag: Option<&str>) -> Result<(), RegistryError>;
    /// Manifests whose `subject` is `subject`.
    fn referrers(&self, subject: &Digest) -> Result<Vec<Descriptor>, RegistryError>;
    /// Store `manifest` (with a `subject`) and list it as a referrer of `subject`.
    fn put_referrer(
        &self,
        subject: &Digest,
        manifest: &Fetched,
        entry: Descriptor,
    ) -> Result<(), RegistryError>;
    /// The repository part of the name, for cross-repository mounts.
    fn mount_source(&self) -> Option<(String, String)> {
        None
    }

    /// A small blob, whole and digest-checked.
    fn blob_bytes(&self, descriptor: &Descriptor, limit: u64) -> Result<Vec<u8>, RegistryError> {
        let mut bytes = Vec::new();
        self.open_blob(descriptor)?
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| crate::remote::unwrap_io(e, &descriptor.digest))?;
        if bytes.len() as u64 > limit {
            return Err(RegistryError::TooLarge {
                what: format!("blob {}", descriptor.digest),
                limit,
            });
        }
        crate::client::verify("blob", &descriptor.digest, &bytes)?;
        Ok(bytes)
    }
}

impl Target for Repository {
    fn name(&self) -> String {
        self.reference.name()
    }

    fn resolve(&self) -> Result<Fetched, RegistryError> {
        Repository::resolve(self)
    }

    fn manifest(&self, object: &str) -> Result<Option<Fetched>, RegistryError> {
        Repository::manifest(self, object)
    }

    fn open_blob(&self, descriptor: &Descriptor) -> Result<Box<dyn Read + Send>, RegistryError> {
        Ok(Box::new(self.blob(
            &descriptor.digest,
            Some(descriptor.size).filter(|s| *s > 0),
        )))
    }

    fn has_blob(&self, digest: &Digest) -> Result<bool, RegistryError> {
        Repository::has_blob(self, digest)
    }

    fn put_blob(
        &self,
        digest: &Digest,
        size: u64,
        mount_from: Option<&(String, String)>,
        open: Opener<'_>,
    ) -> Result<(), RegistryError> {
        let from = mount_from
            .filter(|(registry, _)| *registry == self.reference.registry)
            .map(|(_, repository)| repository.as_str());
        self.push_blob(digest, size, from, open)
    }

    fn put_manifest(&self, manifest: &Fetched, tag: Option<&str>) -> Result<(), RegistryError> {
        let object = tag.map_or_else(|| manifest.digest.to_string(), str::to_owned);
        Repository::put_manifest(self, &object, &manifest.media_type, &manifest.bytes)?;
        Ok(())
    }

    fn referrers(&self, subject: &Digest) -> Result<Vec<Descriptor>, RegistryError> {
        Repository::referrers(self, subject)
    }

    fn put_referrer(
        &self,
        subject: &Digest,
        manifest: &Fetched,
        entry: Descriptor,
    ) -> Result<(), RegistryError> {
        let indexed = self.put_manifest_with_subject(
            &manifest.digest.to_string(),
            &manifest.media_type,
            &manifest.bytes,
            subject,
        )?;
        if !indexed {
            self.add_to_fallback_index(subject, entry)?;
        }
        Ok(())
    }

    fn mount_source(&self) -> Option<(String, String)> {
        Some((
            self.reference.registry.clone(),
            self.reference.repository.clone(),
        ))
    }
}
