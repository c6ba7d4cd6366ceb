//! The dispatcher: every cataloger's claims compiled into one matcher (one
//! lookup per tar entry), catalogers re-run after each layer that changed
//! their files, and each package attributed to the layer that introduced it.
use std::collections::{HashMap, HashSet};

use drydock_core::{Distro, ImagePath, Layer, Package, PackageKind, Problem, Relationship};
use drydock_oci::{Content, OciError, Parts, Progress, Source, View, Visitor};
use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};

use crate::{Cataloger, Context, FileRef, Files, Found};

/// Owner index used for the distro detector's claims.
const DISTRO: usize = usize::MAX;
const DISTRO_CAP: u64 = 1 << 20;

/// The package identity used for layer attribution: stable across layers
/// even when the distro (and so the purl) changes.
type Key = (PackageKind, String, String, Option<String>);

/// The result of cataloging a source.
#[derive(Debug, Default)]
pub struct Catalog {
    pub distro: Option<Distro>,
    pub packages: Vec<Package>,
    pub relationships: Vec<Relationship>,
    pub problems: Vec<Problem>,
}

pub struct Dispatcher {
    catalogers: Vec<Box<dyn Cataloger>>,
    exact: HashMap<ImagePath, Vec<(usize, u64)>>,
    globs: GlobSet,
    glob_owners: Vec<(usize, u64)>,
    /// Catalogers that claim executables, with caps.
    executable_owners: Vec<(usize, u64)>,
    context: Context,
    /// Per cataloger: package key → the layer that introduced it.
    introduced: Vec<HashMap<Key, Layer>>,
}

fn compile(pattern: &str) -> Option<Glob> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .ok()
}

impl Dispatcher {
    pub fn new(catalogers: Vec<Box<dyn Cataloger>>) -> Dispatcher {
        let mut exact: HashMap<ImagePath, Vec<(usize, u64)>> = HashMap::new();
        let mut builder = GlobSetBuilder::new();
        let mut glob_owners = Vec::new();
        let mut executable_owners = Vec::new();
        for path in crate::distro::CLAIMS {
            if let Ok(path) = ImagePath::new(path) {
                exact.entry(path).or_default().push((DISTRO, DISTRO_CAP));
            }
        }
        for (owner, cataloger) in catalogers.iter().enumerate() {
            let claims = cataloger.claims();
            if claims.executables {
                executable_owners.push((owner, claims.max_bytes));
            }
            for path in &claims.paths {
                if let Ok(path) = ImagePath::new(path) {
                    exact
                        .entry(path)
                        .or_default()
                        .push((owner, claims.max_bytes));
                }
            }
            for pattern in &claims.globs {
                // Built-in patterns are fixed strings; a bad one is a bug caught by tests.
                if let Some(glob) = compile(pattern) {
                    builder.add(glob);
                    glob_owners.push((owner, claims.max_bytes));
                }
            }
        }
        let globs = builder.build().unwrap_or_else(|_| GlobSet::empty());
        let introduced = catalogers.iter().map(|_| HashMap::new()).collect();
        Dispatcher {
            catalogers,
            exact,
            globs,
            glob_owners,
            executable_owners,
            context: Context::default(),
            introduced,
        }
    }

    /// The catalogers (and the distro detector) that claim `path`, with caps.
    fn owners(&self, path: &ImagePath) -> Vec<(usize, u64)> {
        let mut owners: Vec<(usize, u64)> = self.exact.get(path).cloned().unwrap_or_default();
        if !self.globs.is_empty() {
            let candidate =
                std::path::Path::new(std::ffi::OsStr::from_bytes_compat(path.as_bytes()));
            for index in self.globs.matches(candidate) {
                if let Some(owner) = self.glob_owners.get(index) {
                    owners.push(*owner);
                }
            }
        }
        owners
    }

