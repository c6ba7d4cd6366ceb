//! Stale pins: every image reference in the files that name images —
//! Dockerfiles/Containerfiles, Kubernetes manifests, Kustomize `images:`,
//! Helm values, Docker Compose, GitHub Actions and GitLab CI — with its exact
//! position and the source span `--fix` rewrites to pin it.
//!
//! Pure: text in, references out; the caller reads and writes files.
//! YAML goes through `granit-parser` (events with byte spans), so quoting,
//! flow and block styles, anchors, aliases and merge keys are the parser's
//! business, not a regular expression's.
mod dockerfile;
mod substitute;
mod yaml;

use std::ops::Range;
use std::path::Path;

use serde::Serialize;

/// What kind of file a reference was found in (and how it was read).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PinFileKind {
    Dockerfile,
    Kubernetes,
    Kustomize,
    Helm,
    Compose,
    GithubActions,
    GitlabCi,
}

impl PinFileKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PinFileKind::Dockerfile => "dockerfile",
            PinFileKind::Kubernetes => "kubernetes",
            PinFileKind::Kustomize => "kustomize",
            PinFileKind::Helm => "helm",
            PinFileKind::Compose => "compose",
            PinFileKind::GithubActions => "github-actions",
            PinFileKind::GitlabCi => "gitlab-ci",
        }
    }

    /// How a file is read, from its path; `None` for files that name no images.
    ///
    /// YAML files with no more specific name are read as Kubernetes
    /// manifests: only documents with `apiVersion` and `kind` count, so
    /// unrelated YAML contributes nothing.
    pub fn for_path(path: &Path) -> Option<PinFileKind> {
        let name = path.file_name()?.to_str()?;
        let lower = name.to_ascii_lowercase();
        if lower == "dockerfile"
            || lower == "containerfile"
            || lower.starts_with("dockerfile.")
            || lower.starts_with("containerfile.")
            || lower.ends_with(".dockerfile")
            || lower.ends_with(".containerfile")
        {
            return Some(PinFileKind::Dockerfile);
        }
        if name == "Kustomization" {
            return Some(PinFileKind::Kustomize);
        }
        let stem = lower
            .strip_suffix(".yaml")
            .or_else(|| lower.strip_suffix(".yml"))?;
        let parent = |wanted: &[&str]| {
            let mut components: Vec<&str> = path
                .parent()
                .map(|p| p.iter().filter_map(|c| c.to_str()).collect())
                .unwrap_or_default();
            for expected in wanted.iter().rev() {
                if components.pop() != Some(expected) {
                    return false;
                }
            }
            true
        };
        Some(if parent(&[".github", "workflows"]) {
            PinFileKind::GithubActions
        } else if stem == "action" {
            // A Docker container action's `runs.image: docker://…`.
            PinFileKind::GithubActions
        } else if stem == ".gitlab-ci" || stem.ends_with(".gitlab-ci") || parent(&[".gitlab", "ci"])
        {
            PinFileKind::GitlabCi
        } else if stem == "kustomization" {
            PinFileKind::Kustomize
        } else if stem.starts_with("docker-compose")
            || stem == "compose"
            || stem.starts_with("compose.")
            || stem.starts_with("compose-")
            || stem.ends_with(".compose")
        {
            PinFileKind::Compose
        } else if stem == "values"
            || stem.starts_with("values-")
            || stem.starts_with("values.")
            || stem.ends_with("-values")
            || stem.ends_with(".values")
        {
            PinFileKind::Helm
        } else {
            PinFileKind::Kubernetes
        })
    }
}

/// A field of a split reference (Helm `image:` maps, Kustomize `images:`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Field {
    /// Byte range of the value in the file (inside quotes).
    pub range: Range<usize>,
    pub value: String,
}

/// Where `--fix` writes a pin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "how")]
pub enum Rewrite {
    /// The range holds the whole reference (or the `ARG` default it comes from).
    Whole { range: Range<usize> },
    /// Helm `image:` map (`registry`, `repository`, `digest`) or Kustomize
    /// `images:` entry (`newName`, `digest`).
    Fields {
        registry: Option<Field>,
        /// `repository` (Helm) or `newName` (Kustomize).
        repository: Option<Field>,
        /// `tag` (Helm) or `newTag` (Kustomize): set to the pinned version's tag, when it has one.
        tag: Option<Field>,
        digest: Option<Field>,
    },
    /// Nothing can be rewritten in place; why.
    Unfixable { reason: String },
}

/// One image reference found in a file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FoundReference {
    pub kind: PinFileKind,
    /// 1-based line of the reference's first character.
    pub line: usize,
    /// 1-based column of that character, counted in characters.
    pub column: usize,
    /// The reference as written (for split references, its parts joined as
    /// `REGISTRY/REPOSITORY:TAG@DIGEST`).
    pub written: String,
    /// After `ARG` / variable substitution; `None` when a variable has no value.
    pub reference: Option<String>,
    pub rewrite: Rewrite,
}

