//! `golden.lock`: every resolved package pinned by version and SHA-256.
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::spec::Spec;

/// Where the lock's content is embedded in the image.
pub const LOCK_PATH_IN_IMAGE: &str = "etc/drydock/golden.lock";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    pub version: u32,
    /// What the lock was resolved from; a spec with other inputs needs `--update`.
    pub inputs: Inputs,
    pub packages: Vec<LockedPackage>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inputs {
    pub packages: Vec<String>,
    pub exclude: Vec<String>,
    /// `ARCHIVE SUITE` per suite, in the spec's order.
    pub suites: Vec<String>,
    pub architecture: String,
    /// The spec's target release, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_release: Option<String>,
    /// The spec's pins as `PACKAGE RELEASE PRIORITY`, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pins: Vec<String>,
}

impl Inputs {
    pub fn of(spec: &Spec) -> Self {
        Self {
            packages: spec.roots(),
            exclude: spec.excludes().into_iter().collect(),
            suites: spec
                .suites()
                .into_iter()
                .filter_map(|(a, s)| spec.archives.get(a).map(|a| format!("{} {s}", a.url)))
                .collect(),
            architecture: spec.architecture.clone(),
            target_release: spec.target_release.clone(),
            pins: spec
                .pins
                .iter()
                .map(|pin| format!("{} {} {}", pin.package, pin.release, pin.priority))
                .collect(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedPackage {
    pub name: String,
    pub version: String,
    pub architecture: String,
    pub suite: String,
    pub archive: String,
    pub filename: String,
    pub size: u64,
    pub sha256: String,
}

impl Lock {
    pub fn read(path: &Path) -> Result<Option<Self>, Box<dyn std::error::Error + Send + Sync>> {
        match fs_err::read_to_string(path) {
            Ok(text) => {
                let lock: Lock = serde_json::from_str(&text)?;
                for package in &lock.packages {
                    if package.sha256.len() != 64
                        || !package.sha256.bytes().all(|b| b.is_ascii_hexdigit())
                        || package
                            .filename
                            .split('/')
                            .any(|p| p == ".." || p.is_empty())
                    {
                        return Err(
                            format!("package `{}`: bad sha256 or filename", package.name).into(),
                        );
                    }
                }
                Ok(Some(lock))
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(Box::new(error)),
        }
    }

    /// Pretty JSON, packages sorted by name, trailing newline.
    pub fn to_json(&self) -> String {
        let mut sorted = self.clone();
        sorted.packages.sort_by(|a, b| a.name.cmp(&b.name));
        let mut text = serde_json::to_string_pretty(&sorted).unwrap_or_default();
        text.push('\n');
        text
    }
}
