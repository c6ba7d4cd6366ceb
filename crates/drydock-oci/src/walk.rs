//! The single pass: layers applied in order to a metadata tree, claimed file
//! content captured as it streams by, whiteouts applied as they are met.
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::ops::Bound;
use std::sync::Arc;

use drydock_core::{ImagePath, Layer};

use crate::error::LayerError;
use crate::parts::{self, Body, MAX_ROUNDS, Outcome, Parts, ReadSeek};

/// Links followed while resolving one path before it counts as a loop
/// (the kernel's MAXSYMLINKS).
const MAX_LINK_HOPS: usize = 40;

/// The consumer of a walk: says which files it wants and hears about every
/// layer. Implemented above this crate (drydock-catalog's dispatcher).
pub trait Visitor {
    /// The byte cap when the content of `path` is wanted, `None` otherwise.
    fn claim(&self, path: &ImagePath) -> Option<u64>;
    /// Exact paths wanted even when reached only through a symlinked
    /// directory (e.g. `lib/apk/db/installed` with `lib -> usr/lib`).
    fn exact_claims(&self) -> Vec<ImagePath>;
    /// The byte cap when a regular file that [`Visitor::claim`] did not
    /// want is wanted for its mode (executables: Go and Rust binaries).
    fn claim_by_mode(&self, _path: &ImagePath, _mode: u32) -> Option<u64> {
        None
    }
    /// Shrink the content of a claimed file as it is captured, keeping only
    /// what the claimant needs (an executable's embedded metadata, say).
    fn reduce(&self, _path: &ImagePath, bytes: Vec<u8>) -> Vec<u8> {
        bytes
    }
    /// Whether the claimant of `path` reads it in parts (a binary's headers
    /// and metadata sections) through [`Visitor::reduce_parts`] rather than
    /// whole: no byte cap then, and memory does not grow with the file.
    fn reads_parts(&self, _path: &ImagePath, _mode: u32) -> bool {
        false
    }
    /// The reduced content of a file read in parts: a pure function of
    /// `parts`, re-run whenever it asked for a range `parts` lacked.
    fn reduce_parts(&self, _path: &ImagePath, _parts: &Parts) -> Vec<u8> {
        Vec::new()
    }
    /// Called after each layer with the claimed paths it changed.
    fn layer_done(&mut self, view: &View<'_>, layer: &Layer, changed: &[ImagePath]);
}

/// What one entry of the image is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink(Box<[u8]>),
    /// A hard link to `target`, whose entry came from layer `target_layer`.
    HardLink {
        target: ImagePath,
        target_layer: usize,
    },
    Other,
}

/// Metadata of one entry, as the last layer that touched it left it.
#[derive(Clone, Debug)]
pub struct Entry {
    pub kind: EntryKind,
    pub mode: u32,
    /// Owner and group ids as the layer recorded them.
    pub uid: u64,
    pub gid: u64,
    pub size: u64,
    pub layer: usize,
    /// Whether the visitor claimed this entry when it streamed by.
    pub claimed: bool,
}

#[derive(Clone, Debug)]
struct Captured {
    bytes: Arc<[u8]>,
    layer: usize,
}

/// How reading a claimed path ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content<'a> {
    /// The content, the path it resolved to and the layer it came from.
    File {
        bytes: &'a [u8],
        resolved: ImagePath,
        layer: usize,
    },
    /// No such file.
    Absent,
    /// The path exists but its content cannot be had; the reason says why.
    Unreadable(String),
}

/// The image state during and after the walk.
#[derive(Default)]
pub struct Walk {
    entries: BTreeMap<Vec<u8>, Entry>,
    captured: HashMap<Vec<u8>, Captured>,
    /// Content of files captured by the fix-up pass, by (path, layer).
    late: HashMap<(Vec<u8>, usize), Arc<[u8]>>,
    /// Claimed paths whose content could not be kept (too large …).
    unreadable: HashMap<Vec<u8>, (usize, String)>,
    /// Symlink targets of claimed links, captured when they stream by later.
    link_targets: HashSet<Vec<u8>>,
    /// Files read in parts whose stream passed a range still needed: the
    /// layer, the parts so far and the passes made.
    pending: HashMap<Vec<u8>, (usize, Parts, usize)>,
    /// The most bytes of one file held at once (whole or in parts).
    file_peak: u64,
    layers: Vec<Layer>,
    changed: Vec<ImagePath>,
}

