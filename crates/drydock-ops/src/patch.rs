//! `patch`: update the vulnerable Debian packages of an image in one new
//! layer on top of its untouched layers (drydock-build's `patch` module for
//! the Debian side), written reproducibly to any target.
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write as _};
use std::path::{Path, PathBuf};

use drydock_build::patch::{DpkgState, ImageFs, Plan, Skipped, Update, Wanted};
use drydock_build::spec::Archive;
use drydock_core::ImagePath;
use drydock_oci::{OciError, Source, SourceRef, View, Visitor, Walk};
use drydock_vuln::{Database, FixState};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::{CopySettings, EnvVars, RegistrySettings};

/// `created_by` of the history entry drydock's patch layer carries.
pub const PATCH_CREATED_BY: &str = "drydock patch";
/// Manifest annotation listing the patched packages (`name old -> new`, comma-separated).
pub const PATCHED_ANNOTATION: &str = "dev.drydock.patch.packages";

/// What `patch` needs, as the user wrote it.
#[derive(Clone, Debug, Default)]
pub struct PatchSettings {
    pub source: String,
    /// `oci-dir:`, `oci-archive:`, `docker-archive:` or `registry:`; required unless `dry_run`.
    pub output: Option<String>,
    pub db_dir: Option<PathBuf>,
    /// A `drydock scan -f json` report to take the findings from.
    pub report: Option<PathBuf>,
    pub vex_out: Option<PathBuf>,
    /// Only these vulnerability ids (or aliases).
    pub only: Vec<String>,
    /// Archive URL (default: the Debian archive and its security archive).
    pub archive: Option<String>,
    pub suites: Vec<String>,
    pub keyring: Option<PathBuf>,
    pub cache_dir: Option<PathBuf>,
    pub offline: bool,
    pub mirrors: Vec<String>,
    pub key: Option<PathBuf>,
    pub password: Vec<u8>,
    pub dry_run: bool,
    /// Accept an expired or future-dated InRelease with a warning.
    pub allow_stale_release: bool,
    pub registry: RegistrySettings,
}

