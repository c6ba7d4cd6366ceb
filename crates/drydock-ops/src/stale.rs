//! `golden stale`: every image reference in Dockerfiles, Kubernetes,
//! Kustomize, Helm, Compose, GitHub Actions and GitLab CI files under the
//! given paths, judged against the golden catalog, and (`--fix`) pinned to
//! each line's current version in place.
use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use drydock_policy::pins::{self, FoundReference, PinFileKind, PinParseError};
use drydock_store::{GoldenState, GoldenVersion};
use serde::Serialize;

use crate::GoldenOpsError;
use crate::fleet::FleetSettings;

/// What `golden stale` needs.
#[derive(Clone, Debug, Default)]
pub struct StaleSettings {
    pub fleet: FleetSettings,
    pub paths: Vec<PathBuf>,
    /// Rewrite stale references in place.
    pub fix: bool,
}

/// A file that could not be read as its kind; the rest of the run goes on.
#[derive(Debug, thiserror::Error)]
pub enum StaleInputError {
    #[error("cannot read `{path}`")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}` line {line}: not UTF-8")]
    NotUtf8 { path: String, line: usize },
    #[error("`{path}` line {}, column {}: {}", .error.line, .error.column, .error.message)]
    Parse { path: String, error: PinParseError },
    #[error("`{path}`: not a Dockerfile, Containerfile or YAML file")]
    Kind { path: String },
    #[error("cannot write `{path}`")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}`: {reason}")]
    Fix { path: String, reason: String },
}

/// What the catalog says of a reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Pinned to the line's current version.
    Current,
    /// Pinned to a version that is deprecated.
    Deprecated,
    /// Pinned to a retired version.
    Retired,
    /// Pinned to a version not yet current (candidate or approved).
    Candidate,
    Approved,
    /// A golden line's repository by tag: it moves.
    Floating,
    /// Not an image of the catalog (or a digest the catalog does not know).
    NotGolden,
    /// A variable without a value: the reference cannot be known from the file.
    Unresolved,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Current => "current",
            Verdict::Deprecated => "deprecated",
            Verdict::Retired => "retired",
            Verdict::Candidate => "candidate",
            Verdict::Approved => "approved",
            Verdict::Floating => "floating",
            Verdict::NotGolden => "not-golden",
            Verdict::Unresolved => "unresolved",
        }
    }
}

/// One reference with its verdict.
#[derive(Clone, Debug, Serialize)]
pub struct StaleReference {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub kind: PinFileKind,
    /// As written in the file.
    pub written: String,
    /// After variable substitution (absent when unresolved).
    pub reference: Option<String>,
    pub verdict: Verdict,
    /// When the version became deprecated or retired (RFC 3339).
    pub since: Option<String>,
    /// The golden line the reference names.
    pub golden_line: Option<String>,
    /// A floating tag that is a version's tag: that version's state.
    pub tag_state: Option<GoldenState>,
    /// `REPO@sha256:…` of the line's current version.
    pub suggested: Option<String>,
    /// `--fix` rewrote it.
    pub fixed: bool,
    /// `--fix` could not rewrite it in place: why.
    pub unfixed: Option<String>,
}

impl StaleReference {
    /// Does it name a retired image (pinned, or by the version's tag), still?
    pub fn is_retired(&self) -> bool {
        !self.fixed
            && (self.verdict == Verdict::Retired || self.tag_state == Some(GoldenState::Retired))
    }
}

/// The whole run.
#[derive(Debug, Default)]
pub struct StaleReport {
    pub files: usize,
    pub references: Vec<StaleReference>,
    /// Files rewritten by `--fix`.
    pub fixed_files: Vec<String>,
    /// Files that could not be read (reported, and the run exits 2).
    pub errors: Vec<StaleInputError>,
}

impl StaleReport {
    pub fn retired(&self) -> usize {
        self.references.iter().filter(|r| r.is_retired()).count()
    }
}

/// Collect the files under `paths`: directories recursively (sorted, `.git`
/// and Helm chart `templates/` skipped, symbolic links not followed).
fn collect(paths: &[PathBuf], errors: &mut Vec<StaleInputError>) -> Vec<(PathBuf, PinFileKind)> {
    let mut out = Vec::new();
    for path in paths {
        let display = path.display().to_string();
        match fs_err::symlink_metadata(path) {
            Err(source) => errors.push(StaleInputError::Read {
                path: display,
                source,
            }),
            Ok(meta) if meta.is_dir() => walk(path, &mut out, errors),
            Ok(_) => match PinFileKind::for_path(path) {
                Some(kind) => out.push((path.clone(), kind)),
                None => errors.push(StaleInputError::Kind { path: display }),
            },
        }
    }
    out
}