/// A read-only view of the walk, for visitors.
pub struct View<'w> {
    walk: &'w Walk,
}

/// A tar-like entry fed to [`Walk::apply`].
pub(crate) struct RawEntry<'a> {
    pub(crate) path: ImagePath,
    pub(crate) kind: EntryKind,
    pub(crate) mode: u32,
    pub(crate) uid: u64,
    pub(crate) gid: u64,
    pub(crate) size: u64,
    /// The content, for regular files; read only when claimed.
    pub(crate) content: Option<Input<'a>>,
}

/// Where a regular file's content comes from.
pub(crate) enum Input<'a> {
    /// A tar entry: forward only.
    Stream(&'a mut dyn Read),
    /// A host file (`dir:` sources): can seek.
    File(&'a mut dyn ReadSeek),
}

impl Input<'_> {
    fn reader(&mut self) -> &mut dyn Read {
        match self {
            Input::Stream(reader) => *reader,
            Input::File(file) => *file,
        }
    }
}

impl Walk {
    pub fn new() -> Walk {
        Walk::default()
    }

    pub fn view(&self) -> View<'_> {
        View { walk: self }
    }

    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// The most bytes of any one claimed file held at once while reading
    /// it: its size when read whole, a few headers and sections when read
    /// in parts.
    pub fn file_peak(&self) -> u64 {
        self.file_peak
    }

    pub(crate) fn begin_layer(&mut self, layer: Layer) {
        self.layers.push(layer);
        self.changed.clear();
    }

    fn current_layer(&self) -> usize {
        self.layers.len().saturating_sub(1)
    }

    pub(crate) fn end_layer(&mut self, visitor: &mut dyn Visitor) {
        let changed = std::mem::take(&mut self.changed);
        let mut changed: Vec<ImagePath> = changed;
        changed.sort();
        changed.dedup();
        if let Some(layer) = self.layers.last().cloned() {
            visitor.layer_done(&self.view(), &layer, &changed);
        }
    }

    fn wants(&self, visitor: &dyn Visitor, path: &ImagePath) -> Option<u64> {
        visitor.claim(path).or_else(|| {
            self.link_targets
                .contains(path.as_bytes())
                .then_some(u64::MAX)
        })
    }

    /// Apply one whiteout entry (`dir/.wh.name` or `dir/.wh..wh..opq`).
    /// Returns false when the entry is not a whiteout.
    fn whiteout(&mut self, path: &ImagePath) -> bool {
        let name = path.file_name();
        let Some(hidden) = name.strip_prefix(b".wh.") else {
            return false;
        };
        let dir = path.parent().unwrap_or_default();
        let layer = self.current_layer();
        if hidden == b".wh..opq" {
            // Opaque: everything below `dir` from lower layers goes.
            self.remove_below(dir.as_bytes(), layer, false);
        } else if hidden.starts_with(b".wh.") {
            // Other aufs metadata (`.wh..wh.plnk`, …): not part of the image.
        } else {
            let target = dir.join(hidden);
            self.remove_below(target.as_bytes(), layer, true);
        }
        true
    }

    /// Remove entries below `path` (and `path` itself when `inclusive`) that
    /// came from layers below `layer`.
    fn remove_below(&mut self, path: &[u8], layer: usize, inclusive: bool) {
        let mut doomed: Vec<Vec<u8>> = Vec::new();
        if inclusive && self.entries.get(path).is_some_and(|e| e.layer < layer) {
            doomed.push(path.to_vec());
        }
        let mut prefix = path.to_vec();
        if !prefix.is_empty() {
            prefix.push(b'/');
        }
        for (key, entry) in self
            .entries
            .range::<[u8], _>((Bound::Included(prefix.as_slice()), Bound::Unbounded))
        {
            if !key.starts_with(&prefix) {
                break;
            }
            if entry.layer < layer {
                doomed.push(key.clone());
            }
        }
        for key in doomed {
            self.forget(&key);
        }
    }

    fn forget(&mut self, key: &[u8]) {
        self.entries.remove(key);
        self.pending.remove(key);
        if (self.captured.remove(key).is_some() || self.unreadable.remove(key).is_some())
            && let Ok(path) = ImagePath::new(key)
        {
            self.changed.push(path);
        }
    }

    /// Apply one entry of the current layer.
    pub(crate) fn apply(
        &mut self,
        visitor: &dyn Visitor,
        entry: RawEntry<'_>,
    ) -> Result<(), LayerError> {
        let layer = self.current_layer();
        if self.whiteout(&entry.path) {
            return Ok(());
        }
        if entry.path.is_root() {
            return Ok(());
        }
        let key = entry.path.as_bytes().to_vec();
        self.pending.remove(&key);
        // A non-directory replaces whatever was below it; a directory over a
        // lower non-directory replaces it too.
        if let Some(old) = self.entries.get(&key) {
            let both_dirs = old.kind == EntryKind::Dir && entry.kind == EntryKind::Dir;
            if !both_dirs && old.layer < layer {
                self.remove_below(&key, layer, false);
            }
        }
        let claimed = self.wants(visitor, &entry.path).or_else(|| {
            (entry.kind == EntryKind::File)
                .then(|| visitor.claim_by_mode(&entry.path, entry.mode))
                .flatten()
        });
        let kind = match entry.kind {
            EntryKind::HardLink { target, .. } => {
                let target_layer = self
                    .entries
                    .get(target.as_bytes())
                    .map_or(layer, |e| e.layer);
                EntryKind::HardLink {
                    target,
                    target_layer,
                }
            }
            other => other,
        };
        let mut size = entry.size;
        let in_parts = claimed.is_some()
            && kind == EntryKind::File
            && visitor.reads_parts(&entry.path, entry.mode);
        match (&kind, claimed) {
            (EntryKind::File, Some(_)) if in_parts => {
                if let Some(mut input) = entry.content {
                    let mut parts = Parts::new(entry.size);
                    let mut body = match &mut input {
                        Input::Stream(reader) => Body::Stream {
                            reader: *reader,
                            position: 0,
                        },
                        Input::File(file) => Body::File(*file),
                    };
                    let outcome = parts::drive(&mut parts, &mut body, &|p| {
                        visitor.reduce_parts(&entry.path, p)
                    })
                    .map_err(|source| LayerError::Content {
                        entry: entry.path.to_display(),
                        source,
                    })?;
                    self.finish_parts(key.clone(), layer, parts, 1, outcome);
                }
                self.changed.push(entry.path.clone());
            }
            (EntryKind::File, Some(cap)) => {
                if entry.size > cap {
                    self.captured.remove(&key);
                    self.unreadable.insert(
                        key.clone(),
                        (
                            layer,
                            format!(
                                "file is {} bytes, more than the {cap}-byte limit",
                                entry.size
                            ),
                        ),
                    );
                } else if let Some(mut input) = entry.content {
                    let mut bytes =
                        Vec::with_capacity(usize::try_from(entry.size.min(1 << 20)).unwrap_or(0));
                    input
                        .reader()
                        .take(entry.size)
                        .read_to_end(&mut bytes)
                        .map_err(|source| LayerError::Content {
                            entry: entry.path.to_display(),
                            source,
                        })?;
                    size = bytes.len() as u64;
                    self.file_peak = self.file_peak.max(size);
                    let bytes = visitor.reduce(&entry.path, bytes);
                    self.unreadable.remove(&key);
                    self.captured.insert(
                        key.clone(),
                        Captured {
                            bytes: bytes.into(),
                            layer,
                        },
                    );
                }
                self.changed.push(entry.path.clone());
            }
            (
                EntryKind::HardLink {
                    target,
                    target_layer,
                },
                Some(_),
            ) => {
                match self
                    .captured
                    .get(target.as_bytes())
                    .filter(|c| c.layer == *target_layer)
                {
                    Some(found) => {
                        let found = found.clone();
                        size = found.bytes.len() as u64;
                        self.captured.insert(
                            key.clone(),
                            Captured {
                                bytes: found.bytes,
                                layer,
                            },
                        );
                    }
                    None => {
                        // Read later by the fix-up pass (see `missing`).
                        self.captured.remove(&key);
                    }
                }
                self.changed.push(entry.path.clone());
            }
            (EntryKind::Symlink(target), Some(_)) => {
                let dir = entry.path.parent().unwrap_or_default();
                let resolved = ImagePath::resolve_link(&dir, target);
                self.link_targets.insert(resolved.as_bytes().to_vec());
                self.captured.remove(&key);
                self.changed.push(entry.path.clone());
            }
            (_, _) => {
                if self.captured.remove(&key).is_some() {
                    self.changed.push(entry.path.clone());
                }
            }
        }
        // A captured symlink target may be read by a claimed link; tell the
        // visitor the link's content changed too.
        if claimed.is_none() && self.link_targets.contains(&key) {
            self.changed.push(entry.path.clone());
        }
        self.entries.insert(
            key,
            Entry {
                kind,
                mode: entry.mode,
                uid: entry.uid,
                gid: entry.gid,
                size,
                layer,
                claimed: claimed.is_some(),
            },
        );
        Ok(())
    }

    /// The (layer, path) pairs whose content a claimed path needs but the
    /// stream passed before anyone knew: targets of links that came first,
    /// claimed paths behind symlinked directories, hard links to unclaimed
    /// files.
    pub(crate) fn missing(&self, visitor: &dyn Visitor) -> BTreeMap<usize, HashSet<Vec<u8>>> {
        let mut wanted: Vec<ImagePath> = visitor.exact_claims();
        wanted.extend(
            self.entries
                .iter()
                .filter(|(_, e)| e.claimed)
                .filter_map(|(k, _)| ImagePath::new(k).ok()),
        );
        let mut missing: BTreeMap<usize, HashSet<Vec<u8>>> = BTreeMap::new();
        for path in wanted {
            let Ok(resolved) = self.resolve(&path) else {
                continue;
            };
            let Some(entry) = self.entries.get(resolved.as_bytes()) else {
                continue;
            };
            let (target, layer) = match &entry.kind {
                EntryKind::File => (resolved.as_bytes().to_vec(), entry.layer),
                EntryKind::HardLink {
                    target,
                    target_layer,
                } => {
                    if self
                        .captured
                        .get(resolved.as_bytes())
                        .is_some_and(|c| c.layer == entry.layer)
                    {
                        continue;
                    }
                    (target.as_bytes().to_vec(), *target_layer)
                }
                _ => continue,
            };
            let have = self.captured.get(&target).is_some_and(|c| c.layer == layer)
                || self.late.contains_key(&(target.clone(), layer))
                || self.unreadable.contains_key(resolved.as_bytes());
            if !have {
                missing.entry(layer).or_default().insert(target);
            }
        }
        missing.extend(self.pending_layers());
        missing
    }

    /// The layers holding files read in parts that another pass must finish.
    pub(crate) fn pending_layers(&self) -> BTreeMap<usize, HashSet<Vec<u8>>> {
        let mut layers: BTreeMap<usize, HashSet<Vec<u8>>> = BTreeMap::new();
        for (key, (layer, _, _)) in &self.pending {
            layers.entry(*layer).or_default().insert(key.clone());
        }
        layers
    }

    /// Record how reading a file in parts ended.
    fn finish_parts(
        &mut self,
        key: Vec<u8>,
        layer: usize,
        parts: Parts,
        rounds: usize,
        outcome: Outcome,
    ) {
        self.file_peak = self.file_peak.max(parts.peak());
        match outcome {
            Outcome::Done(bytes) => {
                self.unreadable.remove(&key);
                self.captured.insert(
                    key,
                    Captured {
                        bytes: bytes.into(),
                        layer,
                    },
                );
            }
            Outcome::Behind if rounds < MAX_ROUNDS => {
                self.captured.remove(&key);
                self.pending.insert(key, (layer, parts, rounds));
            }
            Outcome::Behind => {
                self.captured.remove(&key);
                self.unreadable.insert(
                    key,
                    (
                        layer,
                        format!("reading its metadata needs more than {MAX_ROUNDS} passes over the layer"),
                    ),
                );
            }
            Outcome::Unreadable(reason) => {
                self.captured.remove(&key);
                self.unreadable.insert(key, (layer, reason));
            }
        }
    }

    /// In a later pass over `layer`: go on reading a file in parts whose
    /// first pass was left behind. False when `path` is not such a file.
    pub(crate) fn continue_parts(
        &mut self,
        visitor: &dyn Visitor,
        path: &ImagePath,
        layer: usize,
        reader: &mut dyn Read,
    ) -> Result<bool, LayerError> {
        let key = path.as_bytes();
        if self.pending.get(key).is_none_or(|(l, _, _)| *l != layer) {
            return Ok(false);
        }
        let Some((layer, mut parts, rounds)) = self.pending.remove(key) else {
            return Ok(false);
        };
        let mut body = Body::Stream {
            reader,
            position: 0,
        };
        let outcome = parts::drive(&mut parts, &mut body, &|p| visitor.reduce_parts(path, p))
            .map_err(|source| LayerError::Content {
                entry: path.to_display(),
                source,
            })?;
        self.finish_parts(key.to_vec(), layer, parts, rounds + 1, outcome);
        Ok(true)
    }

    /// Files read in parts still pending after the last pass: unreadable.
    pub(crate) fn give_up_parts(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        for (key, (layer, parts, _)) in pending {
            self.finish_parts(key, layer, parts, MAX_ROUNDS, Outcome::Behind);
        }
    }

    /// Store content found by the fix-up pass.
    pub(crate) fn store_late(&mut self, path: Vec<u8>, layer: usize, bytes: Vec<u8>) {
        self.file_peak = self.file_peak.max(bytes.len() as u64);
        self.late.insert((path, layer), bytes.into());
    }

    /// Follow symlinks in every component of `path`, inside the root.
    pub fn resolve(&self, path: &ImagePath) -> Result<ImagePath, String> {
        let mut hops = 0usize;
        let mut pending: Vec<Vec<u8>> = path.components().rev().map(<[u8]>::to_vec).collect();
        let mut current = ImagePath::root();
        while let Some(component) = pending.pop() {
            if component == b".." {
                current = current.parent().unwrap_or_default();
                continue;
            }
            let next = current.join(&component);
            match self.entries.get(next.as_bytes()).map(|e| &e.kind) {
                Some(EntryKind::Symlink(target)) => {
                    hops += 1;
                    if hops > MAX_LINK_HOPS {
                        return Err(format!(
                            "too many levels of symbolic links resolving {path}"
                        ));
                    }
                    if target.first() == Some(&b'/') {
                        current = ImagePath::root();
                    }
                    for part in target.split(|&b| b == b'/').rev() {
                        match part {
                            b"" | b"." => {}
                            other => pending.push(other.to_vec()),
                        }
                    }
                }
                _ => current = next,
            }
        }
        Ok(current)
    }
}

