//! The golden image spec (`golden.yaml`), documented in docs/golden.md.
use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// The image's base name (`org.opencontainers.image.base.name`).
    pub name: String,
    /// A named package set and configuration: `static`, `base`, `cc`, `python3`.
    #[serde(default)]
    pub profile: Option<String>,
    #[serde(default = "default_distribution")]
    pub distribution: String,
    #[serde(default = "default_architecture")]
    pub architecture: String,
    pub archives: Vec<Archive>,
    /// OpenPGP keyring (binary or armored) that must have signed every InRelease.
    #[serde(default = "default_keyring")]
    pub keyring: String,
    #[serde(default)]
    pub packages: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
    /// apt's target release (`-t`, `APT::Default-Release`): its versions get
    /// priority 990. A suite or codename.
    #[serde(default)]
    pub target_release: Option<String>,
    /// apt_preferences(5) pins, in order (docs/golden.md).
    #[serde(default)]
    pub pins: Vec<Pin>,
    /// Users besides root; `nonroot` (65532) when absent.
    #[serde(default)]
    pub users: Option<Vec<User>>,
    /// Groups besides root; `nonroot` (65532) when absent.
    #[serde(default)]
    pub groups: Option<Vec<Group>>,
    #[serde(default)]
    pub directories: Vec<Directory>,
    #[serde(default)]
    pub files: Vec<File>,
    #[serde(default)]
    pub config: Config,
    /// Manifest annotations (besides the `org.opencontainers.image.*` ones drydock sets).
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// `org.opencontainers.image.version`.
    #[serde(default)]
    pub version: Option<String>,
    /// `org.opencontainers.image.revision`.
    #[serde(default)]
    pub revision: Option<String>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Archive {
    pub url: String,
    pub suites: Vec<String>,
    #[serde(default = "default_components")]
    pub components: Vec<String>,
}

/// One apt_preferences(5) entry: `Package: {package}`, `Pin: release
/// a={release}` (or `n=`), `Pin-Priority: {priority}`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Pin {
    /// A package name, or `*` for every package.
    pub package: String,
    /// A suite or codename.
    pub release: String,
    pub priority: i32,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    #[serde(default)]
    pub home: Option<String>,
    #[serde(default = "default_shell")]
    pub shell: String,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub name: String,
    pub gid: u32,
    #[serde(default)]
    pub members: Vec<String>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Directory {
    pub path: String,
    #[serde(default = "default_dir_mode")]
    pub mode: Mode,
    #[serde(default)]
    pub uid: u32,
    #[serde(default)]
    pub gid: u32,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct File {
    pub path: String,
    /// Inline content…
    #[serde(default)]
    pub content: Option<String>,
    /// …or a file relative to the spec's directory.
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default = "default_file_mode")]
    pub mode: Mode,
    #[serde(default)]
    pub uid: u32,
    #[serde(default)]
    pub gid: u32,
}

/// A permission mode written as an octal string (`"0640"`) or a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mode(pub u32);

impl<'de> Deserialize<'de> for Mode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Number(u32),
        }
        let mode = match Raw::deserialize(deserializer)? {
            Raw::Text(text) => u32::from_str_radix(text.trim_start_matches("0o"), 8)
                .map_err(|_| serde::de::Error::custom(format!("`{text}` is not an octal mode")))?,
            Raw::Number(number) => number,
        };
        if mode > 0o7777 {
            return Err(serde::de::Error::custom(format!(
                "mode {mode:o} is above 7777"
            )));
        }
        Ok(Mode(mode))
    }
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default)]
    pub cmd: Option<Vec<String>>,
    #[serde(default)]
    pub workdir: Option<String>,
    /// `uid[:gid]` or a user name; `65532:65532` (nonroot) when absent.
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub exposed_ports: Vec<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

fn default_distribution() -> String {
    "debian".into()
}
fn default_architecture() -> String {
    "amd64".into()
}
fn default_keyring() -> String {
    "/usr/share/keyrings/debian-archive-keyring.gpg".into()
}
fn default_components() -> Vec<String> {
    vec!["main".into()]
}
fn default_shell() -> String {
    "/sbin/nologin".into()
}
fn default_dir_mode() -> Mode {
    Mode(0o755)
}
fn default_file_mode() -> Mode {
    Mode(0o644)
}

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("not a golden image spec")]
    Yaml(#[source] Box<serde_saphyr::Error>),
    #[error("unknown profile `{0}` (expected static, base, cc or python3)")]
    Profile(String),
    #[error("`{0}`: only the `debian` distribution is supported")]
    Distribution(String),
    #[error("`{0}`: paths must be absolute, without `..`")]
    Path(String),
    #[error("file `{0}`: exactly one of `content` and `source`")]
    FileContent(String),
    #[error("no archives")]
    NoArchives,
}