fn walk(dir: &Path, out: &mut Vec<(PathBuf, PinFileKind)>, errors: &mut Vec<StaleInputError>) {
    let mut entries: Vec<(PathBuf, std::fs::FileType)> = match fs_err::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_type().ok().map(|t| (e.path(), t)))
            .collect(),
        Err(source) => {
            errors.push(StaleInputError::Read {
                path: dir.display().to_string(),
                source,
            });
            return;
        }
    };
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    // A Helm chart's templates are Go templates, YAML only once rendered.
    let chart = entries
        .iter()
        .any(|(p, t)| t.is_file() && p.file_name().is_some_and(|n| n == "Chart.yaml"));
    for (path, file_type) in entries {
        let name = path.file_name().unwrap_or_default();
        if file_type.is_dir() {
            if name == ".git" || (chart && name == "templates") {
                continue;
            }
            walk(&path, out, errors);
        } else if file_type.is_file()
            && let Some(kind) = PinFileKind::for_path(&path)
        {
            out.push((path, kind));
        }
    }
}

fn scan_file(
    path: &Path,
    kind: PinFileKind,
    keep_text: bool,
) -> Result<(Option<String>, Vec<FoundReference>), StaleInputError> {
    let display = path.display().to_string();
    let bytes = fs_err::read(path).map_err(|source| StaleInputError::Read {
        path: display.clone(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|error| {
        let valid = error.utf8_error().valid_up_to();
        let line = error
            .as_bytes()
            .get(..valid)
            .map_or(0, |b| b.split(|c| *c == b'\n').count() - 1)
            + 1;
        StaleInputError::NotUtf8 {
            path: display.clone(),
            line,
        }
    })?;
    let found = pins::find_references(kind, &text).map_err(|error| StaleInputError::Parse {
        path: display,
        error,
    })?;
    Ok((keep_text.then_some(text), found))
}

type Scanned = Result<(Option<String>, Vec<FoundReference>), StaleInputError>;

/// Every file scanned on all cores, results in file order; the text is kept
/// only for `--fix`.
fn scan_all(files: &[(PathBuf, PinFileKind)], keep_text: bool) -> Vec<Scanned> {
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(8);
    let next = AtomicUsize::new(0);
    let mut results: Vec<(usize, Result<_, _>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some((path, kind)) = files.get(index) else {
                            break;
                        };
                        done.push((index, scan_file(path, *kind, keep_text)));
                    }
                    done
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, result)| result).collect()
}

/// The catalog, indexed for judging references.
struct Catalog<'a> {
    by_digest: HashMap<&'a str, &'a GoldenVersion>,
    line_of_repository: HashMap<String, &'a str>,
    current: HashMap<&'a str, &'a GoldenVersion>,
    by_tag: HashMap<(&'a str, &'a str), &'a GoldenVersion>,
}

/// `registry/repository` as the registry client names it (`python` →
/// `docker.io/library/python`).
fn normalise(name: &str) -> Option<drydock_registry::Reference> {
    drydock_registry::Reference::parse(name).ok()
}

impl<'a> Catalog<'a> {
    fn new(versions: &'a [GoldenVersion]) -> Self {
        let mut catalog = Catalog {
            by_digest: HashMap::new(),
            line_of_repository: HashMap::new(),
            current: HashMap::new(),
            by_tag: HashMap::new(),
        };
        for version in versions {
            catalog.by_digest.insert(&version.digest, version);
            let repository = normalise(&version.repository)
                .map_or_else(|| version.repository.clone(), |r| r.name());
            catalog.line_of_repository.insert(repository, &version.line);
            if version.state == GoldenState::Current {
                catalog.current.insert(&version.line, version);
            }
            if let Some(tag) = &version.version {
                catalog.by_tag.insert((&version.line, tag), version);
            }
        }
        catalog
    }

