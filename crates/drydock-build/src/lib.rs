//! Golden images from Debian archives: a YAML spec (docs/golden.md) is
//! resolved against signed Packages indices into a lock file, the pinned
//! .debs are fetched (verified, cached by SHA-256), unpacked without
//! maintainer scripts into a distroless filesystem, and written as a
//! reproducible OCI image.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]
#![allow(
    clippy::case_sensitive_file_extension_comparisons,
    reason = "deb(5) member names and archive paths are lowercase by definition"
)]

pub mod control;
pub mod deb;
pub mod fetch;
pub mod image;
pub mod lock;
pub mod packages;
pub mod patch;
pub mod pin;
pub mod release;
pub mod resolve;
pub mod spec;
pub mod tree;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub use fetch::{FetchError, sha256_hex, url_key};
pub use lock::{LOCK_PATH_IN_IMAGE, Lock, LockedPackage};
pub use spec::{Spec, SpecError};

use fetch::{CachedError, Fetcher, write_atomic};
use tree::{Kind, Tree};

/// Where the image goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    OciDir(PathBuf),
    OciArchive(PathBuf),
    DockerArchive(PathBuf),
}

impl Output {
    pub fn path(&self) -> &Path {
        match self {
            Self::OciDir(p) | Self::OciArchive(p) | Self::DockerArchive(p) => p,
        }
    }
}

#[derive(Clone, Debug)]
pub struct BuildSettings {
    pub spec: PathBuf,
    /// `<spec stem>.lock` beside the spec when absent.
    pub lock: Option<PathBuf>,
    pub cache_dir: PathBuf,
    pub offline: bool,
    /// Re-resolve even when the lock exists.
    pub update: bool,
    /// `(archive URL prefix, replacement)` pairs.
    pub mirrors: Vec<(String, String)>,
    /// Seconds since the epoch for every timestamp.
    pub source_date_epoch: u64,
    /// RFC 3339 form of `source_date_epoch`.
    pub created: String,
    /// Now, seconds since the epoch: an InRelease past its `Valid-Until`, or
    /// dated later than now plus [`CLOCK_SKEW`], is refused.
    pub now: i64,
    /// Accept such an InRelease with a warning instead.
    pub allow_stale_release: bool,
}

/// Seconds an InRelease's `Date` may lie in the future (clock skew between
/// the archive and this machine).
pub const CLOCK_SKEW: i64 = 600;

impl BuildSettings {
    pub fn lock_path(&self) -> PathBuf {
        self.lock
            .clone()
            .unwrap_or_else(|| self.spec.with_extension("lock"))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("spec `{}`", path.display())]
    ReadSpec {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("spec `{}`", path.display())]
    Spec {
        path: PathBuf,
        #[source]
        source: SpecError,
    },
    #[error("keyring `{path}`")]
    Keyring {
        path: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("`{url}`: InRelease signature check failed")]
    Signature {
        url: String,
        #[source]
        source: release::ReleaseError,
    },
    #[error("`{url}`: InRelease is for `{found}`, not `{suite}`")]
    WrongSuite {
        url: String,
        suite: String,
        found: String,
    },
    #[error(
        "`{url}`: suite `{suite}` expired: `Valid-Until` is {}, now is {} (a replayed old index would freeze the build on old packages)\n\nhint: `--allow-stale-release` accepts it with a warning",
        drydock_core::time::format_rfc3339(*valid_until),
        drydock_core::time::format_rfc3339(*now)
    )]
    Expired {
        url: String,
        suite: String,
        valid_until: i64,
        now: i64,
    },
    #[error(
        "`{url}`: suite `{suite}` is dated in the future: `Date` is {}, now is {} (more than {} s of clock skew)\n\nhint: check this machine's clock; `--allow-stale-release` accepts it with a warning",
        drydock_core::time::format_rfc3339(*date),
        drydock_core::time::format_rfc3339(*now),
        CLOCK_SKEW
    )]
    Future {
        url: String,
        suite: String,
        date: i64,
        now: i64,
    },
    #[error("`{url}`: not listed in the signed Release file")]
    NotInRelease { url: String },
    #[error("`{url}`: SHA256 {actual} does not match {expected} from `{listed_in}`")]
    Hash {
        url: String,
        expected: String,
        actual: String,
        listed_in: String,
    },
    #[error("`{url}`")]
    Fetch {
        url: String,
        #[source]
        source: FetchError,
    },
    #[error("`{url}`: cannot read the index")]
    Index {
        url: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("cannot resolve the packages of `{}`", spec.display())]
    Resolve {
        spec: PathBuf,
        #[source]
        source: Box<resolve::ResolveError>,
    },
    #[error("lock `{}`", path.display())]
    Lock {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("lock `{}` was made for other packages, excludes or suites than the spec's\n\nhint: run `drydock build --update` to re-resolve", path.display())]
    StaleLock { path: PathBuf },
    #[error("package `{package}` (`{filename}`)")]
    Deb {
        package: String,
        filename: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("file `{path}` of the spec")]
    SpecFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write `{}`", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The result of a build.