    /// The cataloger reading an executable in parts: its sole claimant
    /// (claimed by mode, not by path) when it reads parts.
    fn parts_reader(&self, path: &ImagePath, mode: u32) -> Option<&dyn Cataloger> {
        if !is_executable(mode) || !self.owners(path).is_empty() {
            return None;
        }
        match self.executable_owners.as_slice() {
            [(owner, _)] if *owner != DISTRO => self
                .catalogers
                .get(*owner)
                .map(AsRef::as_ref)
                .filter(|c| c.reads_parts()),
            _ => None,
        }
    }

    /// Owners by path, else by mode (executables).
    fn owners_with_mode(&self, path: &ImagePath, mode: Option<u32>) -> Vec<(usize, u64)> {
        let owners = self.owners(path);
        if owners.is_empty() && mode.is_some_and(is_executable) {
            return self.executable_owners.clone();
        }
        owners
    }

    /// Claimed paths in the view, by owner: one claim lookup per path.
    fn claimed_by_owner(&self, view: &View<'_>) -> HashMap<usize, Vec<ImagePath>> {
        let mut by_owner: HashMap<usize, Vec<ImagePath>> = HashMap::new();
        for path in view.claimed_paths() {
            // A directory whose name matches a glob (`*.egg-info`) is not a claimed file.
            if view
                .entry(&path)
                .is_some_and(|e| e.kind == drydock_oci::EntryKind::Dir)
            {
                continue;
            }
            let mode = view
                .entry(&path)
                .filter(|e| e.kind == drydock_oci::EntryKind::File)
                .map(|e| e.mode);
            for (owner, _) in self.owners_with_mode(&path, mode) {
                by_owner.entry(owner).or_default().push(path.clone());
            }
        }
        by_owner
    }

    /// The files of one owner as the view holds them now.
    fn files<'v>(
        &self,
        owner: usize,
        view: &'v View<'_>,
        claimed: &HashMap<usize, Vec<ImagePath>>,
    ) -> Files<'v> {
        let mut paths: Vec<ImagePath> = claimed.get(&owner).cloned().unwrap_or_default();
        // Exact claims reached only through symlinked directories.
        for (path, owners) in &self.exact {
            if owners.iter().any(|(o, _)| *o == owner) && view.entry(path).is_none() {
                paths.push(path.clone());
            }
        }
        let mut files = Vec::new();
        let mut unreadable = Vec::new();
        for path in paths {
            match view.read(&path) {
                Content::File { bytes, layer, .. } => files.push(FileRef {
                    path,
                    bytes,
                    layer: view.layer(layer).cloned(),
                }),
                Content::Absent => {}
                Content::Unreadable(reason) => {
                    let layer = view.entry(&path).and_then(|e| view.layer(e.layer).cloned());
                    unreadable.push((path, layer, reason));
                }
            }
        }
        Files::new(files).with_unreadable(unreadable)
    }

    fn detect_distro(&mut self, view: &View<'_>, claimed: &HashMap<usize, Vec<ImagePath>>) {
        let files = self.files(DISTRO, view, claimed);
        self.context.distro = crate::distro::detect(&files);
    }

    fn run(
        &self,
        owner: usize,
        view: &View<'_>,
        claimed: &HashMap<usize, Vec<ImagePath>>,
    ) -> Found {
        let Some(cataloger) = self.catalogers.get(owner) else {
            return Found::default();
        };
        let files = self.files(owner, view, claimed);
        let mut found = cataloger.catalog(&files, &self.context);
        for (path, layer, reason) in files.unreadable() {
            found.problems.push(Problem {
                cataloger: cataloger.id().to_owned(),
                path: path.clone(),
                layer: layer.clone(),
                reason: reason.clone(),
            });
        }
        found
    }

    /// Catalog the final state: every cataloger once, packages attributed.
    pub fn finish(mut self, view: &View<'_>) -> Catalog {
        let claimed = self.claimed_by_owner(view);
        self.detect_distro(view, &claimed);
        let mut catalog = Catalog {
            distro: self.context.distro.clone(),
            ..Catalog::default()
        };
        for owner in 0..self.catalogers.len() {
            let found = self.run(owner, view, &claimed);
            let introduced = self.introduced.get(owner);
            for mut package in found.packages {
                if package.layer.is_none() {
                    package.layer = introduced.and_then(|m| m.get(&key(&package))).cloned();
                }
                catalog.packages.push(package);
            }
            catalog.relationships.extend(found.relationships);
            catalog.problems.extend(found.problems);
        }
        catalog
    }
}

