//! Python: installed distributions, conda environments, and the lock and
//! requirement files of projects.
//!
//! Three catalogers:
//!
//! - `python-installed` reads installed distributions the way
//!   `importlib.metadata` and `pip` find them: `*.dist-info/METADATA` (with
//!   `RECORD` beside it for the files the distribution owns, digests as
//!   `sha256:<hex>`, installed size as the sum of the recorded sizes),
//!   `*.egg-info/PKG-INFO` (directory form), a `*.egg-info` file (the
//!   distutils form, itself a PKG-INFO) and `*.egg/EGG-INFO/PKG-INFO`. Only
//!   the header block of the metadata is kept while the image streams by.
//!   The name keeps the metadata's spelling (`PyYAML`); the purl uses the
//!   purl spec's PyPI form (`pkg:pypi/pyyaml@5.4`: lowercase, `_` → `-`).
//!   Licences: `License-Expression`, else a one-line `License` of at most
//!   100 characters, else the `License ::` classifiers. The maintainer is
//!   the author (or the maintainer) with their address.
//! - `conda-meta` reads `conda-meta/*.json`, the records conda keeps of the
//!   packages in an environment: `pkg:conda/<name>@<version>` with the
//!   `build`, `channel`, `subdir` and `type` qualifiers of the purl spec,
//!   the files under the environment's prefix, and the archive's checksum.
//! - `python-lock` reports what lock and requirement files declare (see
//!   [`locks`]) as `installed: false`. Lock files inside an installed
//!   distribution's tree (a `site-packages` or `dist-packages` directory)
//!   are data files of that distribution, not the project's, and are not
//!   read.
//!
//! A metadata file without `Name` or `Version`, a RECORD with rows without
//! a path, a conda record that is not JSON, or a lock file that does not
//! parse is a problem located at that file.
pub(crate) mod locks;
pub(crate) mod metadata;

use std::collections::HashMap;

use drydock_core::{ImagePath, Location, OwnedFile, Package, PackageKind, Purl};

use crate::{Cataloger, Claims, Context, FileRef, Files, Found};

const INSTALLED_ID: &str = "python-installed";
const CONDA_ID: &str = "conda-meta";
const LOCK_ID: &str = "python-lock";

pub(crate) struct PythonInstalledCataloger;
pub(crate) struct CondaCataloger;
pub(crate) struct PythonLockCataloger;

impl Cataloger for PythonInstalledCataloger {
    fn id(&self) -> &'static str {
        INSTALLED_ID
    }
    fn version(&self) -> u32 {
        1
    }
    fn claims(&self) -> Claims {
        Claims {
            paths: vec![],
            globs: vec![
                "**/*.dist-info/METADATA",
                "**/*.dist-info/RECORD",
                "**/*.egg-info/PKG-INFO",
                "**/*.egg-info",
                "**/*.egg/EGG-INFO/PKG-INFO",
            ],
            max_bytes: 32 << 20,
            executables: false,
        }
    }
    fn catalog(&self, files: &Files<'_>, _context: &Context) -> Found {
        let mut found = Found::default();
        let records: HashMap<&[u8], &FileRef<'_>> = files
            .iter()
            .filter(|f| f.path.file_name() == b"RECORD")
            .filter_map(|f| Some((dist_info_dir(&f.path)?, f)))
            .collect();
        for file in files.iter() {
            match metadata_kind(&file.path) {
                Some(MetadataKind::DistInfo) => {
                    let record = dist_info_dir(&file.path).and_then(|dir| records.get(dir));
                    installed_package(file, record.copied(), &mut found);
                }
                Some(MetadataKind::EggInfo) => installed_package(file, None, &mut found),
                None => {
                    if file.path.file_name() == b"RECORD"
                        && let Some(dir) = dist_info_dir(&file.path)
                        && files.iter().all(|other| {
                            !(other.path.file_name() == b"METADATA"
                                && dist_info_dir(&other.path) == Some(dir))
                        })
                    {
                        found.problem(
                            INSTALLED_ID,
                            file,
                            "a `.dist-info` directory with a RECORD but no METADATA",
                        );
                    }
                }
            }
        }
        found
    }
    fn reduce(&self, path: &ImagePath, bytes: Vec<u8>) -> Vec<u8> {
        if metadata_kind(path).is_some() {
            metadata::reduce_headers(&bytes)
        } else {
            bytes
        }
    }
}

enum MetadataKind {
    DistInfo,
    EggInfo,
}