#[derive(Debug, thiserror::Error)]
pub enum PatchError {
    #[error("`{name}`")]
    Source {
        name: String,
        #[source]
        source: Box<OciError>,
    },
    #[error("`{name}`")]
    Registry {
        name: String,
        #[source]
        source: Box<drydock_registry::RegistryError>,
    },
    #[error("`{0}` is not an image (patch needs image layers)")]
    NotAnImage(String),
    #[error("`{name}`: cannot read the dpkg database")]
    Dpkg {
        name: String,
        #[source]
        source: drydock_build::patch::DpkgError,
    },
    #[error("`{name}` is not a Debian image (os-release ID `{id}`)")]
    NotDebian { name: String, id: String },
    #[error(
        "`{name}` is Debian {version} (`{codename}`), which reached its end of life on {date}: the Debian archives publish no more fixes for it\n\nhint: pass `--archive URL --suites …` to patch from an archive that still does (extended LTS)"
    )]
    EndOfLife {
        name: String,
        version: String,
        codename: String,
        date: String,
    },
    #[error(
        "`{name}`: unknown Debian release `{codename}`\n\nhint: pass `--archive URL --suites …`"
    )]
    UnknownRelease { name: String, codename: String },
    #[error(
        "`{0}` is not an output (expected oci-dir:PATH, oci-archive:PATH, docker-archive:PATH or registry:REF)"
    )]
    Output(String),
    #[error("`-o TARGET` is required unless `--dry-run`")]
    NoOutput,
    #[error(transparent)]
    Golden(#[from] crate::GoldenError),
    #[error(transparent)]
    Build(#[from] drydock_build::BuildError),
    #[error(transparent)]
    Scan(#[from] crate::ScanError),
    #[error("cannot read the scan report `{}`", path.display())]
    Report {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("cannot write `{}`", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Copy(#[from] crate::CopyError),
    #[error(transparent)]
    Sign(#[from] crate::SignatureError),
}

/// What `patch` did (or, with `dry_run`, would do).
#[derive(Clone, Debug)]
pub struct PatchReport {
    pub source: String,
    /// The image patched: the source, or the image below drydock's earlier patch layer.
    pub base_digest: Option<String>,
    pub base_name: String,
    /// Whether the source already carried a drydock patch layer (replaced).
    pub replaced_patch_layer: bool,
    pub release: String,
    pub updates: Vec<Update>,
    pub skipped: Vec<Skipped>,
    /// Set when an image was written.
    pub digest: Option<String>,
    pub output: Option<String>,
    pub layer_files: usize,
    pub layer_whiteouts: usize,
    pub layer_size: u64,
    /// Trust exceptions the user allowed (`--allow-stale-release`).
    pub warnings: Vec<String>,
}

/// Debian releases: codename, version, end of LTS (no more fixes after).
const RELEASES: &[(&str, &str, &str)] = &[
    ("jessie", "8", "2020-06-30"),
    ("stretch", "9", "2022-06-30"),
    ("buster", "10", "2024-06-30"),
    ("bullseye", "11", "2026-08-31"),
    ("bookworm", "12", "2028-06-30"),
    ("trixie", "13", "2030-06-30"),
];

/// Captures the dpkg database and os-release.
struct DpkgVisitor;

fn wanted_path(path: &[u8]) -> bool {
    path == b"var/lib/dpkg/status"
        || path == b"etc/os-release"
        || path == b"usr/lib/os-release"
        || path.starts_with(b"var/lib/dpkg/status.d/")
        || (path.starts_with(b"var/lib/dpkg/info/") && path.ends_with(b".list"))
}

impl Visitor for DpkgVisitor {
    fn claim(&self, path: &ImagePath) -> Option<u64> {
        wanted_path(path.as_bytes()).then_some(64 << 20)
    }
    fn exact_claims(&self) -> Vec<ImagePath> {
        [
            "var/lib/dpkg/status",
            "etc/os-release",
            "usr/lib/os-release",
        ]
        .iter()
        .filter_map(|p| ImagePath::new(p.as_bytes()).ok())
        .collect()
    }
    fn layer_done(
        &mut self,
        _view: &View<'_>,
        _layer: &drydock_core::Layer,
        _changed: &[ImagePath],
    ) {
    }
}

/// The walked image as the patch sees it.
struct WalkFs<'a>(&'a Walk);

impl ImageFs for WalkFs<'_> {
    fn canonical(&self, path: &str) -> String {
        let Some((parent, name)) = path.rsplit_once('/') else {
            return path.to_owned();
        };
        let Ok(parent_path) = ImagePath::new(parent.as_bytes()) else {
            return path.to_owned();
        };
        match self.0.resolve(&parent_path) {
            Ok(resolved) if resolved.as_bytes().is_empty() => name.to_owned(),
            Ok(resolved) => format!("{}/{name}", String::from_utf8_lossy(resolved.as_bytes())),
            Err(_) => path.to_owned(),
        }
    }

    fn is_dir(&self, path: &str) -> Option<bool> {
        let image_path = ImagePath::new(path.as_bytes()).ok()?;
        let view = self.0.view();
        let entry = view.entry(&image_path)?;
        Some(match &entry.kind {
            drydock_oci::EntryKind::Dir => true,
            drydock_oci::EntryKind::Symlink(_) => self
                .0
                .resolve(&image_path)
                .ok()
                .and_then(|r| {
                    view.entry(&r)
                        .map(|e| e.kind == drydock_oci::EntryKind::Dir)
                })
                .unwrap_or(false),
            _ => false,
        })
    }
}

fn text(view: &View<'_>, path: &str) -> Option<String> {
    let path = ImagePath::new(path.as_bytes()).ok()?;
    match view.read(&path) {
        drydock_oci::Content::File { bytes, .. } => {
            Some(String::from_utf8_lossy(bytes).into_owned())
        }
        _ => None,
    }
}

fn open_source(settings: &PatchSettings) -> Result<Source, PatchError> {
    let wrap = |source: OciError| PatchError::Source {
        name: settings.source.clone(),
        source: Box::new(source),
    };
    let reference = SourceRef::parse(&settings.source).map_err(wrap)?;
    match &reference {
        SourceRef::Registry(name) => {
            let wrap_registry = |source| PatchError::Registry {
                name: settings.source.clone(),
                source: Box::new(source),
            };
            let parsed = drydock_registry::Reference::parse(name).map_err(wrap_registry)?;
            let client = settings.registry.client().map_err(wrap_registry)?;
            let store = drydock_registry::RegistryStore::open(drydock_registry::Repository::new(
                client, parsed,
            ))
            .map_err(wrap_registry)?;
            Source::from_store(reference, Box::new(store), None).map_err(wrap)
        }
        SourceRef::Dir(_) | SourceRef::File(_) => {
            Err(PatchError::NotAnImage(settings.source.clone()))
        }
        _ => Source::open(reference, None).map_err(wrap),
    }
}

/// `org.opencontainers.image.base.*` of an earlier patch, from its history comment.
fn earlier_patch(config: &Value, layers: usize) -> Option<(Option<String>, String)> {
    let history = config.get("history")?.as_array()?;
    let last = history.last()?;
    let diff_ids = config.pointer("/rootfs/diff_ids")?.as_array()?;
    if last.get("created_by")?.as_str()? != PATCH_CREATED_BY || diff_ids.len() != layers {
        return None;
    }
    let comment: Value = serde_json::from_str(last.get("comment")?.as_str()?).ok()?;
    Some((
        comment
            .get("base_digest")
            .and_then(Value::as_str)
            .map(str::to_owned),
        comment.get("base_name")?.as_str()?.to_owned(),
    ))
}

fn os_release_field(text: &str, field: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let value = line.strip_prefix(field)?.strip_prefix('=')?;
        Some(value.trim().trim_matches('"').trim_matches('\'').to_owned())
    })
}

/// A fixable finding: id, aliases, package, installed version, fixed versions.
type FindingRow = (String, Vec<String>, String, String, Vec<String>);

/// The findings to fix: package name → wanted.
fn wanted_from_findings(
    findings: &[FindingRow],
    only: &[String],
    installed: &BTreeMap<String, drydock_build::patch::Installed>,
) -> Vec<Wanted> {
    let mut wanted: BTreeMap<String, Wanted> = BTreeMap::new();
    for (id, aliases, package, _version, fixed) in findings {
        if !only.is_empty() && !only.iter().any(|o| o == id || aliases.contains(o)) {
            continue;
        }
        let Some(installed) = installed.get(package) else {
            continue;
        };
        let mut lowest: Option<&String> = None;
        for version in fixed {
            if drydock_version::dpkg::compare(version, &installed.version).is_gt()
                && lowest.is_none_or(|l| drydock_version::dpkg::compare(version, l).is_lt())
            {
                lowest = Some(version);
            }
        }
        let Some(lowest) = lowest else {
            continue;
        };
        let cve = std::iter::once(id)
            .chain(aliases)
            .find(|i| i.starts_with("CVE-"))
            .unwrap_or(id);
        let entry = wanted.entry(package.clone()).or_insert_with(|| Wanted {
            package: package.clone(),
            ..Wanted::default()
        });
        entry.ids.insert(cve.clone());
        if entry
            .fixed
            .as_deref()
            .is_none_or(|f| drydock_version::dpkg::compare(lowest, f).is_gt())
        {
            entry.fixed = Some(lowest.clone());
        }
    }
    wanted.into_values().collect()
}

fn findings_from_report(path: &Path) -> Result<Vec<FindingRow>, PatchError> {
    let error = |source: Box<dyn std::error::Error + Send + Sync>| PatchError::Report {
        path: path.to_owned(),
        source,
    };
    let bytes = fs_err::read(path).map_err(|e| error(Box::new(e)))?;
    let report: Value = serde_json::from_slice(&bytes).map_err(|e| error(Box::new(e)))?;
    let findings = report
        .get("findings")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            error("no `findings` array (expected `drydock scan -f json` output)".into())
        })?;
    let strings = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    Ok(findings
        .iter()
        .filter(|f| f.get("state").and_then(Value::as_str) == Some("fixed"))
        .filter(|f| {
            f.pointer("/package/ecosystem")
                .and_then(Value::as_str)
                .is_some_and(|e| e.starts_with("Debian"))
        })
        .filter_map(|f| {
            Some((
                f.get("id")?.as_str()?.to_owned(),
                strings(f.get("aliases")),
                f.pointer("/package/name")?.as_str()?.to_owned(),
                f.pointer("/package/version")?.as_str()?.to_owned(),
                strings(f.get("fixed_versions")),
            ))
        })
        .collect())
}