#[derive(Clone, Debug)]
pub struct Built {
    pub manifest_digest: String,
    pub output: Output,
    pub lock: Lock,
    pub lock_path: PathBuf,
    pub lock_written: bool,
    /// Trust exceptions the user allowed (`--allow-stale-release`).
    pub warnings: Vec<String>,
    /// Uncompressed and compressed layer sizes.
    pub layer_size: u64,
    pub compressed_size: u64,
}

/// What `mirror` fetched.
#[derive(Clone, Debug)]
pub struct Mirrored {
    pub lock: Lock,
    pub lock_path: PathBuf,
    pub lock_written: bool,
    pub warnings: Vec<String>,
    pub debs: usize,
    pub bytes: u64,
}

/// Largest index or .deb downloaded.
const DOWNLOAD_LIMIT: u64 = 1 << 30;
const RELEASE_LIMIT: u64 = 64 << 20;

fn load_spec(path: &Path) -> Result<Spec, BuildError> {
    let text = fs_err::read_to_string(path).map_err(|source| BuildError::ReadSpec {
        path: path.to_owned(),
        source,
    })?;
    Spec::parse(&text).map_err(|source| BuildError::Spec {
        path: path.to_owned(),
        source,
    })
}

/// What resolving a spec gave: the packages, and warnings for the user.
#[derive(Clone, Debug)]
pub struct Resolution {
    pub packages: Vec<packages::IndexPackage>,
    pub warnings: Vec<String>,
}

/// How fresh an archive's InRelease must be.
#[derive(Clone, Copy, Debug)]
pub struct Freshness {
    /// Now, seconds since the epoch: an InRelease past its `Valid-Until`, or
    /// dated later than now plus [`CLOCK_SKEW`], is refused.
    pub now: i64,
    /// Accept such an InRelease with a warning instead.
    pub allow_stale_release: bool,
}

/// Every verified package of some archives' suites, their Release files (in
/// suite order) and the trust exceptions the user allowed.
pub(crate) struct Indices {
    pub packages: Vec<packages::IndexPackage>,
    pub releases: Vec<release::Release>,
    pub warnings: Vec<String>,
}

/// Download (or read from the cache) and verify every InRelease and index,
/// then resolve the spec's packages with apt's pin priorities.
fn resolve_spec(
    spec: &Spec,
    settings: &BuildSettings,
    fetcher: &Fetcher,
) -> Result<Resolution, BuildError> {
    let freshness = Freshness {
        now: settings.now,
        allow_stale_release: settings.allow_stale_release,
    };
    let Indices {
        packages: all,
        releases,
        warnings,
    } = load_indices(
        &spec.keyring,
        &spec.archives,
        &spec.architecture,
        fetcher,
        freshness,
    )?;
    let policy = pin::Policy::new(spec, &releases);
    let universe = resolve::Universe::with_priorities(all, |package| policy.priority(package));
    let packages =
        resolve::resolve(&universe, &spec.roots(), &spec.excludes()).map_err(|source| {
            BuildError::Resolve {
                spec: settings.spec.clone(),
                source: Box::new(source),
            }
        })?;
    Ok(Resolution { packages, warnings })
}