/// Input that cannot be read as its kind of file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct PinParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Every image reference in `text`, read as `kind`, in file order.
pub fn find_references(
    kind: PinFileKind,
    text: &str,
) -> Result<Vec<FoundReference>, PinParseError> {
    let mut found = match kind {
        PinFileKind::Dockerfile => dockerfile::references(text)?,
        _ => yaml::references(kind, text)?,
    };
    found.sort_by_key(|f| (f.line, f.column));
    found.dedup();
    Ok(found)
}

/// One replacement in a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    pub range: Range<usize>,
    pub replacement: String,
}

/// The edits that pin `found` to `repository@digest`. `same_repository`:
/// the reference already names `repository` (as the caller normalises
/// names), so split references keep their repository fields; `version_tag`
/// is written to a split reference's tag field, so tag and digest agree.
pub fn pin_edits(
    found: &FoundReference,
    repository: &str,
    digest: &str,
    version_tag: Option<&str>,
    same_repository: bool,
) -> Result<Vec<Edit>, String> {
    match &found.rewrite {
        Rewrite::Whole { range } => Ok(vec![Edit {
            range: range.clone(),
            replacement: format!("{repository}@{digest}"),
        }]),
        Rewrite::Unfixable { reason } => Err(reason.clone()),
        Rewrite::Fields {
            registry,
            repository: name,
            tag,
            digest: digest_field,
        } => {
            let Some(digest_field) = digest_field else {
                return Err("no `digest` field to pin: add one".to_owned());
            };
            let mut edits = vec![Edit {
                range: digest_field.range.clone(),
                replacement: digest.to_owned(),
            }];
            if let (Some(tag), Some(version_tag)) = (tag, version_tag) {
                edits.push(Edit {
                    range: tag.range.clone(),
                    replacement: version_tag.to_owned(),
                });
            }
            if !same_repository {
                match (registry, name) {
                    (Some(registry), Some(name)) => {
                        let (host, path) = split_registry(repository);
                        edits.push(Edit {
                            range: registry.range.clone(),
                            replacement: host.to_owned(),
                        });
                        edits.push(Edit {
                            range: name.range.clone(),
                            replacement: path.to_owned(),
                        });
                    }
                    (None, Some(name)) => edits.push(Edit {
                        range: name.range.clone(),
                        replacement: repository.to_owned(),
                    }),
                    (_, None) => {
                        return Err(
                            "the repository differs and there is no `newName` field to change"
                                .to_owned(),
                        );
                    }
                }
            }
            Ok(edits)
        }
    }
}

/// `registry.example:5000/team/app` → (`registry.example:5000`, `team/app`);
/// a name without a registry host is Docker Hub's.
fn split_registry(repository: &str) -> (&str, &str) {
    match repository.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (first, rest)
        }
        _ => ("docker.io", repository),
    }
}

/// Where two edits of one file collide.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("edits at bytes {first:?} and {second:?} overlap")]
pub struct EditConflict {
    pub first: Range<usize>,
    pub second: Range<usize>,
}

/// `text` with `edits` applied; identical edits count once, ranges outside
/// the text or overlapping ones are refused.
pub fn apply_edits(text: &str, edits: &[Edit]) -> Result<String, EditConflict> {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.range.start, e.range.end));
    sorted.dedup();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    let mut previous: Option<&Range<usize>> = None;
    for edit in sorted {
        let conflict = || EditConflict {
            first: previous.cloned().unwrap_or(0..0),
            second: edit.range.clone(),
        };
        if edit.range.start < at {
            return Err(conflict());
        }
        let (Some(keep), Some(_)) = (text.get(at..edit.range.start), text.get(edit.range.clone()))
        else {
            return Err(conflict());
        };
        out.push_str(keep);
        out.push_str(&edit.replacement);
        at = edit.range.end;
        previous = Some(&edit.range);
    }
    out.push_str(text.get(at..).unwrap_or_default());
    Ok(out)
}

/// 1-based line and character column of byte `offset`.
struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Lines { text, starts }
    }

    fn position(&self, offset: usize) -> (usize, usize) {
        let index = self.starts.partition_point(|&start| start <= offset).max(1) - 1;
        let start = self.starts.get(index).copied().unwrap_or(0);
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        // A byte-order mark takes no column.
        let bom = usize::from(start == 0 && offset > 0 && self.text.starts_with('\u{feff}'));
        (index + 1, column + 1 - bom)
    }
}

/// Does `text` look like an image reference (`[host[:port]/]path[:tag][@digest]`)?
fn looks_like_reference(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 512
        && !text.starts_with(['-', '.', '/', ':', '@'])
        && text.bytes().any(|b| b.is_ascii_alphanumeric())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-/:@+".contains(&b))
}

#[cfg(test)]
mod tests;