fn findings_from_scan(
    source: &Source,
    db_dir: Option<&Path>,
) -> Result<Vec<FindingRow>, PatchError> {
    let dir = crate::resolve_db_dir(db_dir).ok_or(crate::ScanError::NoDbDir)?;
    let database = Database::open(&dir).map_err(|source| crate::ScanError::Database {
        dir: dir.clone(),
        source: Box::new(source),
    })?;
    if database.ecosystems().next().is_none() {
        return Err(crate::ScanError::EmptyDatabase { dir }.into());
    }
    let catalog =
        drydock_catalog::catalog_source(source, drydock_catalog::builtin(), &crate::NoProgress)
            .map_err(|e| PatchError::Source {
                name: source.metadata().name.clone(),
                source: Box::new(e),
            })?;
    let outcome =
        drydock_vuln::match_packages(&database, &catalog.packages, catalog.distro.as_ref())
            .map_err(|source| crate::ScanError::Database {
                dir: dir.clone(),
                source: Box::new(source),
            })?;
    Ok(outcome
        .findings
        .into_iter()
        .filter(|f| f.state == FixState::Fixed && f.package.ecosystem.starts_with("Debian"))
        .map(|f| {
            (
                f.id,
                f.aliases,
                f.package.name,
                f.package.version,
                f.fixed_versions,
            )
        })
        .collect())
}