/// Every package of the archives' suites (`IndexPackage::suite` counts the
/// suites in order, archive by archive), each InRelease verified with
/// `keyring` and checked for replay (suite name, `Valid-Until`, `Date`), and
/// each index checked against its signed Release.
pub(crate) fn load_indices(
    keyring_path: &str,
    archives: &[spec::Archive],
    architecture: &str,
    fetcher: &Fetcher,
    freshness: Freshness,
) -> Result<Indices, BuildError> {
    let keyring_bytes = fs_err::read(keyring_path).map_err(|source| BuildError::Keyring {
        path: keyring_path.to_owned(),
        source: Box::new(source),
    })?;
    let keyring =
        release::Keyring::parse(&keyring_bytes).map_err(|source| BuildError::Keyring {
            path: keyring_path.to_owned(),
            source: Box::new(source),
        })?;
    let suites: Vec<(&spec::Archive, &str)> = archives
        .iter()
        .flat_map(|a| a.suites.iter().map(move |s| (a, s.as_str())))
        .collect();
    let mut all = Vec::new();
    let mut warnings = Vec::new();
    let mut releases = Vec::new();
    for (suite_index, (archive, suite)) in suites.into_iter().enumerate() {
        let base = format!("{}/dists/{suite}", archive.url.trim_end_matches('/'));
        let in_release_url = format!("{base}/InRelease");
        let relative = format!("dists/{}/{suite}/InRelease", url_key(&archive.url));
        let verify = |bytes: &[u8]| -> Result<String, BuildError> {
            let text = String::from_utf8_lossy(bytes);
            keyring
                .verify_cleartext(&text)
                .map_err(|source| BuildError::Signature {
                    url: in_release_url.clone(),
                    source,
                })
        };
        // Online builds always take the archive's current InRelease.
        if !fetcher.offline {
            fetcher.forget(&relative);
        }
        let bytes = fetcher
            .cached(&relative, &in_release_url, RELEASE_LIMIT, |b| {
                verify(b).map(drop)
            })
            .map_err(|e| flatten(e, &in_release_url))?;
        let signed = verify(&bytes)?;
        let release = release::Release::parse(&signed).map_err(|source| BuildError::Signature {
            url: in_release_url.clone(),
            source,
        })?;
        // A validly signed InRelease of another suite is a replay.
        let names = [release.suite.as_deref(), release.codename.as_deref()];
        if !names.contains(&Some(suite)) {
            return Err(BuildError::WrongSuite {
                url: in_release_url,
                suite: suite.to_owned(),
                found: names
                    .iter()
                    .flatten()
                    .copied()
                    .collect::<Vec<_>>()
                    .join("/"),
            });
        }
        // So is an old one (Valid-Until passed), and a future Date is a
        // broken clock here or there.
        if let Some(staleness) = release.staleness(freshness.now, CLOCK_SKEW) {
            let error = match staleness {
                release::Staleness::Expired { valid_until } => BuildError::Expired {
                    url: in_release_url.clone(),
                    suite: suite.to_owned(),
                    valid_until,
                    now: freshness.now,
                },
                release::Staleness::Future { date } => BuildError::Future {
                    url: in_release_url.clone(),
                    suite: suite.to_owned(),
                    date,
                    now: freshness.now,
                },
            };
            if !freshness.allow_stale_release {
                return Err(error);
            }
            let text = error.to_string();
            let first = text.lines().next().unwrap_or_default();
            warnings.push(format!("{first} (accepted: --allow-stale-release)"));
        }
        for component in &archive.components {
            let mut found = false;
            for extension in ["xz", "gz"] {
                let path = format!("{component}/binary-{architecture}/Packages.{extension}");
                let Some((expected, _size)) = release.sha256.get(&path) else {
                    continue;
                };
                found = true;
                let url = format!("{base}/{path}");
                let relative = format!("indices/{expected}.{extension}");
                let check = |bytes: &[u8]| {
                    let actual = sha256_hex(bytes);
                    if actual == *expected {
                        Ok(())
                    } else {
                        Err(BuildError::Hash {
                            url: url.clone(),
                            expected: expected.clone(),
                            actual,
                            listed_in: in_release_url.clone(),
                        })
                    }
                };
                let compressed = fetcher
                    .cached(&relative, &url, DOWNLOAD_LIMIT, check)
                    .map_err(|e| flatten(e, &url))?;
                let text = deb::decompress(&path, &compressed, 4 << 30).map_err(|source| {
                    BuildError::Index {
                        url: url.clone(),
                        source: Box::new(source),
                    }
                })?;
                let text = String::from_utf8_lossy(&text);
                let architectures = [architecture, "all"];
                all.extend(
                    packages::parse_packages(&text, suite_index, &architectures).map_err(
                        |source| BuildError::Index {
                            url: url.clone(),
                            source: Box::new(source),
                        },
                    )?,
                );
                break;
            }
            if !found {
                return Err(BuildError::NotInRelease {
                    url: format!("{base}/{component}/binary-{architecture}/Packages.xz"),
                });
            }
        }
        releases.push(release);
    }
    Ok(Indices {
        packages: all,
        releases,
        warnings,
    })
}

