//! `Packages` indices: one paragraph per binary package.
use crate::control::{Relations, parse_paragraphs, parse_provides, parse_relations};

/// What the resolver and the fetcher need from a `Packages` paragraph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexPackage {
    pub name: String,
    pub version: String,
    pub architecture: String,
    pub multi_arch: Option<String>,
    pub pre_depends: Relations,
    pub depends: Relations,
    /// `Conflicts` and `Breaks` (no alternatives: one relation per group).
    pub conflicts: Relations,
    pub breaks: Relations,
    pub provides: Vec<(String, Option<String>)>,
    pub filename: String,
    pub sha256: String,
    pub size: u64,
    /// Index into the spec's suites.
    pub suite: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum PackagesError {
    #[error("bad control data")]
    Control(#[source] crate::control::ControlError),
    #[error("package `{package}`: missing field `{field}`")]
    Missing {
        package: String,
        field: &'static str,
    },
    #[error("package `{package}`: bad field `{field}`")]
    Relation {
        package: String,
        field: &'static str,
        #[source]
        source: crate::control::RelationError,
    },
    #[error("package `{package}`: bad field `{field}`")]
    Field {
        package: String,
        field: &'static str,
    },
}

/// Parse a Packages index, keeping packages of `architectures`.
pub fn parse_packages(
    text: &str,
    suite: usize,
    architectures: &[&str],
) -> Result<Vec<IndexPackage>, PackagesError> {
    let mut packages = Vec::new();
    for paragraph in parse_paragraphs(text).map_err(PackagesError::Control)? {
        let name = paragraph
            .get("Package")
            .ok_or(PackagesError::Missing {
                package: "?".into(),
                field: "Package",
            })?
            .to_owned();
        let field = |field: &'static str| {
            paragraph
                .get(field)
                .map(str::to_owned)
                .ok_or_else(|| PackagesError::Missing {
                    package: name.clone(),
                    field,
                })
        };
        let architecture = field("Architecture")?;
        if !architectures.contains(&architecture.as_str()) {
            continue;
        }
        let relations = |field: &'static str| {
            parse_relations(paragraph.get(field).unwrap_or_default()).map_err(|source| {
                PackagesError::Relation {
                    package: name.clone(),
                    field,
                    source,
                }
            })
        };
        let sha256 = field("SHA256")?.to_ascii_lowercase();
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(PackagesError::Field {
                package: name,
                field: "SHA256",
            });
        }
        let size = field("Size")?.parse().map_err(|_| PackagesError::Field {
            package: name.clone(),
            field: "Size",
        })?;
        let filename = field("Filename")?;
        if filename
            .split('/')
            .any(|part| part == ".." || part.is_empty())
        {
            return Err(PackagesError::Field {
                package: name,
                field: "Filename",
            });
        }
        packages.push(IndexPackage {
            version: field("Version")?,
            architecture,
            multi_arch: paragraph.get("Multi-Arch").map(str::to_owned),
            pre_depends: relations("Pre-Depends")?,
            depends: relations("Depends")?,
            conflicts: relations("Conflicts")?,
            breaks: relations("Breaks")?,
            provides: parse_provides(paragraph.get("Provides").unwrap_or_default()).map_err(
                |source| PackagesError::Relation {
                    package: name.clone(),
                    field: "Provides",
                    source,
                },
            )?,
            filename,
            sha256,
            size,
            suite,
            name,
        });
    }
    Ok(packages)
}
