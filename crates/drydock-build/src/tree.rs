//! The image filesystem in memory, and its reproducible tar.
use std::collections::BTreeMap;
use std::io::Read;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    Directory,
    File(Vec<u8>),
    Symlink(String),
    /// A hard link to another path of the tree (relative, no leading `/`).
    Hardlink(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub kind: Kind,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    #[error("entry `{path}` escapes the image root")]
    Escape { path: String },
    #[error("entry `{path}`: unsupported tar entry type")]
    EntryType { path: String },
    #[error("cannot read the tar")]
    Io(#[source] std::io::Error),
}

/// Paths are relative (`usr/bin/python3`), normalized, sorted byte-wise.
#[derive(Clone, Debug, Default)]
pub struct Tree {
    nodes: BTreeMap<String, Node>,
}

/// `./usr//bin/` → `usr/bin`; `None` for paths with `..` (or the root itself).
pub fn normalize(path: &str) -> Option<String> {
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            part => parts.push(part),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

impl Tree {
    pub fn nodes(&self) -> &BTreeMap<String, Node> {
        &self.nodes
    }

    pub fn get(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    /// Insert, creating missing parent directories (0755, root).
    pub fn insert(&mut self, path: String, node: Node) {
        let mut parent = path.as_str();
        while let Some((head, _)) = parent.rsplit_once('/') {
            self.nodes.entry(head.to_owned()).or_insert(Node {
                kind: Kind::Directory,
                mode: 0o755,
                uid: 0,
                gid: 0,
            });
            parent = head;
        }
        match (self.nodes.get(&path), &node.kind) {
            // A package's directory entry does not replace an existing one's metadata
            // (dpkg keeps the first); files replace files.
            (Some(existing), Kind::Directory) if existing.kind == Kind::Directory => {}
            _ => {
                self.nodes.insert(path, node);
            }
        }
    }

    pub fn add_file(&mut self, path: &str, content: Vec<u8>, mode: u32, uid: u32, gid: u32) {
        if let Some(path) = normalize(path) {
            self.insert(
                path,
                Node {
                    kind: Kind::File(content),
                    mode,
                    uid,
                    gid,
                },
            );
        }
    }

    pub fn add_directory(&mut self, path: &str, mode: u32, uid: u32, gid: u32) {
        if let Some(path) = normalize(path) {
            // Explicit directories from the spec override package metadata.
            self.nodes.remove(&path);
            self.insert(
                path,
                Node {
                    kind: Kind::Directory,
                    mode,
                    uid,
                    gid,
                },
            );
        }
    }

    /// Unpack a package's data tarball; returns the paths it shipped.
    pub fn unpack(&mut self, data_tar: &[u8]) -> Result<Vec<String>, TreeError> {
        let mut archive = tar::Archive::new(data_tar);
        let mut shipped = Vec::new();
        for entry in archive.entries().map_err(TreeError::Io)? {
            let mut entry = entry.map_err(TreeError::Io)?;
            let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let Some(path) = normalize(&raw) else {
                if raw.split('/').any(|p| p == "..") {
                    return Err(TreeError::Escape { path: raw });
                }
                continue; // `./` itself
            };
            let header = entry.header();
            let mode = header.mode().map_err(TreeError::Io)? & 0o7777;
            let uid = header.uid().map_err(TreeError::Io)? as u32;
            let gid = header.gid().map_err(TreeError::Io)? as u32;
            let link = || {
                entry
                    .link_name_bytes()
                    .map(|l| String::from_utf8_lossy(&l).into_owned())
                    .unwrap_or_default()
            };
            let kind = match header.entry_type() {
                tar::EntryType::Directory => Kind::Directory,
                tar::EntryType::Symlink => Kind::Symlink(link()),
                tar::EntryType::Link => {
                    let target = link();
                    Kind::Hardlink(normalize(&target).ok_or(TreeError::Escape { path: target })?)
                }
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    let mut content = Vec::new();
                    entry.read_to_end(&mut content).map_err(TreeError::Io)?;
                    Kind::File(content)
                }
                _ => return Err(TreeError::EntryType { path: raw }),
            };
            shipped.push(path.clone());
            self.insert(
                path,
                Node {
                    kind,
                    mode,
                    uid,
                    gid,
                },
            );
        }
        Ok(shipped)
    }

    /// The reproducible tar: sorted entries, `mtime` for every entry, numeric
    /// ownership only, no user/group names, GNU long names, no pax headers.
    pub fn to_tar(&self, mtime: u64) -> std::io::Result<Vec<u8>> {
        let mut builder = tar::Builder::new(Vec::new());
        builder.mode(tar::HeaderMode::Deterministic);
        for (path, node) in &self.nodes {
            let mut header = tar::Header::new_gnu();
            header.set_mtime(mtime);
            header.set_size(0);
            append_node(&mut builder, &mut header, path, node)?;
        }
        builder.into_inner()
    }
}

/// Appends `node` at `path`: its mode, owner, type and content over
/// `header`'s other fields (mtime, size 0 for all but files).
pub(crate) fn append_node<W: std::io::Write>(
    builder: &mut tar::Builder<W>,
    header: &mut tar::Header,
    path: &str,
    node: &Node,
) -> std::io::Result<()> {
    header.set_mode(node.mode);
    header.set_uid(u64::from(node.uid));
    header.set_gid(u64::from(node.gid));
    match &node.kind {
        Kind::Directory => {
            header.set_entry_type(tar::EntryType::Directory);
            builder.append_data(header, format!("{path}/"), std::io::empty())
        }
        Kind::File(content) => {
            header.set_entry_type(tar::EntryType::Regular);
            header.set_size(content.len() as u64);
            builder.append_data(header, path, content.as_slice())
        }
        Kind::Symlink(target) => {
            header.set_entry_type(tar::EntryType::Symlink);
            builder.append_link(header, path, target)
        }
        Kind::Hardlink(target) => {
            header.set_entry_type(tar::EntryType::Link);
            builder.append_link(header, path, target)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_paths() {
        assert_eq!(normalize("./usr//bin/").as_deref(), Some("usr/bin"));
        assert_eq!(normalize("./"), None);
        assert_eq!(normalize("a/../../etc"), None);
    }

    #[test]
    fn tar_is_sorted_with_parents_and_fixed_times() {
        let mut tree = Tree::default();
        tree.add_file("/usr/bin/b", b"b".to_vec(), 0o755, 0, 0);
        tree.add_file("/etc/a", b"a".to_vec(), 0o644, 0, 0);
        tree.add_directory("/tmp", 0o1777, 0, 0);
        let tar = tree.to_tar(1_700_000_000).unwrap();
        let mut archive = tar::Archive::new(tar.as_slice());
        let entries: Vec<(String, u64, u32)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.path().unwrap().to_string_lossy().into_owned(),
                    e.header().mtime().unwrap(),
                    e.header().mode().unwrap(),
                )
            })
            .collect();
        let paths: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(
            paths,
            ["etc/", "etc/a", "tmp/", "usr/", "usr/bin/", "usr/bin/b"]
        );
        assert!(entries.iter().all(|e| e.1 == 1_700_000_000));
        assert_eq!(entries[2].2, 0o1777);
        assert_eq!(tar, tree.to_tar(1_700_000_000).unwrap());
    }
}