/// Resolve the spec against the archive (or the cache when `offline`)
/// without writing a lock or an image: what `--update` would lock.
pub fn resolve_only(settings: &BuildSettings) -> Result<Resolution, BuildError> {
    let spec = load_spec(&settings.spec)?;
    let fetcher = Fetcher::new(
        settings.cache_dir.clone(),
        settings.offline,
        settings.mirrors.clone(),
    );
    resolve_spec(&spec, settings, &fetcher)
}

fn flatten(error: CachedError<BuildError>, url: &str) -> BuildError {
    match error {
        CachedError::Fetch(source) => BuildError::Fetch {
            url: url.to_owned(),
            source,
        },
        CachedError::Verify(error) => error,
    }
}

/// The lock to build from: the existing one, or a fresh resolution
/// (written to disk) when it is absent or `update` is set; with the
/// resolution's warnings.
fn locked(
    spec: &Spec,
    settings: &BuildSettings,
    fetcher: &Fetcher,
) -> Result<(Lock, PathBuf, bool, Vec<String>), BuildError> {
    let lock_path = settings.lock_path();
    let inputs = lock::Inputs::of(spec);
    if !settings.update
        && let Some(existing) = Lock::read(&lock_path).map_err(|source| BuildError::Lock {
            path: lock_path.clone(),
            source,
        })?
    {
        if existing.inputs != inputs {
            return Err(BuildError::StaleLock { path: lock_path });
        }
        return Ok((existing, lock_path, false, Vec::new()));
    }
    let Resolution {
        packages: resolved,
        warnings,
    } = resolve_spec(spec, settings, fetcher)?;
    let suites = spec.suites();
    let lock = Lock {
        version: 1,
        inputs,
        packages: resolved
            .into_iter()
            .map(|p| {
                let (archive, suite) = suites
                    .get(p.suite)
                    .and_then(|(a, s)| {
                        spec.archives
                            .get(*a)
                            .map(|a| (a.url.clone(), (*s).to_owned()))
                    })
                    .unwrap_or_default();
                LockedPackage {
                    name: p.name,
                    version: p.version,
                    architecture: p.architecture,
                    filename: p.filename,
                    sha256: p.sha256,
                    size: p.size,
                    suite,
                    archive,
                }
            })
            .collect(),
    };
    write_atomic(&lock_path, lock.to_json().as_bytes()).map_err(|source| BuildError::Write {
        path: lock_path.clone(),
        source,
    })?;
    Ok((lock, lock_path, true, warnings))
}