fn is_executable(mode: u32) -> bool {
    mode & 0o111 != 0
}

fn key(package: &Package) -> Key {
    (
        package.kind,
        package.name.clone(),
        package.version.clone(),
        package.arch.clone(),
    )
}

/// `OsStr::from_bytes` without naming the unix extension trait at each use.
trait FromBytesCompat {
    fn from_bytes_compat(bytes: &[u8]) -> &Self;
}

impl FromBytesCompat for std::ffi::OsStr {
    fn from_bytes_compat(bytes: &[u8]) -> &Self {
        std::os::unix::ffi::OsStrExt::from_bytes(bytes)
    }
}

impl Visitor for Dispatcher {
    fn claim(&self, path: &ImagePath) -> Option<u64> {
        self.owners(path).into_iter().map(|(_, cap)| cap).max()
    }

    fn exact_claims(&self) -> Vec<ImagePath> {
        self.exact.keys().cloned().collect()
    }

    fn claim_by_mode(&self, _path: &ImagePath, mode: u32) -> Option<u64> {
        if !is_executable(mode) {
            return None;
        }
        self.executable_owners.iter().map(|(_, cap)| *cap).max()
    }

    fn reads_parts(&self, path: &ImagePath, mode: u32) -> bool {
        self.parts_reader(path, mode).is_some()
    }

    fn reduce_parts(&self, path: &ImagePath, parts: &Parts) -> Vec<u8> {
        // Only reached for paths `reads_parts` accepted: executables whose
        // sole claimant reads parts.
        match self.executable_owners.as_slice() {
            [(owner, _)] => self
                .catalogers
                .get(*owner)
                .map(|c| c.reduce_parts(path, parts))
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    fn reduce(&self, path: &ImagePath, bytes: Vec<u8>) -> Vec<u8> {
        let owners = self.owners(path);
        let owners = if owners.is_empty() {
            self.executable_owners.clone()
        } else {
            owners
        };
        match owners.as_slice() {
            [(owner, _)] if *owner != DISTRO => match self.catalogers.get(*owner) {
                Some(cataloger) => cataloger.reduce(path, bytes),
                None => bytes,
            },
            _ => bytes,
        }
    }

    fn layer_done(&mut self, view: &View<'_>, layer: &Layer, changed: &[ImagePath]) {
        if changed.is_empty() {
            return;
        }
        let mut owners: HashSet<usize> = HashSet::new();
        for path in changed {
            let mode = view.entry(path).map(|e| e.mode);
            owners.extend(
                self.owners_with_mode(path, mode)
                    .into_iter()
                    .map(|(o, _)| o),
            );
        }
        let claimed = self.claimed_by_owner(view);
        if owners.contains(&DISTRO) {
            self.detect_distro(view, &claimed);
        }
        for owner in owners {
            if owner == DISTRO {
                continue;
            }
            let found = self.run(owner, view, &claimed);
            let Some(introduced) = self.introduced.get_mut(owner) else {
                continue;
            };
            let keys: HashSet<Key> = found.packages.iter().map(key).collect();
            introduced.retain(|k, _| keys.contains(k));
            for k in keys {
                introduced.entry(k).or_insert_with(|| layer.clone());
            }
        }
    }
}

/// Walk `source` once with the given catalogers.
pub fn catalog_source(
    source: &Source,
    catalogers: Vec<Box<dyn Cataloger>>,
    progress: &dyn Progress,
) -> Result<Catalog, OciError> {
    let mut dispatcher = Dispatcher::new(catalogers);
    let walk = source.walk_with_progress(&mut dispatcher, progress)?;
    Ok(dispatcher.finish(&walk.view()))
}