fn metadata_kind(path: &ImagePath) -> Option<MetadataKind> {
    let name = path.file_name();
    let parent = path.parent()?;
    let parent_name = parent.file_name();
    if name == b"METADATA" && parent_name.ends_with(b".dist-info") {
        Some(MetadataKind::DistInfo)
    } else if (name == b"PKG-INFO"
        && (parent_name.ends_with(b".egg-info") || parent_name == b"EGG-INFO"))
        || name.ends_with(b".egg-info")
    {
        Some(MetadataKind::EggInfo)
    } else {
        None
    }
}

/// The `.dist-info` directory of a file directly inside one.
fn dist_info_dir(path: &ImagePath) -> Option<&[u8]> {
    let bytes = path.as_bytes();
    let slash = bytes.iter().rposition(|&b| b == b'/')?;
    let dir = bytes.get(..slash)?;
    dir.ends_with(b".dist-info").then_some(dir)
}

fn location(file: &FileRef<'_>) -> Vec<Location> {
    vec![Location {
        path: file.path.clone(),
        layer: file.layer.clone(),
    }]
}

fn installed_package(file: &FileRef<'_>, record: Option<&FileRef<'_>>, found: &mut Found) {
    let (headers, malformed) = metadata::parse_headers(file.bytes);
    if !malformed.is_empty() {
        found.problem(
            INSTALLED_ID,
            file,
            format!("lines {malformed:?} are not `Key: value` header fields; skipped"),
        );
    }
    let (Some(name), Some(version)) = (headers.known("Name"), headers.known("Version")) else {
        found.problem(
            INSTALLED_ID,
            file,
            "no `Name` or no `Version` header: not a distribution's metadata",
        );
        return;
    };
    let mut owned = Vec::new();
    let mut installed_size = None;
    if let Some(record) = record {
        let (rows, bad) = metadata::parse_record(record.bytes);
        if !bad.is_empty() {
            found.problem(
                INSTALLED_ID,
                record,
                format!("lines {bad:?} have no path; skipped"),
            );
        }
        // RECORD paths are relative to the directory holding `.dist-info`.
        let base = file
            .path
            .parent()
            .and_then(|dir| dir.parent())
            .unwrap_or_default();
        let mut total: u64 = 0;
        let mut any_size = false;
        for row in rows {
            if let Some(size) = row.size {
                total = total.saturating_add(size);
                any_size = true;
            }
            owned.push(OwnedFile {
                path: ImagePath::resolve_link(&base, &row.path),
                digest: row.digest,
            });
        }
        installed_size = any_size.then_some(total);
    }
    found.packages.push(Package {
        name: name.to_owned(),
        version: version.to_owned(),
        kind: PackageKind::Pypi,
        purl: Purl::new("pypi", &metadata::purl_name(name)).with_version(version),
        arch: None,
        source: None,
        licenses: metadata::licenses(&headers),
        maintainer: metadata::author(&headers),
        installed_size,
        checksum: None,
        installed: true,
        locations: location(file),
        layer: None,
        files: owned,
    });
}

impl Cataloger for CondaCataloger {
    fn id(&self) -> &'static str {
        CONDA_ID
    }
    fn version(&self) -> u32 {
        1
    }
    fn claims(&self) -> Claims {
        Claims {
            paths: vec![],
            globs: vec!["**/conda-meta/*.json"],
            max_bytes: 64 << 20,
            executables: false,
        }
    }
    fn catalog(&self, files: &Files<'_>, _context: &Context) -> Found {
        let mut found = Found::default();
        for file in files.iter() {
            conda_package(file, &mut found);
        }
        found
    }
}

#[derive(serde::Deserialize)]
struct CondaRecord {
    name: Option<String>,
    version: Option<String>,
    build: Option<String>,
    channel: Option<String>,
    subdir: Option<String>,
    #[serde(rename = "fn")]
    file_name: Option<String>,
    license: Option<String>,
    md5: Option<String>,
    sha256: Option<String>,
    size: Option<u64>,
    #[serde(default)]
    files: Vec<String>,
    paths_data: Option<CondaPaths>,
}

#[derive(serde::Deserialize)]
struct CondaPaths {
    #[serde(default)]
    paths: Vec<CondaPath>,
}

#[derive(serde::Deserialize)]
struct CondaPath {
    #[serde(rename = "_path")]
    path: String,
    sha256: Option<String>,
}

