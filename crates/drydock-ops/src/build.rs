//! `build` and `mirror`: golden images from Debian archives (drydock-build),
//! the SBOM written next to the output, `registry:REF` pushed after a local build.
use std::path::{Path, PathBuf};

use drydock_build::{BuildError, BuildSettings, Output};

use crate::{CopySettings, EnvVars, RegistrySettings, SbomSettings};

/// What `build` and `mirror` need, as the user wrote it.
#[derive(Clone, Debug, Default)]
pub struct GoldenSettings {
    pub spec: PathBuf,
    pub lock: Option<PathBuf>,
    /// `oci-dir:PATH`, `oci-archive:PATH`, `docker-archive:PATH` or `registry:REF`.
    pub output: Option<String>,
    pub cache_dir: Option<PathBuf>,
    pub offline: bool,
    pub update: bool,
    /// `URL=REPLACEMENT` archive rewrites.
    pub mirrors: Vec<String>,
    /// Accept an InRelease past its `Valid-Until`, or dated in the future,
    /// with a warning.
    pub allow_stale_release: bool,
    /// Where the CycloneDX SBOM goes; `PATH.cdx.json` beside a local output.
    pub sbom: Option<PathBuf>,
    /// Bump only the locked packages with fixable findings (and what they need).
    pub update_vulnerable: bool,
    /// The vulnerability database for `update_vulnerable`.
    pub db_dir: Option<PathBuf>,
    pub registry: RegistrySettings,
}