/// A locked package's .deb, from the cache or the archive, SHA-256 checked.
fn fetch_deb(fetcher: &Fetcher, package: &LockedPackage) -> Result<Vec<u8>, BuildError> {
    let url = format!(
        "{}/{}",
        package.archive.trim_end_matches('/'),
        package.filename
    );
    let relative = format!("debs/{}.deb", package.sha256);
    let check = |bytes: &[u8]| {
        let actual = sha256_hex(bytes);
        if actual == package.sha256 {
            Ok(())
        } else {
            Err(BuildError::Hash {
                url: url.clone(),
                expected: package.sha256.clone(),
                actual,
                listed_in: format!(
                    "the Packages entry of `{}` {}",
                    package.name, package.version
                ),
            })
        }
    };
    fetcher
        .cached(&relative, &url, DOWNLOAD_LIMIT, check)
        .map_err(|e| flatten(e, &url))
}

/// `drydock mirror`: resolve (or read the lock) and fetch every .deb and
/// verified index into the cache.
pub fn mirror(settings: &BuildSettings) -> Result<Mirrored, BuildError> {
    let spec = load_spec(&settings.spec)?;
    let fetcher = Fetcher::new(
        settings.cache_dir.clone(),
        settings.offline,
        settings.mirrors.clone(),
    );
    let (lock, lock_path, lock_written, mut warnings) = locked(&spec, settings, &fetcher)?;
    if !lock_written {
        // Indices too, so a later `--update --offline` can re-resolve.
        warnings = resolve_spec(&spec, settings, &fetcher)?.warnings;
    }
    let mut bytes = 0;
    for package in &lock.packages {
        bytes += fetch_deb(&fetcher, package)?.len() as u64;
    }
    Ok(Mirrored {
        debs: lock.packages.len(),
        lock,
        lock_path,
        lock_written,
        warnings,
        bytes,
    })
}

/// `drydock build`: the image, atomically at `output`.
pub fn build(settings: &BuildSettings, output: &Output) -> Result<Built, BuildError> {
    let spec = load_spec(&settings.spec)?;
    let fetcher = Fetcher::new(
        settings.cache_dir.clone(),
        settings.offline,
        settings.mirrors.clone(),
    );
    let (lock, lock_path, lock_written, warnings) = locked(&spec, settings, &fetcher)?;
    let spec_dir = settings.spec.parent().unwrap_or(Path::new("."));
    let tree = assemble_tree(&spec, spec_dir, &lock, &fetcher)?;
    let layer_tar = tree
        .to_tar(settings.source_date_epoch)
        .map_err(|source| write_error(output.path(), source))?;
    let layer_size = layer_tar.len() as u64;
    let mut env = BTreeMap::from([(
        "PATH".to_owned(),
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_owned(),
    )]);
    if lock.packages.iter().any(|p| p.name == "ca-certificates") {
        env.insert(
            "SSL_CERT_FILE".into(),
            "/etc/ssl/certs/ca-certificates.crt".into(),
        );
    }
    env.extend(spec.config.env.clone());
    let mut annotations = spec.annotations.clone();
    annotations.insert(
        "org.opencontainers.image.created".into(),
        settings.created.clone(),
    );
    annotations.insert(
        "org.opencontainers.image.base.name".into(),
        spec.name.clone(),
    );
    if let Some(version) = &spec.version {
        annotations.insert("org.opencontainers.image.version".into(), version.clone());
    }
    if let Some(revision) = &spec.revision {
        annotations.insert("org.opencontainers.image.revision".into(), revision.clone());
    }
    annotations.insert(
        "dev.drydock.golden.lock.sha256".into(),
        sha256_hex(lock.to_json().as_bytes()),
    );
    let user = spec
        .config
        .user
        .clone()
        .unwrap_or_else(|| "65532:65532".into());
    let image = image::assemble(
        layer_tar,
        &image::ImageConfig {
            architecture: &spec.architecture,
            created: &settings.created,
            env: &env,
            entrypoint: spec.entrypoint(),
            cmd: spec.config.cmd.clone(),
            workdir: spec.config.workdir.as_deref(),
            user: &user,
            exposed_ports: &spec.config.exposed_ports,
            labels: &spec.config.labels,
            annotations,
        },
        spec.name.clone(),
        spec.version.clone().unwrap_or_else(|| "latest".into()),
    )
    .map_err(|source| write_error(output.path(), source))?;
    write_output(&image, output, settings.source_date_epoch)?;
    Ok(Built {
        manifest_digest: image.manifest_digest.clone(),
        output: output.clone(),
        lock,
        lock_path,
        lock_written,
        warnings,
        layer_size,
        compressed_size: image.layer_gzip.len() as u64,
    })
}