impl View<'_> {
    /// The entry at `path` exactly (no link resolution).
    pub fn entry(&self, path: &ImagePath) -> Option<&Entry> {
        self.walk.entries.get(path.as_bytes())
    }

    /// Follow symlinks in every component of `path`, inside the root.
    pub fn resolve(&self, path: &ImagePath) -> Result<ImagePath, String> {
        self.walk.resolve(path)
    }

    /// Every entry of the final image state, in path order.
    pub fn entries(&self) -> impl Iterator<Item = (ImagePath, &Entry)> + '_ {
        self.walk
            .entries
            .iter()
            .filter_map(|(k, e)| ImagePath::new(k).ok().map(|path| (path, e)))
    }

    /// Paths of the entries the visitor claimed as they streamed by, in order.
    pub fn claimed_paths(&self) -> impl Iterator<Item = ImagePath> + '_ {
        self.walk
            .entries
            .iter()
            .filter(|(_, e)| e.claimed)
            .filter_map(|(k, _)| ImagePath::new(k).ok())
    }

    /// The layer description for an index.
    pub fn layer(&self, index: usize) -> Option<&Layer> {
        self.walk.layers.get(index)
    }

    /// Read a claimed path, following symlinks and hard links inside the root.
    pub fn read(&self, path: &ImagePath) -> Content<'_> {
        let walk = self.walk;
        let resolved = match walk.resolve(path) {
            Ok(resolved) => resolved,
            Err(reason) => return Content::Unreadable(reason),
        };
        let key = resolved.as_bytes();
        let Some(entry) = walk.entries.get(key) else {
            return Content::Absent;
        };
        if let Some((_, reason)) = walk.unreadable.get(key) {
            return Content::Unreadable(reason.clone());
        }
        let (target, layer) = match &entry.kind {
            EntryKind::File => (key.to_vec(), entry.layer),
            EntryKind::HardLink {
                target,
                target_layer,
            } => {
                if let Some(c) = walk.captured.get(key).filter(|c| c.layer == entry.layer) {
                    return Content::File {
                        bytes: &c.bytes,
                        resolved,
                        layer: c.layer,
                    };
                }
                (target.as_bytes().to_vec(), *target_layer)
            }
            EntryKind::Dir => return Content::Unreadable("is a directory".into()),
            EntryKind::Symlink(_) | EntryKind::Other => {
                return Content::Unreadable("is not a regular file".into());
            }
        };
        if let Some(c) = walk.captured.get(&target).filter(|c| c.layer == layer) {
            return Content::File {
                bytes: &c.bytes,
                resolved,
                layer,
            };
        }
        if let Some(bytes) = walk.late.get(&(target, layer)) {
            return Content::File {
                bytes,
                resolved,
                layer,
            };
        }
        Content::Unreadable("content was not read (target of a link not found in its layer)".into())
    }
}