#[derive(Debug, thiserror::Error)]
pub enum GoldenError {
    #[error(
        "`{0}` is not an output (expected oci-dir:PATH, oci-archive:PATH, docker-archive:PATH or registry:REF)"
    )]
    Output(String),
    #[error("`{0}` is not a mirror (expected URL=REPLACEMENT)")]
    Mirror(String),
    #[error(
        "no cache directory: pass `--cache-dir`, or set `DRYDOCK_CACHE_DIR`, `XDG_CACHE_HOME` or `HOME`"
    )]
    NoCacheDir,
    #[error("`SOURCE_DATE_EPOCH` is `{0}`, not a number of seconds")]
    Epoch(String),
    #[error("the clock")]
    Clock(#[source] Box<crate::fleet::FleetError>),
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error("SBOM of the built image")]
    Sbom(#[source] Box<crate::SbomError>),
    #[error("cannot write the SBOM `{}`", path.display())]
    WriteSbom {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("cannot stage the image for `{0}`")]
    Stage(String, #[source] std::io::Error),
    #[error(transparent)]
    Push(#[from] crate::CopyError),
    #[error("`--update-vulnerable` needs the existing lock `{}`\n\nhint: run `drydock build` once to write it", .0.display())]
    NoLock(PathBuf),
    #[error("`--update-vulnerable`")]
    UpdateVulnerable(#[source] Box<crate::PatchError>),
}

/// One line of a lock diff: name, old version (`None`: added), new version.
pub type LockChange = (String, Option<String>, String);

/// The outcome of `build`.
#[derive(Clone, Debug)]
pub struct GoldenReport {
    pub digest: String,
    pub output: String,
    pub sbom: Option<PathBuf>,
    pub built: drydock_build::Built,
    /// `--update-vulnerable`: what changed in the lock.
    pub lock_diff: Vec<LockChange>,
}

/// `--cache-dir`, `DRYDOCK_CACHE_DIR`, `$XDG_CACHE_HOME/drydock/golden`, `~/.cache/drydock/golden`.
pub fn golden_cache_dir(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(path) = explicit {
        return Some(path.to_owned());
    }
    if let Some(dir) = EnvVars::get(EnvVars::DRYDOCK_CACHE_DIR).filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = EnvVars::get(EnvVars::XDG_CACHE_HOME).filter(|d| !d.is_empty()) {
        return Some(Path::new(&dir).join("drydock/golden"));
    }
    EnvVars::get(EnvVars::HOME)
        .filter(|d| !d.is_empty())
        .map(|home| Path::new(&home).join(".cache/drydock/golden"))
}

fn build_settings(settings: &GoldenSettings) -> Result<BuildSettings, GoldenError> {
    let epoch = match EnvVars::get(EnvVars::SOURCE_DATE_EPOCH) {
        Some(text) => text
            .trim()
            .parse::<u64>()
            .map_err(|_| GoldenError::Epoch(text.clone()))?,
        None => 0,
    };
    let mirrors = settings
        .mirrors
        .iter()
        .map(|m| {
            m.split_once('=')
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
                .ok_or_else(|| GoldenError::Mirror(m.clone()))
        })
        .collect::<Result<_, _>>()?;
    Ok(BuildSettings {
        spec: settings.spec.clone(),
        lock: settings.lock.clone(),
        cache_dir: golden_cache_dir(settings.cache_dir.as_deref())
            .ok_or(GoldenError::NoCacheDir)?,
        offline: settings.offline,
        update: settings.update,
        mirrors,
        source_date_epoch: epoch,
        created: crate::time::rfc3339(i64::try_from(epoch).unwrap_or(0)),
        // `DRYDOCK_NOW` fixes the clock (tests, replaying a past build).
        now: crate::fleet::now().map_err(|e| GoldenError::Clock(Box::new(e)))?,
        allow_stale_release: settings.allow_stale_release,
    })
}

/// `drydock mirror`: fetch and verify everything a build needs into the cache.
pub fn golden_mirror(settings: &GoldenSettings) -> Result<drydock_build::Mirrored, GoldenError> {
    Ok(drydock_build::mirror(&build_settings(settings)?)?)
}

/// `drydock build`.
pub fn golden_build(settings: &GoldenSettings) -> Result<GoldenReport, GoldenError> {
    let build = build_settings(settings)?;
    let (lock_diff, update_warnings) = if settings.update_vulnerable {
        update_vulnerable(settings, &build)?
    } else {
        (Vec::new(), Vec::new())
    };
    let output_text = settings.output.clone().unwrap_or_else(|| {
        let stem = settings
            .spec
            .file_stem()
            .map_or_else(|| "image".into(), |s| s.to_string_lossy().into_owned());
        format!("oci-dir:{stem}.oci")
    });
    let (kind, rest) = output_text
        .split_once(':')
        .ok_or_else(|| GoldenError::Output(output_text.clone()))?;
    let local = |path: &str| PathBuf::from(path);
    let output = match kind {
        "oci-dir" | "oci" => Output::OciDir(local(rest)),
        "oci-archive" => Output::OciArchive(local(rest)),
        "docker-archive" => Output::DockerArchive(local(rest)),
        "registry" | "docker" => {
            let staging = tempfile::Builder::new()
                .prefix("drydock-build-")
                .tempdir()
                .map_err(|e| GoldenError::Stage(output_text.clone(), e))?;
            let layout = staging.path().join("image");
            let mut built = drydock_build::build(&build, &Output::OciDir(layout.clone()))?;
            built.warnings.splice(0..0, update_warnings);
            let sbom = match &settings.sbom {
                Some(path) => Some(write_sbom(&format!("oci-dir:{}", layout.display()), path)?),
                None => None,
            };
            crate::copy(&CopySettings {
                source: format!("oci-dir:{}", layout.display()),
                destination: output_text.clone(),
                registry: settings.registry.clone(),
            })?;
            return Ok(GoldenReport {
                digest: built.manifest_digest.clone(),
                output: output_text,
                sbom,
                built,
                lock_diff,
            });
        }
        _ => return Err(GoldenError::Output(output_text)),
    };
    let mut built = drydock_build::build(&build, &output)?;
    built.warnings.splice(0..0, update_warnings);
    let sbom_path = settings.sbom.clone().unwrap_or_else(|| {
        let mut name = output.path().as_os_str().to_owned();
        name.push(".cdx.json");
        PathBuf::from(name)
    });
    let sbom = write_sbom(&format!("{kind}:{rest}"), &sbom_path)?;
    Ok(GoldenReport {
        digest: built.manifest_digest.clone(),
        output: output_text,
        sbom: Some(sbom),
        built,
        lock_diff,
    })
}

/// Catalog the built image and write its CycloneDX 1.6 SBOM atomically.
fn write_sbom(source: &str, path: &Path) -> Result<PathBuf, GoldenError> {
    let sbom = crate::sbom(
        &SbomSettings {
            source: source.to_owned(),
            ..SbomSettings::default()
        },
        &crate::NoProgress,
    )
    .map_err(|e| GoldenError::Sbom(Box::new(e)))?;
    let mut bytes = Vec::new();
    drydock_sbom::write_cyclonedx_json(&sbom, &mut bytes).map_err(|e| GoldenError::WriteSbom {
        path: path.to_owned(),
        source: Box::new(e),
    })?;
    drydock_build::fetch::write_atomic(path, &bytes).map_err(|e| GoldenError::WriteSbom {
        path: path.to_owned(),
        source: Box::new(e),
    })?;
    Ok(path.to_owned())
}

/// Rewrite the lock with only the vulnerable packages bumped: build the
/// current lock into a temporary layout, scan it, plan the updates from the
/// spec's suites, and keep every other pin.
fn update_vulnerable(
    settings: &GoldenSettings,
    build: &BuildSettings,
) -> Result<(Vec<LockChange>, Vec<String>), GoldenError> {
    let lock_path = build.lock_path();
    let lock_error = |source| {
        GoldenError::Build(BuildError::Lock {
            path: lock_path.clone(),
            source,
        })
    };
    let Some(mut lock) = drydock_build::Lock::read(&lock_path).map_err(lock_error)? else {
        return Err(GoldenError::NoLock(lock_path));
    };
    let text = fs_err::read_to_string(&settings.spec).map_err(|source| {
        GoldenError::Build(BuildError::ReadSpec {
            path: settings.spec.clone(),
            source,
        })
    })?;
    let spec = drydock_build::Spec::parse(&text).map_err(|source| {
        GoldenError::Build(BuildError::Spec {
            path: settings.spec.clone(),
            source,
        })
    })?;
    let staging = tempfile::Builder::new()
        .prefix("drydock-update-vulnerable-")
        .tempdir()
        .map_err(|e| GoldenError::Stage(settings.spec.display().to_string(), e))?;
    let layout = staging.path().join("current");
    let current = BuildSettings {
        update: false,
        ..build.clone()
    };
    drydock_build::build(&current, &Output::OciDir(layout.clone()))?;
    let fetcher = drydock_build::fetch::Fetcher::new(
        build.cache_dir.clone(),
        build.offline,
        build.mirrors.clone(),
    );
    let freshness = drydock_build::Freshness {
        now: build.now,
        allow_stale_release: build.allow_stale_release,
    };
    let (plan, warnings) = crate::patch::vulnerable_updates(
        &layout,
        settings.db_dir.as_deref(),
        &spec,
        &fetcher,
        freshness,
    )
    .map_err(|e| GoldenError::UpdateVulnerable(Box::new(e)))?;
    let mut diff = Vec::new();
    for update in plan.updates {
        let old = lock
            .packages
            .iter()
            .position(|p| p.name == update.name)
            .map(|index| lock.packages.remove(index).version);
        diff.push((update.name.clone(), old, update.new.version.clone()));
        lock.packages.push(update.new);
    }
    lock.packages.sort_by(|a, b| a.name.cmp(&b.name));
    drydock_build::fetch::write_atomic(&lock_path, lock.to_json().as_bytes()).map_err(
        |source| {
            GoldenError::Build(BuildError::Write {
                path: lock_path.clone(),
                source,
            })
        },
    )?;
    Ok((diff, warnings))
}