fn conda_package(file: &FileRef<'_>, found: &mut Found) {
    let record: CondaRecord = match serde_json::from_slice(file.bytes) {
        Ok(record) => record,
        Err(error) => {
            found.problem(
                CONDA_ID,
                file,
                format!("not a conda package record: {error}"),
            );
            return;
        }
    };
    let (Some(name), Some(version)) = (
        record.name.filter(|n| !n.is_empty()),
        record.version.filter(|v| !v.is_empty()),
    ) else {
        found.problem(CONDA_ID, file, "no `name` or no `version`");
        return;
    };
    // The environment's prefix: the directory holding `conda-meta`.
    let prefix = file
        .path
        .parent()
        .and_then(|dir| dir.parent())
        .unwrap_or_default();
    let subdir = record.subdir.unwrap_or_default();
    let channel = record
        .channel
        .as_deref()
        .map(|c| channel_name(c, &subdir))
        .unwrap_or_default();
    let archive_type = record.file_name.as_deref().map_or("", |f| {
        if f.strip_suffix(".tar.bz2").is_some() {
            "tar.bz2"
        } else if f.strip_suffix(".conda").is_some() {
            "conda"
        } else {
            ""
        }
    });
    let purl = Purl::new("conda", &name)
        .with_version(&version)
        .with_qualifier("build", record.build.as_deref().unwrap_or_default())
        .with_qualifier("channel", &channel)
        .with_qualifier("subdir", &subdir)
        .with_qualifier("type", archive_type);
    let digests: HashMap<&str, &str> = record
        .paths_data
        .as_ref()
        .map(|p| {
            p.paths
                .iter()
                .filter_map(|entry| Some((entry.path.as_str(), entry.sha256.as_deref()?)))
                .collect()
        })
        .unwrap_or_default();
    let files = record
        .files
        .iter()
        .map(|path| OwnedFile {
            path: ImagePath::resolve_link(&prefix, path.trim_start_matches('/').as_bytes()),
            digest: digests
                .get(path.as_str())
                .filter(|d| d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit()))
                .map(|d| format!("sha256:{}", d.to_ascii_lowercase())),
        })
        .collect();
    let checksum = record
        .sha256
        .filter(|d| !d.is_empty())
        .map(|d| format!("sha256:{d}"))
        .or_else(|| {
            record
                .md5
                .filter(|d| !d.is_empty())
                .map(|d| format!("md5:{d}"))
        });
    found.packages.push(Package {
        name,
        version,
        kind: PackageKind::Conda,
        purl,
        arch: None,
        source: None,
        licenses: record
            .license
            .into_iter()
            .filter(|l| !l.is_empty())
            .collect(),
        maintainer: None,
        installed_size: record.size,
        checksum,
        installed: true,
        locations: location(file),
        layer: None,
        files,
    });
}

/// A channel's name from its URL: `https://conda.anaconda.org/conda-forge/linux-64`
/// → `conda-forge`, `https://repo.anaconda.com/pkgs/main/linux-64` → `main`.
fn channel_name(channel: &str, subdir: &str) -> String {
    let trimmed = channel.trim_end_matches('/');
    let trimmed = if subdir.is_empty() {
        trimmed
    } else {
        trimmed
            .strip_suffix(subdir)
            .map_or(trimmed, |t| t.trim_end_matches('/'))
    };
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_owned()
}

impl Cataloger for PythonLockCataloger {
    fn id(&self) -> &'static str {
        LOCK_ID
    }
    fn version(&self) -> u32 {
        1
    }
    fn claims(&self) -> Claims {
        Claims {
            paths: vec![],
            globs: vec![
                "**/requirements*.txt",
                // Files a requirements file may include (`-r`/`-c`): read
                // so the includes can be followed, reported through the
                // file that includes them.
                "**/*requirements*.txt",
                "**/requirements/*.txt",
                "**/constraints*.txt",
                "**/poetry.lock",
                "**/Pipfile.lock",
                "**/uv.lock",
                "**/pdm.lock",
                "**/pylock.toml",
                "**/pylock.*.toml",
            ],
            max_bytes: 64 << 20,
            executables: false,
        }
    }
    fn catalog(&self, files: &Files<'_>, _context: &Context) -> Found {
        let mut found = Found::default();
        for file in files.iter() {
            if file
                .path
                .components()
                .any(|c| c == b"site-packages" || c == b"dist-packages")
            {
                continue;
            }
            let Some(kind) = locks::LockKind::of(file.path.file_name()) else {
                continue;
            };
            if kind == locks::LockKind::Requirements {
                requirements_packages(files, file, &mut found);
                continue;
            }
            match locks::parse(kind, file.bytes) {
                Ok(declared) => {
                    for package in declared {
                        found.packages.push(declared_package(file, package));
                    }
                }
                Err(locks::LockError(reason)) => found.problem(LOCK_ID, file, reason),
            }
        }
        found
    }
}

