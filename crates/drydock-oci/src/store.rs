//! Where blobs live: a directory (OCI layout) or a tar archive (OCI archive,
//! docker archive), read in place without unpacking.
use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use drydock_core::ImagePath;

use crate::error::OciError;

/// Where an image's files come from: `index.json` and `blobs/<algorithm>/<hex>`.
pub trait Store: Send + Sync {
    /// Open the file `name` (a path inside the layout or archive).
    fn open(&self, name: &str) -> Result<Box<dyn Read + Send>, OciError>;
    fn exists(&self, name: &str) -> bool;
    /// The size of `name` in bytes, when known.
    fn size(&self, name: &str) -> Option<u64>;

    fn read_to_vec(&self, name: &str, limit: u64) -> Result<Vec<u8>, OciError> {
        let mut bytes = Vec::new();
        self.open(name)?
            .take(limit)
            .read_to_end(&mut bytes)
            .map_err(|source| OciError::Io {
                path: PathBuf::from(name),
                source,
            })?;
        Ok(bytes)
    }
}

/// Normalise a name from a manifest; `..` and absolute names are refused.
fn clean(name: &str) -> Option<String> {
    let path = ImagePath::from_tar(name.as_bytes()).ok()?;
    String::from_utf8(path.as_bytes().to_vec()).ok()
}

pub(crate) struct DirStore {
    root: PathBuf,
}

impl DirStore {
    pub(crate) fn new(root: &Path) -> DirStore {
        DirStore {
            root: root.to_path_buf(),
        }
    }
}

impl Store for DirStore {
    fn open(&self, name: &str) -> Result<Box<dyn Read + Send>, OciError> {
        let Some(clean) = clean(name) else {
            return Err(OciError::NotAnImage {
                path: self.root.clone(),
                reason: format!("blob path `{name}` leaves the layout"),
            });
        };
        let path = self.root.join(clean);
        match fs_err::File::open(&path) {
            Ok(file) => Ok(Box::new(file.into_parts().0)),
            Err(source) if source.kind() == std::io::ErrorKind::NotFound => {
                Err(OciError::NotFound(path))
            }
            Err(source) => Err(OciError::Io { path, source }),
        }
    }

    fn exists(&self, name: &str) -> bool {
        clean(name).is_some_and(|c| self.root.join(c).is_file())
    }

    fn size(&self, name: &str) -> Option<u64> {
        let clean = clean(name)?;
        fs_err::metadata(self.root.join(clean))
            .ok()
            .map(|m| m.len())
    }
}

/// A tar archive indexed once: member name → (offset, size).
pub(crate) struct TarStore {
    path: PathBuf,
    members: HashMap<String, (u64, u64)>,
}

impl TarStore {
    pub(crate) fn open(path: &Path) -> Result<TarStore, OciError> {
        let io = |source| OciError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = fs_err::File::open(path).map_err(io)?;
        let mut archive = tar::Archive::new(std::io::BufReader::with_capacity(1 << 16, file));
        let mut members = HashMap::new();
        let not_tar = |source: std::io::Error| OciError::NotAnImage {
            path: path.to_path_buf(),
            reason: format!("not a readable tar archive ({source})"),
        };
        for entry in archive.entries().map_err(not_tar)? {
            let entry = entry.map_err(not_tar)?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            if let Some(name) = clean(&name) {
                members.insert(name, (entry.raw_file_position(), entry.size()));
            }
        }
        Ok(TarStore {
            path: path.to_path_buf(),
            members,
        })
    }

    pub(crate) fn has(&self, name: &str) -> bool {
        self.members.contains_key(name)
    }
}

impl Store for TarStore {
    fn open(&self, name: &str) -> Result<Box<dyn Read + Send>, OciError> {
        let Some(&(offset, size)) = clean(name).and_then(|c| self.members.get(&c)) else {
            return Err(OciError::NotFound(self.path.join(name)));
        };
        let io = |source| OciError::Io {
            path: self.path.clone(),
            source,
        };
        let mut file = fs_err::File::open(&self.path).map_err(io)?.into_parts().0;
        file.seek(SeekFrom::Start(offset)).map_err(io)?;
        Ok(Box::new(file.take(size)))
    }

    fn exists(&self, name: &str) -> bool {
        clean(name).is_some_and(|c| self.members.contains_key(&c))
    }

    fn size(&self, name: &str) -> Option<u64> {
        clean(name)
            .and_then(|c| self.members.get(&c))
            .map(|&(_, size)| size)
    }
}