fn write_error(path: &Path, source: std::io::Error) -> BuildError {
    BuildError::Write {
        path: path.to_owned(),
        source,
    }
}

/// Build beside the target, then rename: a failed build leaves nothing.
fn write_output(image: &image::Image, output: &Output, mtime: u64) -> Result<(), BuildError> {
    let target = output.path();
    let error = |source| write_error(target, source);
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    fs_err::create_dir_all(&parent).map_err(error)?;
    match output {
        Output::OciDir(_) => {
            let temporary = tempfile::Builder::new()
                .prefix(".drydock-build-")
                .tempdir_in(&parent)
                .map_err(error)?;
            image.write_oci_dir(temporary.path()).map_err(error)?;
            let staged = temporary.keep();
            if target.exists() {
                let old = tempfile::Builder::new()
                    .prefix(".drydock-old-")
                    .tempdir_in(&parent)
                    .map_err(error)?;
                let old_path = old.path().join("image");
                fs_err::rename(target, &old_path).map_err(error)?;
                fs_err::rename(&staged, target).map_err(error)?;
                drop(old);
            } else {
                fs_err::rename(&staged, target).map_err(error)?;
            }
        }
        Output::OciArchive(_) => {
            write_atomic(target, &image.oci_archive(mtime).map_err(error)?).map_err(error)?;
        }
        Output::DockerArchive(_) => {
            write_atomic(target, &image.docker_archive(mtime).map_err(error)?).map_err(error)?;
        }
    }
    Ok(())
}