/// How deep `-r` includes are followed.
const MAX_INCLUDE_DEPTH: usize = 16;

/// `include` written in `from` (relative to its directory, or from the
/// root when absolute) as a path in the image; `None` when `..` climbs
/// above the root.
fn include_path(from: &ImagePath, include: &str) -> Option<ImagePath> {
    let parent = from.parent().unwrap_or_default();
    let mut parts: Vec<&[u8]> = if include.starts_with('/') {
        Vec::new()
    } else {
        parent.components().collect()
    };
    for component in include.as_bytes().split(|&b| b == b'/') {
        match component {
            b"" | b"." => {}
            b".." => {
                parts.pop()?;
            }
            name => parts.push(name),
        }
    }
    ImagePath::new(parts.join(&b'/')).ok()
}

/// The requirements of a `requirements*.txt`, following its `-r` includes
/// (each included file's requirements located at that file) and applying
/// its `-c` constraints' pins to requirements that have no exact version.
/// An included file that is itself a `requirements*.txt` is reported on its
/// own, not again here. Includes that climb above the root, are URLs, or
/// are not in the image are reported as problems.
fn requirements_packages(files: &Files<'_>, root: &FileRef<'_>, found: &mut Found) {
    let mut declared: Vec<(locks::Declared, &FileRef<'_>)> = Vec::new();
    let mut constraints: HashMap<String, String> = HashMap::new();
    let mut visited = vec![root.path.clone()];
    let mut queue = vec![(root, 0_usize)];
    while let Some((current, depth)) = queue.pop() {
        let parsed = locks::parse_requirements(current.bytes);
        declared.extend(parsed.declared.into_iter().map(|d| (d, current)));
        for include in parsed.includes {
            let option = if include.constraint { "-c" } else { "-r" };
            if include.path.contains("://") {
                found.problem(
                    LOCK_ID,
                    current,
                    format!("`{option} {}`: a URL, not followed", include.path),
                );
                continue;
            }
            let Some(path) = include_path(&current.path, &include.path) else {
                found.problem(
                    LOCK_ID,
                    current,
                    format!(
                        "`{option} {}` climbs above the root: not followed",
                        include.path
                    ),
                );
                continue;
            };
            let Some(target) = files.get(&String::from_utf8_lossy(path.as_bytes())) else {
                found.problem(
                    LOCK_ID,
                    current,
                    format!(
                        "`{option} {}`: `{}` is not in the image, or not named like a requirements or constraints file (`*requirements*.txt`, `requirements/*.txt`, `constraints*.txt`)",
                        include.path,
                        path.to_display()
                    ),
                );
                continue;
            };
            if visited.contains(&target.path) {
                continue;
            }
            visited.push(target.path.clone());
            if include.constraint {
                for pin in locks::parse_requirements(target.bytes).declared {
                    if pin.exact {
                        constraints.insert(metadata::purl_name(&pin.name), pin.version);
                    }
                }
                continue;
            }
            if locks::LockKind::of(target.path.file_name()) == Some(locks::LockKind::Requirements) {
                continue;
            }
            if depth + 1 > MAX_INCLUDE_DEPTH {
                found.problem(
                    LOCK_ID,
                    current,
                    format!(
                        "`-r {}`: includes nested deeper than {MAX_INCLUDE_DEPTH}: not followed",
                        include.path
                    ),
                );
                continue;
            }
            queue.push((target, depth + 1));
        }
    }
    for (mut requirement, file) in declared {
        if !requirement.exact
            && let Some(version) = constraints.get(&metadata::purl_name(&requirement.name))
        {
            requirement.version.clone_from(version);
            requirement.exact = true;
        }
        found.packages.push(declared_package(file, requirement));
    }
}

fn declared_package(file: &FileRef<'_>, declared: locks::Declared) -> Package {
    let purl = Purl::new("pypi", &metadata::purl_name(&declared.name));
    Package {
        // A requirement without an exact version has none in its purl
        // either; its version field holds the specifier as declared.
        purl: if declared.exact {
            purl.with_version(&declared.version)
        } else {
            purl
        },
        name: declared.name,
        version: declared.version,
        kind: PackageKind::Pypi,
        arch: None,
        source: None,
        licenses: Vec::new(),
        maintainer: None,
        installed_size: None,
        checksum: None,
        installed: false,
        locations: location(file),
        layer: None,
        files: Vec::new(),
    }
}