/// A named package set (distroless's images, reasoned from Debian's
/// dependencies): packages, excludes, and default configuration.
pub struct Profile {
    pub packages: Vec<&'static str>,
    pub exclude: &'static [&'static str],
    pub entrypoint: Option<&'static [&'static str]>,
}

const STATIC: &[&str] = &[
    "base-files",
    "ca-certificates",
    "media-types",
    "netbase",
    "tzdata",
];
const BASE: &[&str] = &["libc6", "libssl3"];
const CC: &[&str] = &["libgcc-s1", "libgomp1", "libstdc++6"];
/// Maintainer-script and tooling dependencies that a distroless image leaves
/// out: awk (base-files' Pre-Depends), debconf (tzdata, ca-certificates),
/// openssl (ca-certificates' postinst), dpkg and install-info (python3-minimal,
/// readline-common).
const EXCLUDE: &[&str] = &[
    "awk",
    "debconf",
    "debconf-2.0",
    "dpkg",
    "install-info",
    "openssl",
];

pub fn profile(name: &str) -> Result<Profile, SpecError> {
    let layers: &[&[&'static str]] = match name {
        "static" => &[STATIC],
        "base" => &[STATIC, BASE],
        "cc" => &[STATIC, BASE, CC],
        "python3" => &[STATIC, BASE, CC, &["python3"]],
        other => return Err(SpecError::Profile(other.to_owned())),
    };
    Ok(Profile {
        packages: layers.iter().flat_map(|l| l.iter().copied()).collect(),
        exclude: EXCLUDE,
        entrypoint: (name == "python3").then_some(&["/usr/bin/python3"][..]),
    })
}

impl Spec {
    pub fn parse(text: &str) -> Result<Self, SpecError> {
        let spec: Spec =
            serde_saphyr::from_str(text).map_err(|error| SpecError::Yaml(Box::new(error)))?;
        if spec.distribution != "debian" {
            return Err(SpecError::Distribution(spec.distribution));
        }
        if spec.archives.is_empty() {
            return Err(SpecError::NoArchives);
        }
        if let Some(profile_name) = &spec.profile {
            profile(profile_name)?;
        }
        for path in spec
            .files
            .iter()
            .map(|f| &f.path)
            .chain(spec.directories.iter().map(|d| &d.path))
        {
            if !path.starts_with('/') || path.split('/').any(|part| part == "..") {
                return Err(SpecError::Path(path.clone()));
            }
        }
        for file in &spec.files {
            if file.content.is_some() == file.source.is_some() {
                return Err(SpecError::FileContent(file.path.clone()));
            }
        }
        Ok(spec)
    }

    /// The packages to install: the profile's plus the spec's, sorted.
    pub fn roots(&self) -> Vec<String> {
        let mut roots: Vec<String> = self.packages.clone();
        if let Some(profile) = self.profile.as_deref().and_then(|p| profile(p).ok()) {
            roots.extend(profile.packages.iter().map(|p| (*p).to_owned()));
        }
        roots.sort();
        roots.dedup();
        roots
    }

    pub fn excludes(&self) -> std::collections::BTreeSet<String> {
        let mut excludes: std::collections::BTreeSet<String> =
            self.exclude.iter().cloned().collect();
        if let Some(profile) = self.profile.as_deref().and_then(|p| profile(p).ok()) {
            excludes.extend(profile.exclude.iter().map(|p| (*p).to_owned()));
        }
        excludes
    }

    pub fn entrypoint(&self) -> Option<Vec<String>> {
        self.config.entrypoint.clone().or_else(|| {
            self.profile
                .as_deref()
                .and_then(|p| profile(p).ok())
                .and_then(|p| p.entrypoint)
                .map(|e| e.iter().map(|s| (*s).to_owned()).collect())
        })
    }

    /// The suites in order: `(archive index, suite)`.
    pub fn suites(&self) -> Vec<(usize, &str)> {
        self.archives
            .iter()
            .enumerate()
            .flat_map(|(i, a)| a.suites.iter().map(move |s| (i, s.as_str())))
            .collect()
    }

    pub fn users(&self) -> Vec<User> {
        self.users.clone().unwrap_or_else(|| {
            vec![User {
                name: "nonroot".into(),
                uid: 65532,
                gid: 65532,
                home: Some("/home/nonroot".into()),
                shell: default_shell(),
            }]
        })
    }

    pub fn groups(&self) -> Vec<Group> {
        self.groups.clone().unwrap_or_else(|| {
            vec![Group {
                name: "nonroot".into(),
                gid: 65532,
                members: Vec::new(),
            }]
        })
    }
}