/// Unpack every locked package and add the distroless system files.
fn assemble_tree(
    spec: &Spec,
    spec_dir: &Path,
    lock: &Lock,
    fetcher: &Fetcher,
) -> Result<Tree, BuildError> {
    let mut tree = Tree::default();
    let mut ca_certificates: Vec<String> = Vec::new();
    for package in &lock.packages {
        let bytes = fetch_deb(fetcher, package)?;
        let deb_error = |source: Box<dyn std::error::Error + Send + Sync>| BuildError::Deb {
            package: package.name.clone(),
            filename: package.filename.clone(),
            source,
        };
        let deb = deb::open_deb(&bytes).map_err(|e| deb_error(Box::new(e)))?;
        let (control, md5sums) =
            deb::control_files(&deb.control_tar).map_err(|e| deb_error(Box::new(e)))?;
        let control =
            control.ok_or_else(|| deb_error("no `control` file in control.tar".into()))?;
        let shipped = tree
            .unpack(&deb.data_tar)
            .map_err(|e| deb_error(Box::new(e)))?;
        if package.name == "ca-certificates" {
            ca_certificates = shipped
                .into_iter()
                .filter(|p| p.starts_with("usr/share/ca-certificates/") && p.ends_with(".crt"))
                .collect();
        }
        let status = format!("{}\n", control.trim_end());
        tree.add_file(
            &format!("var/lib/dpkg/status.d/{}", package.name),
            status.into_bytes(),
            0o644,
            0,
            0,
        );
        if let Some(md5sums) = md5sums {
            tree.add_file(
                &format!("var/lib/dpkg/status.d/{}.md5sums", package.name),
                md5sums,
                0o644,
                0,
                0,
            );
        }
    }
    if lock.packages.iter().any(|p| p.name == "ca-certificates") {
        tree.add_file(
            "etc/ssl/certs/ca-certificates.crt",
            ca_bundle(&tree, ca_certificates),
            0o644,
            0,
            0,
        );
    }
    let users = spec.users();
    let groups = spec.groups();
    let mut passwd = String::from("root:x:0:0:root:/root:/sbin/nologin\n");
    for user in &users {
        let home = user
            .home
            .clone()
            .unwrap_or_else(|| format!("/home/{}", user.name));
        let _ = writeln!(
            passwd,
            "{}:x:{}:{}:{}:{home}:{}",
            user.name, user.uid, user.gid, user.name, user.shell
        );
    }
    let mut group = String::from("root:x:0:\n");
    for entry in &groups {
        let _ = writeln!(
            group,
            "{}:x:{}:{}",
            entry.name,
            entry.gid,
            entry.members.join(",")
        );
    }
    tree.add_file("etc/passwd", passwd.into_bytes(), 0o644, 0, 0);
    tree.add_file("etc/group", group.into_bytes(), 0o644, 0, 0);
    tree.add_file(
        "etc/nsswitch.conf",
        b"passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\nethers: files\nrpc: files\n".to_vec(),
        0o644,
        0,
        0,
    );
    tree.add_directory("tmp", 0o1777, 0, 0);
    tree.add_directory("root", 0o700, 0, 0);
    for user in &users {
        let home = user
            .home
            .clone()
            .unwrap_or_else(|| format!("/home/{}", user.name));
        tree.add_directory(&home, 0o700, user.uid, user.gid);
    }
    tree.add_file(
        lock::LOCK_PATH_IN_IMAGE,
        lock.to_json().into_bytes(),
        0o644,
        0,
        0,
    );
    for directory in &spec.directories {
        tree.add_directory(
            &directory.path,
            directory.mode.0,
            directory.uid,
            directory.gid,
        );
    }
    for file in &spec.files {
        let content = match (&file.content, &file.source) {
            (Some(content), _) => content.clone().into_bytes(),
            (None, Some(source)) => {
                fs_err::read(spec_dir.join(source)).map_err(|source| BuildError::SpecFile {
                    path: file.path.clone(),
                    source,
                })?
            }
            (None, None) => Vec::new(),
        };
        tree.add_file(&file.path, content, file.mode.0, file.uid, file.gid);
    }
    Ok(tree)
}

/// What `update-ca-certificates` builds: every `.crt` the package ships
/// under /usr/share/ca-certificates, in byte order of the path relative to
/// that directory (the postinst's sorted `ca-certificates.conf`), each
/// ending with a newline.
fn ca_bundle(tree: &Tree, mut certificates: Vec<String>) -> Vec<u8> {
    certificates.sort();
    let mut bundle = Vec::new();
    for path in certificates {
        if let Some(tree::Node {
            kind: Kind::File(content),
            ..
        }) = tree.get(&path)
        {
            bundle.extend_from_slice(content);
            if !content.ends_with(b"\n") {
                bundle.push(b'\n');
            }
        }
    }
    bundle
}

/// Names of a set, for messages.
pub fn names(set: &BTreeSet<String>) -> String {
    set.iter().cloned().collect::<Vec<_>>().join(", ")
}