fn epoch() -> Result<u64, crate::GoldenError> {
    match EnvVars::get(EnvVars::SOURCE_DATE_EPOCH) {
        Some(text) => text
            .trim()
            .parse::<u64>()
            .map_err(|_| crate::GoldenError::Epoch(text.clone())),
        None => Ok(0),
    }
}

fn today() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
    crate::time::rfc3339(seconds)[..10].to_owned()
}

/// `drydock patch`.
pub fn patch(settings: &PatchSettings) -> Result<PatchReport, PatchError> {
    if settings.output.is_none() && !settings.dry_run {
        return Err(PatchError::NoOutput);
    }
    let mut source = open_source(settings)?;
    let wrap = |e: OciError| PatchError::Source {
        name: settings.source.clone(),
        source: Box::new(e),
    };
    let mut config: Value =
        serde_json::from_slice(&source.config_bytes().map_err(wrap)?).map_err(|e| {
            PatchError::Source {
                name: settings.source.clone(),
                source: Box::new(OciError::Json {
                    what: "config".into(),
                    source: e,
                }),
            }
        })?;
    let image = source.metadata().image.clone().unwrap_or_default();
    let mut base_digest = image.manifest_digest.as_ref().map(ToString::to_string);
    let mut base_name = settings.source.clone();
    let mut replaced = false;
    if let Some((digest, name)) = earlier_patch(&config, source.layer_count()) {
        replaced = true;
        base_digest = digest;
        base_name = name;
        let keep = source.layer_count().saturating_sub(1);
        source.keep_layers(keep);
        if let Some(ids) = config
            .pointer_mut("/rootfs/diff_ids")
            .and_then(Value::as_array_mut)
        {
            ids.pop();
        }
        if let Some(history) = config.get_mut("history").and_then(Value::as_array_mut) {
            history.pop();
        }
    }
    let walk = source.walk(&mut DpkgVisitor).map_err(wrap)?;
    let view = walk.view();
    let os_release = text(&view, "etc/os-release")
        .or_else(|| text(&view, "usr/lib/os-release"))
        .unwrap_or_default();
    let id = os_release_field(&os_release, "ID").unwrap_or_default();
    if id != "debian" {
        return Err(PatchError::NotDebian {
            name: settings.source.clone(),
            id,
        });
    }
    let codename = os_release_field(&os_release, "VERSION_CODENAME").unwrap_or_default();
    let release = RELEASES.iter().find(|(c, _, _)| *c == codename);
    let archives = if let Some(url) = &settings.archive {
        let suites = if settings.suites.is_empty() {
            vec![
                codename.clone(),
                format!("{codename}-updates"),
                format!("{codename}-security"),
            ]
        } else {
            settings.suites.clone()
        };
        vec![Archive {
            url: url.clone(),
            suites,
            components: vec!["main".into()],
        }]
    } else {
        let Some((_, version, end)) = release else {
            return Err(PatchError::UnknownRelease {
                name: settings.source.clone(),
                codename,
            });
        };
        if today().as_str() > *end {
            return Err(PatchError::EndOfLife {
                name: settings.source.clone(),
                version: (*version).to_owned(),
                codename,
                date: (*end).to_owned(),
            });
        }
        vec![
            Archive {
                url: "http://deb.debian.org/debian".into(),
                suites: vec![codename.clone(), format!("{codename}-updates")],
                components: vec!["main".into()],
            },
            Archive {
                url: "http://deb.debian.org/debian-security".into(),
                suites: vec![format!("{codename}-security")],
                components: vec!["main".into()],
            },
        ]
    };

    // The dpkg database.
    let status = text(&view, "var/lib/dpkg/status");
    let mut status_d = BTreeMap::new();
    let mut lists = BTreeMap::new();
    for path in view.claimed_paths() {
        let name = String::from_utf8_lossy(path.as_bytes()).into_owned();
        if let Some(file) = name.strip_prefix("var/lib/dpkg/status.d/") {
            if let Some(content) = text(&view, &name) {
                status_d.insert(file.to_owned(), content);
            }
        } else if let Some(file) = name.strip_prefix("var/lib/dpkg/info/")
            && let Some(stem) = file.strip_suffix(".list")
            && let Some(content) = text(&view, &name)
        {
            lists.insert(stem.to_owned(), content);
        }
    }
    let state = DpkgState::read(status.as_deref(), &status_d, &lists).map_err(|source| {
        PatchError::Dpkg {
            name: settings.source.clone(),
            source,
        }
    })?;

    let findings = match &settings.report {
        Some(path) => findings_from_report(path)?,
        None => findings_from_scan(&source, settings.db_dir.as_deref())?,
    };
    let wanted = wanted_from_findings(&findings, &settings.only, &state.packages);

    let cache_dir = crate::golden_cache_dir(settings.cache_dir.as_deref())
        .ok_or(crate::GoldenError::NoCacheDir)?;
    let mirrors = settings
        .mirrors
        .iter()
        .map(|m| {
            m.split_once('=')
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
                .ok_or_else(|| crate::GoldenError::Mirror(m.clone()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let fetcher = drydock_build::fetch::Fetcher::new(cache_dir, settings.offline, mirrors);
    let keyring = settings.keyring.as_ref().map_or_else(
        || "/usr/share/keyrings/debian-archive-keyring.gpg".to_owned(),
        |p| p.display().to_string(),
    );
    let architecture = if image.architecture.is_empty() {
        "amd64".to_owned()
    } else {
        image.architecture.clone()
    };
    let freshness = drydock_build::Freshness {
        now: crate::fleet::now().map_err(|e| crate::GoldenError::Clock(Box::new(e)))?,
        allow_stale_release: settings.allow_stale_release,
    };
    let drydock_build::patch::Loaded {
        universe,
        suites,
        warnings,
    } = drydock_build::patch::load_universe(
        &keyring,
        &archives,
        &architecture,
        &fetcher,
        freshness,
    )?;
    let Plan { updates, skipped } = drydock_build::patch::plan(&universe, &suites, &state, &wanted);
    let plan = Plan {
        updates: updates.clone(),
        skipped: skipped.clone(),
    };
    let mut report = PatchReport {
        source: settings.source.clone(),
        base_digest,
        base_name,
        replaced_patch_layer: replaced,
        release: format!("debian {codename}"),
        updates,
        skipped,
        digest: None,
        output: None,
        layer_files: 0,
        layer_whiteouts: 0,
        layer_size: 0,
        warnings,
    };
    if settings.dry_run || report.updates.is_empty() {
        return Ok(report);
    }
    let epoch = epoch()?;
    let layer = drydock_build::patch::patch_layer(&plan, &state, &fetcher, &WalkFs(&walk), epoch)?;
    report.layer_files = layer.files;
    report.layer_whiteouts = layer.whiteouts;
    report.layer_size = layer.tar.len() as u64;
    let output = settings.output.clone().ok_or(PatchError::NoOutput)?;
    let digest = write_image(
        settings, &source, config, &report, &layer.tar, epoch, &output,
    )?;
    report.digest = Some(digest.clone());
    report.output = Some(output.clone());
    if let Some(path) = &settings.vex_out {
        let vex = openvex(&report, &digest, epoch);
        drydock_build::fetch::write_atomic(path, &vex).map_err(|source| PatchError::Write {
            path: path.clone(),
            source,
        })?;
    }
    if let Some(key) = &settings.key {
        let target = if output.starts_with("registry:") || output.starts_with("oci-dir:") {
            output.clone()
        } else {
            return Err(PatchError::Output(format!(
                "{output}` (signing needs a registry:REF or oci-dir:PATH output)"
            )));
        };
        let sign = crate::SignSettings {
            target,
            key: key.clone(),
            password: settings.password.clone(),
            registry: settings.registry.clone(),
            ..crate::SignSettings::default()
        };
        crate::sign(&sign)?;
        for predicate in ["sbom", "vuln"] {
            crate::attest(&crate::AttestSettings {
                sign: sign.clone(),
                predicate_type: predicate.into(),
                predicate: None,
            })?;
        }
    }
    Ok(report)
}

fn patched_list(report: &PatchReport) -> String {
    report
        .updates
        .iter()
        .map(|u| {
            format!(
                "{} {} -> {}",
                u.name,
                u.old.as_deref().unwrap_or("(new)"),
                u.new.version
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// OpenVEX `fixed` statements for the vulnerabilities the patch resolved.
fn openvex(report: &PatchReport, digest: &str, epoch: u64) -> Vec<u8> {
    let created = crate::time::rfc3339(i64::try_from(epoch).unwrap_or(0));
    let mut by_id: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for update in &report.updates {
        for id in &update.ids {
            by_id.entry(id).or_default().insert(format!(
                "pkg:deb/debian/{}@{}?arch={}",
                update.name, update.new.version, update.new.architecture
            ));
        }
    }
    let statements: Vec<Value> = by_id
        .into_iter()
        .map(|(id, packages)| {
            json!({
                "vulnerability": {"name": id},
                "products": [{
                    "@id": digest,
                    "subcomponents": packages.into_iter().map(|p| json!({"@id": p})).collect::<Vec<_>>(),
                }],
                "status": "fixed",
            })
        })
        .collect();
    let mut bytes = serde_json::to_vec_pretty(&json!({
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": format!("https://drydock.dev/vex/patch/{}", digest.trim_start_matches("sha256:")),
        "author": "drydock patch",
        "timestamp": created,
        "version": 1,
        "statements": statements,
    }))
    .unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// Layer media type by magic bytes.
fn media_type(head: &[u8]) -> &'static str {
    if head.starts_with(&[0x1f, 0x8b]) {
        drydock_build::image::LAYER_MEDIA_TYPE
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        "application/vnd.oci.image.layer.v1.tar+zstd"
    } else {
        "application/vnd.oci.image.layer.v1.tar"
    }
}

fn hex(bytes: &[u8]) -> String {
    drydock_build::fetch::hex(bytes)
}

/// Copy a blob into `blobs/sha256/` of `layout`, hashing it; its descriptor.
fn copy_blob(mut reader: Box<dyn Read + Send>, layout: &Path) -> std::io::Result<Value> {
    let blobs = layout.join("blobs/sha256");
    fs_err::create_dir_all(&blobs)?;
    let mut temporary = tempfile::NamedTempFile::new_in(&blobs)?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut head = Vec::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let read = reader.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        let chunk = buffer.get(..read).unwrap_or_default();
        if head.len() < 8 {
            head.extend(chunk.iter().take(8 - head.len()));
        }
        hasher.update(chunk);
        temporary.write_all(chunk)?;
        size += read as u64;
    }
    let digest = hex(&hasher.finalize());
    temporary
        .persist(blobs.join(&digest))
        .map_err(|e| e.error)?;
    Ok(json!({"mediaType": media_type(&head), "digest": format!("sha256:{digest}"), "size": size}))
}

fn put_blob(layout: &Path, bytes: &[u8]) -> std::io::Result<String> {
    let digest = drydock_build::sha256_hex(bytes);
    let blobs = layout.join("blobs/sha256");
    fs_err::create_dir_all(&blobs)?;
    fs_err::write(blobs.join(&digest), bytes)?;
    Ok(format!("sha256:{digest}"))
}

fn write_image(
    settings: &PatchSettings,
    source: &Source,
    mut config: Value,
    report: &PatchReport,
    layer_tar: &[u8],
    epoch: u64,
    output: &str,
) -> Result<String, PatchError> {
    let (kind, rest) = output
        .split_once(':')
        .ok_or_else(|| PatchError::Output(output.to_owned()))?;
    if !matches!(
        kind,
        "oci-dir" | "oci" | "oci-archive" | "docker-archive" | "registry" | "docker"
    ) {
        return Err(PatchError::Output(output.to_owned()));
    }
    let target_path = PathBuf::from(rest);
    let local = !matches!(kind, "registry" | "docker");
    let write_error = |source: std::io::Error| PatchError::Write {
        path: target_path.clone(),
        source,
    };
    let staging = if local {
        let parent = match target_path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        fs_err::create_dir_all(&parent).map_err(write_error)?;
        tempfile::Builder::new()
            .prefix(".drydock-patch-")
            .tempdir_in(&parent)
    } else {
        tempfile::Builder::new().prefix("drydock-patch-").tempdir()
    }
    .map_err(write_error)?;
    let layout = staging.path().join("image");
    let mut layers = Vec::new();
    for index in 0..source.layer_count() {
        let reader = source.open_layer(index).map_err(|e| PatchError::Source {
            name: settings.source.clone(),
            source: Box::new(e),
        })?;
        layers.push(copy_blob(reader, &layout).map_err(write_error)?);
    }
    let gzip = drydock_build::image::gzip(layer_tar).map_err(write_error)?;
    let layer_digest = put_blob(&layout, &gzip).map_err(write_error)?;
    layers.push(json!({"mediaType": drydock_build::image::LAYER_MEDIA_TYPE, "digest": layer_digest, "size": gzip.len()}));
    let created = crate::time::rfc3339(i64::try_from(epoch).unwrap_or(0));
    let comment = serde_json::to_string(&json!({
        "base_digest": report.base_digest,
        "base_name": report.base_name,
        "packages": patched_list(report),
    }))
    .unwrap_or_default();
    if let Some(object) = config.as_object_mut() {
        let rootfs = object
            .entry("rootfs")
            .or_insert_with(|| json!({"type": "layers", "diff_ids": []}));
        if let Some(ids) = rootfs.get_mut("diff_ids").and_then(Value::as_array_mut) {
            ids.push(json!(format!(
                "sha256:{}",
                drydock_build::sha256_hex(layer_tar)
            )));
        }
        let history = object.entry("history").or_insert_with(|| json!([]));
        if let Some(history) = history.as_array_mut() {
            history.push(
                json!({"created": created, "created_by": PATCH_CREATED_BY, "comment": comment}),
            );
        }
    }
    let config_bytes = serde_json::to_vec(&config).unwrap_or_default();
    let config_digest = put_blob(&layout, &config_bytes).map_err(write_error)?;
    let mut annotations = BTreeMap::from([
        (
            "org.opencontainers.image.base.name".to_owned(),
            report.base_name.clone(),
        ),
        (PATCHED_ANNOTATION.to_owned(), patched_list(report)),
        ("org.opencontainers.image.created".to_owned(), created),
    ]);
    if let Some(digest) = &report.base_digest {
        annotations.insert(
            "org.opencontainers.image.base.digest".into(),
            digest.clone(),
        );
    }
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": drydock_build::image::MANIFEST_MEDIA_TYPE,
        "config": {"mediaType": drydock_build::image::CONFIG_MEDIA_TYPE, "digest": config_digest, "size": config_bytes.len()},
        "layers": layers,
        "annotations": annotations,
    }))
    .unwrap_or_default();
    let manifest_digest = put_blob(&layout, &manifest).map_err(write_error)?;
    let tag = "latest";
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": drydock_build::image::INDEX_MEDIA_TYPE,
        "manifests": [{
            "mediaType": drydock_build::image::MANIFEST_MEDIA_TYPE,
            "digest": manifest_digest,
            "size": manifest.len(),
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }],
    }))
    .unwrap_or_default();
    fs_err::write(layout.join("index.json"), &index).map_err(write_error)?;
    fs_err::write(
        layout.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .map_err(write_error)?;
    match kind {
        "oci-dir" | "oci" => {
            if target_path.exists() {
                let old = staging.path().join("old");
                fs_err::rename(&target_path, &old).map_err(write_error)?;
            }
            fs_err::rename(&layout, &target_path).map_err(write_error)?;
        }
        "oci-archive" | "docker-archive" => {
            let archive = staging.path().join("archive.tar");
            write_archive(
                &layout,
                &archive,
                kind == "docker-archive",
                &config_digest,
                &layers,
                epoch,
            )
            .map_err(write_error)?;
            fs_err::rename(&archive, &target_path).map_err(write_error)?;
        }
        _ => {
            crate::copy(&CopySettings {
                source: format!("oci-dir:{}", layout.display()),
                destination: output.to_owned(),
                registry: settings.registry.clone(),
            })?;
        }
    }
    Ok(manifest_digest)
}

/// An OCI archive of the layout; for `docker`, with Docker 25's
/// `manifest.json` naming the config and layers inside `blobs/`.
fn write_archive(
    layout: &Path,
    out: &Path,
    docker: bool,
    config_digest: &str,
    layers: &[Value],
    mtime: u64,
) -> std::io::Result<()> {
    let file = std::io::BufWriter::new(fs_err::File::create(out)?);
    let mut builder = tar::Builder::new(file);
    let mut names: Vec<String> = vec!["index.json".into(), "oci-layout".into()];
    let mut blobs: Vec<String> = fs_err::read_dir(layout.join("blobs/sha256"))?
        .filter_map(Result::ok)
        .map(|e| format!("blobs/sha256/{}", e.file_name().to_string_lossy()))
        .collect();
    blobs.sort();
    names.extend(blobs);
    let header = |size: u64| {
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o644);
        header.set_mtime(mtime);
        header.set_uid(0);
        header.set_gid(0);
        header.set_size(size);
        header.set_entry_type(tar::EntryType::Regular);
        header
    };
    for name in &names {
        let path = layout.join(name);
        let size = fs_err::metadata(&path)?.len();
        builder.append_data(&mut header(size), name, fs_err::File::open(&path)?)?;
    }
    if docker {
        let in_blobs =
            |digest: &str| format!("blobs/sha256/{}", digest.trim_start_matches("sha256:"));
        let manifest = serde_json::to_vec(&json!([{
            "Config": in_blobs(config_digest),
            "RepoTags": [],
            "Layers": layers.iter().filter_map(|l| l["digest"].as_str()).map(in_blobs).collect::<Vec<_>>(),
        }]))?;
        builder.append_data(
            &mut header(manifest.len() as u64),
            "manifest.json",
            manifest.as_slice(),
        )?;
    }
    builder.into_inner()?.flush()
}

/// `build --update-vulnerable`: the updates that fix the fixable findings of
/// an image built from the current lock (`layout`), from the spec's suites.
pub(crate) fn vulnerable_updates(
    layout: &Path,
    db_dir: Option<&Path>,
    spec: &drydock_build::Spec,
    fetcher: &drydock_build::fetch::Fetcher,
    freshness: drydock_build::Freshness,
) -> Result<(Plan, Vec<String>), PatchError> {
    let name = format!("oci-dir:{}", layout.display());
    let wrap = |e: OciError| PatchError::Source {
        name: name.clone(),
        source: Box::new(e),
    };
    let source = Source::open(SourceRef::OciDir(layout.to_owned()), None).map_err(wrap)?;
    let walk = source.walk(&mut DpkgVisitor).map_err(wrap)?;
    let view = walk.view();
    let mut status_d = BTreeMap::new();
    for path in view.claimed_paths() {
        let path = String::from_utf8_lossy(path.as_bytes()).into_owned();
        if let Some(file) = path.strip_prefix("var/lib/dpkg/status.d/")
            && let Some(content) = text(&view, &path)
        {
            status_d.insert(file.to_owned(), content);
        }
    }
    let state =
        DpkgState::read(None, &status_d, &BTreeMap::new()).map_err(|source| PatchError::Dpkg {
            name: name.clone(),
            source,
        })?;
    let findings = findings_from_scan(&source, db_dir)?;
    let wanted = wanted_from_findings(&findings, &[], &state.packages);
    let loaded = drydock_build::patch::load_universe(
        &spec.keyring,
        &spec.archives,
        &spec.architecture,
        fetcher,
        freshness,
    )?;
    let plan = drydock_build::patch::plan(&loaded.universe, &loaded.suites, &state, &wanted);
    Ok((plan, loaded.warnings))
}
