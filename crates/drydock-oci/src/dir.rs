//! `dir:` sources: an unpacked root filesystem walked as one layer. Links
//! are recorded, never followed on the host, and resolved inside the root.
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use drydock_core::{ImagePath, Layer};

use crate::error::LayerError;
use crate::walk::{EntryKind, Input, RawEntry, Visitor, Walk};

pub(crate) fn walk_dir(
    root: &Path,
    walk: &mut Walk,
    visitor: &mut dyn Visitor,
) -> Result<(), LayerError> {
    walk.begin_layer(Layer {
        index: 0,
        digest: None,
        diff_id: None,
    });
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| LayerError::DirIo { path, source }
    };
    let mut stack = vec![(root.to_path_buf(), ImagePath::root())];
    while let Some((host_dir, image_dir)) = stack.pop() {
        let mut children: Vec<_> = fs_err::read_dir(&host_dir)
            .map_err(io(&host_dir))?
            .collect::<Result<_, _>>()
            .map_err(io(&host_dir))?;
        children.sort_by_key(fs_err::DirEntry::file_name);
        for child in children {
            let host_path = child.path();
            let image_path = image_dir.join(child.file_name().as_bytes());
            let meta = fs_err::symlink_metadata(&host_path).map_err(io(&host_path))?;
            let owner = (u64::from(meta.uid()), u64::from(meta.gid()));
            let file_type = meta.file_type();
            let mode = meta.permissions().mode() & 0o7777;
            if file_type.is_dir() {
                walk.apply(
                    &*visitor,
                    RawEntry {
                        path: image_path.clone(),
                        kind: EntryKind::Dir,
                        mode,
                        uid: owner.0,
                        gid: owner.1,
                        size: 0,
                        content: None,
                    },
                )?;
                stack.push((host_path, image_path));
            } else if file_type.is_symlink() {
                let target = fs_err::read_link(&host_path).map_err(io(&host_path))?;
                walk.apply(
                    &*visitor,
                    RawEntry {
                        path: image_path,
                        kind: EntryKind::Symlink(target.as_os_str().as_bytes().into()),
                        mode,
                        uid: owner.0,
                        gid: owner.1,
                        size: 0,
                        content: None,
                    },
                )?;
            } else if file_type.is_file() {
                // One open per claimed file: read whole, or in parts by seeking.
                let claimed = visitor.claim(&image_path).is_some()
                    || visitor.claim_by_mode(&image_path, mode).is_some();
                let mut file = if claimed {
                    Some(fs_err::File::open(&host_path).map_err(io(&host_path))?)
                } else {
                    None
                };
                walk.apply(
                    &*visitor,
                    RawEntry {
                        path: image_path,
                        kind: EntryKind::File,
                        mode,
                        uid: owner.0,
                        gid: owner.1,
                        size: meta.len(),
                        content: file.as_mut().map(|f| Input::File(f)),
                    },
                )?;
            } else {
                walk.apply(
                    &*visitor,
                    RawEntry {
                        path: image_path,
                        kind: EntryKind::Other,
                        mode,
                        uid: owner.0,
                        gid: owner.1,
                        size: 0,
                        content: None,
                    },
                )?;
            }
        }
    }
    walk.end_layer(visitor);
    // Claimed paths reached through links whose targets were walked first.
    let missing = walk.missing(&*visitor);
    for paths in missing.into_values() {
        for key in paths {
            let Ok(path) = ImagePath::new(&key) else {
                continue;
            };
            let host = root.join(std::ffi::OsStr::from_bytes(path.as_bytes()));
            // Only regular files, never through a host symlink.
            let Ok(meta) = fs_err::symlink_metadata(&host) else {
                continue;
            };
            if meta.file_type().is_file() {
                let bytes = fs_err::read(&host).map_err(io(&host))?;
                walk.store_late(key, 0, bytes);
            }
        }
    }
    Ok(())
}

/// A single file as a one-entry root: the file sits at the root under its
/// own name, so claims like `**/package-lock.json` see it.
pub(crate) fn walk_file(
    path: &Path,
    walk: &mut Walk,
    visitor: &mut dyn Visitor,
) -> Result<(), LayerError> {
    let io = |source| LayerError::DirIo {
        path: path.to_path_buf(),
        source,
    };
    walk.begin_layer(Layer {
        index: 0,
        digest: None,
        diff_id: None,
    });
    let name = path
        .file_name()
        .map(|n| n.as_bytes().to_vec())
        .unwrap_or_default();
    let image_path = ImagePath::root().join(&name);
    let meta = fs_err::metadata(path).map_err(io)?;
    let owner = (u64::from(meta.uid()), u64::from(meta.gid()));
    let mut file = fs_err::File::open(path).map_err(io)?;
    walk.apply(
        &*visitor,
        RawEntry {
            path: image_path,
            kind: EntryKind::File,
            mode: meta.permissions().mode() & 0o7777,
            uid: owner.0,
            gid: owner.1,
            size: meta.len(),
            content: Some(Input::File(&mut file)),
        },
    )?;
    walk.end_layer(visitor);
    Ok(())
}