/// Walk a sequence of layer blobs held in memory (tar, gzip or zstd), as
/// one image: for tests and fuzzing. No digests are checked.
pub fn walk_layers(layers: &[&[u8]], visitor: &mut dyn Visitor) -> Result<Walk, LayerError> {
    let mut walk = Walk::new();
    for (index, bytes) in layers.iter().enumerate() {
        walk.begin_layer(Layer {
            index,
            digest: None,
            diff_id: None,
        });
        let raw: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(bytes.to_vec()));
        crate::layer::read_layer(
            raw,
            &crate::layer::Expect::default(),
            &mut walk,
            &crate::layer::Mode::Apply(&*visitor),
        )?;
        walk.end_layer(visitor);
    }
    fix_up(&mut walk, &*visitor, |walk, index, paths| {
        let Some(bytes) = layers.get(index) else {
            return Ok(());
        };
        let raw: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(bytes.to_vec()));
        crate::layer::read_layer(
            raw,
            &crate::layer::Expect::default(),
            walk,
            &crate::layer::Mode::Capture(paths, index, visitor),
        )
    })?;
    Ok(walk)
}

/// The fix-up passes after the walk: read again the layers holding content
/// that claimed paths need but the stream passed before anyone knew (link
/// targets, ranges of files read in parts), at most [`MAX_ROUNDS`] times.
pub(crate) fn fix_up<E>(
    walk: &mut Walk,
    visitor: &dyn Visitor,
    mut read: impl FnMut(&mut Walk, usize, &HashSet<Vec<u8>>) -> Result<(), E>,
) -> Result<(), E> {
    let mut missing = walk.missing(visitor);
    for _ in 1..MAX_ROUNDS {
        if missing.is_empty() {
            break;
        }
        for (index, paths) in &missing {
            read(walk, *index, paths)?;
        }
        missing = walk.pending_layers();
    }
    walk.give_up_parts();
    Ok(())
}