    fn judge(&self, file: &str, found: &FoundReference) -> StaleReference {
        let mut out = StaleReference {
            file: file.to_owned(),
            line: found.line,
            column: found.column,
            kind: found.kind,
            written: found.written.clone(),
            reference: found.reference.clone(),
            verdict: Verdict::Unresolved,
            since: None,
            golden_line: None,
            tag_state: None,
            suggested: None,
            fixed: false,
            unfixed: None,
        };
        let Some(text) = &found.reference else {
            return out;
        };
        out.verdict = Verdict::NotGolden;
        let Some(reference) = normalise(text) else {
            return out;
        };
        let digest = reference.digest.as_ref().map(ToString::to_string);
        let line = if let Some(version) = digest.as_deref().and_then(|d| self.by_digest.get(d)) {
            out.verdict = match version.state {
                GoldenState::Current => Verdict::Current,
                GoldenState::Deprecated => Verdict::Deprecated,
                GoldenState::Retired => Verdict::Retired,
                GoldenState::Candidate => Verdict::Candidate,
                GoldenState::Approved => Verdict::Approved,
            };
            if matches!(
                version.state,
                GoldenState::Deprecated | GoldenState::Retired
            ) {
                out.since = Some(drydock_store::rfc3339(version.state_since));
            }
            Some(version.line.as_str())
        } else if let Some(line) = self.line_of_repository.get(&reference.name()) {
            if digest.is_none() {
                out.verdict = Verdict::Floating;
                out.tag_state = reference
                    .tag
                    .as_deref()
                    .and_then(|tag| self.by_tag.get(&(*line, tag)))
                    .map(|v| v.state);
            }
            Some(*line)
        } else {
            None
        };
        out.golden_line = line.map(str::to_owned);
        out.suggested = line
            .and_then(|l| self.current.get(l))
            .map(|v| format!("{}@{}", v.repository, v.digest));
        out
    }

    /// The current version to pin to, and whether the reference already names its repository.
    fn pin_for(&self, judged: &StaleReference) -> Option<(&'a GoldenVersion, bool)> {
        if !matches!(
            judged.verdict,
            Verdict::Deprecated | Verdict::Retired | Verdict::Floating
        ) {
            return None;
        }
        let current = self.current.get(judged.golden_line.as_deref()?)?;
        let same = match (
            judged.reference.as_deref().and_then(normalise),
            normalise(&current.repository),
        ) {
            (Some(a), Some(b)) => a.name() == b.name(),
            _ => false,
        };
        Some((current, same))
    }
}

/// Scan, judge and (with `fix`) rewrite.
pub fn golden_stale(settings: &StaleSettings) -> Result<StaleReport, GoldenOpsError> {
    let versions = crate::golden_catalog(&settings.fleet)?;
    let catalog = Catalog::new(&versions);
    let mut report = StaleReport::default();
    let files = collect(&settings.paths, &mut report.errors);
    report.files = files.len();
    for ((path, _), result) in files.iter().zip(scan_all(&files, settings.fix)) {
        let (text, found) = match result {
            Ok(scanned) => scanned,
            Err(error) => {
                report.errors.push(error);
                continue;
            }
        };
        let display = path.display().to_string();
        let mut judged: Vec<StaleReference> =
            found.iter().map(|f| catalog.judge(&display, f)).collect();
        if let Some(text) = text {
            let mut edits = Vec::new();
            let mut fixed = Vec::new();
            for (index, (f, j)) in found.iter().zip(judged.iter_mut()).enumerate() {
                let Some((current, same)) = catalog.pin_for(j) else {
                    continue;
                };
                match pins::pin_edits(
                    f,
                    &current.repository,
                    &current.digest,
                    current.version.as_deref(),
                    same,
                ) {
                    Ok(mut more) => {
                        edits.append(&mut more);
                        fixed.push(index);
                    }
                    Err(reason) => j.unfixed = Some(reason),
                }
            }
            if !edits.is_empty() {
                match pins::apply_edits(&text, &edits) {
                    Ok(new) if new != text => match write_atomically(path, new.as_bytes()) {
                        Ok(()) => {
                            for index in fixed {
                                if let Some(j) = judged.get_mut(index) {
                                    j.fixed = true;
                                }
                            }
                            report.fixed_files.push(display.clone());
                        }
                        Err(source) => report.errors.push(StaleInputError::Write {
                            path: display.clone(),
                            source,
                        }),
                    },
                    Ok(_) => {}
                    Err(conflict) => report.errors.push(StaleInputError::Fix {
                        path: display.clone(),
                        reason: conflict.to_string(),
                    }),
                }
            }
        }
        report.references.append(&mut judged);
    }
    Ok(report)
}

/// Write `bytes` to a temporary file beside `path` with its permissions,
/// then rename it over `path`.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let permissions = fs_err::metadata(path)?.permissions();
    let mut temp = tempfile::Builder::new()
        .prefix(".drydock-stale-")
        .tempfile_in(dir)?;
    temp.as_file_mut().write_all(bytes)?;
    temp.as_file_mut().sync_all()?;
    fs_err::set_permissions(temp.path(), permissions)?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
