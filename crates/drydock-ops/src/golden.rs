//! `golden submit|approve|promote|deprecate|retire|enforce|list|log`: the
//! golden-image catalog in the fleet store.
use std::path::PathBuf;

use drydock_core::Digest;
use drydock_oci::Progress;
use drydock_store::{
    AuditEntry, ChainBreak, GoldenState, GoldenVersion, Store, Submission, Timeline,
};
use serde_json::json;

use crate::fleet::{FleetError, FleetSettings};
use crate::{PolicySettings, RegistrySettings, SignatureFormat};

#[derive(Debug, thiserror::Error)]
pub enum GoldenOpsError {
    #[error(transparent)]
    Fleet(#[from] FleetError),
    #[error(transparent)]
    Policy(#[from] crate::PolicyOpsError),
    #[error("golden catalog in `{url}`")]
    Store {
        url: String,
        #[source]
        source: Box<drydock_store::StoreError>,
    },
    #[error("cannot read the lock file `{path}`")]
    Lock {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{0}` has no manifest digest: only images can be golden")]
    NoDigest(String),
    #[error(
        "`{0}` is not in a registry: pass `--repository REGISTRY/REPOSITORY` to say where the line's images live"
    )]
    NoRepository(String),
    #[error("`{0}` is not LINE@sha256:…")]
    Target(String),
    #[error("tagging `{reference}` in the registry")]
    Tag {
        reference: String,
        #[source]
        source: Box<crate::CopyError>,
    },
    #[error("signing `{reference}`")]
    Sign {
        reference: String,
        #[source]
        source: Box<crate::SignatureError>,
    },
    #[error("cannot serialise the SBOM")]
    Sbom(#[source] drydock_sbom::SbomError),
}

fn store_error(store: &Store) -> impl Fn(drydock_store::StoreError) -> GoldenOpsError + '_ {
    move |source| GoldenOpsError::Store {
        url: store.url().to_owned(),
        source: Box::new(source),
    }
}

/// What `golden submit` needs.
#[derive(Clone, Debug, Default)]
pub struct GoldenSubmitSettings {
    /// The source, policy, database and key, as for `policy check`.
    pub check: PolicySettings,
    pub line: String,
    /// Where the line's images live; from a `registry:` source when absent.
    pub repository: Option<String>,
    /// The version tag (`3.11`, `2026.11`); from the lock file when absent.
    pub version: Option<String>,
    /// The build's `golden.lock`.
    pub lock: Option<PathBuf>,
    pub by: String,
}

/// Submit a candidate: run the policy and record it with its evidence.
pub fn golden_submit(
    settings: &GoldenSubmitSettings,
    progress: &dyn Progress,
) -> Result<(GoldenVersion, drydock_policy::PolicyReport), GoldenOpsError> {
    let policy = crate::load_policy(settings.check.policy.as_deref())?;
    let check = crate::check_with_policy(&settings.check, &policy, progress)?;
    let source = &settings.check.sbom.source;
    let image = check.sbom.source.image.as_ref();
    let digest = image
        .and_then(|image| image.manifest_digest.as_ref())
        .ok_or_else(|| GoldenOpsError::NoDigest(source.clone()))?
        .to_string();
    let repository = if let Some(repository) = &settings.repository {
        repository.clone()
    } else {
        let reference = source
            .strip_prefix("registry:")
            .ok_or_else(|| GoldenOpsError::NoRepository(source.clone()))?;
        drydock_registry::Reference::parse(reference)
            .map_err(|_| GoldenOpsError::NoRepository(source.clone()))?
            .name()
    };
    let mut native = Vec::new();
    drydock_sbom::write_native_json(&check.sbom, &mut native).map_err(GoldenOpsError::Sbom)?;
    let (lock_digest, lock_version) = match &settings.lock {
        Some(path) => {
            let bytes = fs_err::read(path).map_err(|source| GoldenOpsError::Lock {
                path: path.clone(),
                source,
            })?;
            let version = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|lock| {
                    lock.get("version")
                        .and_then(|v| v.as_str())
                        .map(str::to_owned)
                });
            (Some(Digest::sha256_of(&bytes).to_string()), version)
        }
        None => (None, None),
    };
    let scan = check.findings.as_ref().map(|findings| {
        let mut counts = std::collections::BTreeMap::new();
        for input in findings {
            *counts
                .entry(input.finding.severity.as_str())
                .or_insert(0u64) += 1;
        }
        json!({"findings": findings.len(), "by_severity": counts})
    });
    let evidence = json!({
        "sbom_digest": Digest::sha256_of(&native).to_string(),
        "scan": scan,
        "policy": {
            "policy": check.report.policy,
            "verdict": check.report.verdict,
            "failed": check.report.failed_ids(),
            "digest": Digest::sha256_of(&serde_json::to_vec(&check.report).unwrap_or_default()).to_string(),
        },
        "signature_digests": check.signatures.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "golden_lock_digest": lock_digest,
    });
    let submission = Submission {
        line: settings.line.clone(),
        repository,
        digest,
        version: settings.version.clone().or(lock_version),
        created: check
            .config
            .as_ref()
            .and_then(|config| config.created.as_deref())
            .and_then(drydock_store::parse_time),
        policy_passed: check.report.passed(),
        evidence,
        layers: image
            .map(|image| {
                image
                    .layers
                    .iter()
                    .filter_map(|layer| layer.layer.digest.as_ref().map(ToString::to_string))
                    .collect()
            })
            .unwrap_or_default(),
    };
    let mut store = crate::fleet::open_store(&settings.check.fleet)?;
    let now = crate::fleet::now()?;
    let version = store
        .golden_submit(&submission, &settings.by, now)
        .map_err(store_error(&store))?;
    Ok((version, check.report))
}

/// What a transition needs.
#[derive(Clone, Debug, Default)]
pub struct GoldenTransitionSettings {
    pub fleet: FleetSettings,
    /// `LINE@sha256:…`
    pub target: String,
    pub by: String,
    pub reason: String,
    /// `approve` a candidate that failed the policy.
    pub override_policy: bool,
    /// `promote`: the key to sign the image with (and its password).
    pub key: Option<PathBuf>,
    pub password: Vec<u8>,
    /// `promote`: do not touch the registry (tags, signature).
    pub no_registry: bool,
    pub registry: RegistrySettings,
}

fn split_target(target: &str) -> Result<(&str, &str), GoldenOpsError> {
    match target.split_once('@') {
        Some((line, digest)) if !line.is_empty() && digest.parse::<Digest>().is_ok() => {
            Ok((line, digest))
        }
        _ => Err(GoldenOpsError::Target(target.to_owned())),
    }
}

/// Move a version to `to`; `promote` also tags `REPO:current` and
/// `REPO:VERSION` in the registry and signs the image.
pub fn golden_transition(
    settings: &GoldenTransitionSettings,
    to: GoldenState,
) -> Result<Vec<(GoldenVersion, GoldenState)>, GoldenOpsError> {
    let (line, digest) = split_target(&settings.target)?;
    let mut store = crate::fleet::open_store(&settings.fleet)?;
    let now = crate::fleet::now()?;
    let mut evidence = json!({});
    if to == GoldenState::Current && !settings.no_registry {
        // Check legality before touching the registry.
        let version = store
            .golden_version(line, digest)
            .map_err(store_error(&store))?;
        if let Some(version) = version.filter(|v| v.state.next() == Some(GoldenState::Current)) {
            evidence = publish(settings, &version)?;
        }
    }
    let changed = store
        .golden_transition(
            line,
            digest,
            to,
            &settings.by,
            &settings.reason,
            settings.override_policy,
            &evidence,
            now,
        )
        .map_err(store_error(&store))?;
    Ok(changed)
}

/// Tag and sign a version being promoted; the evidence to record.
fn publish(
    settings: &GoldenTransitionSettings,
    version: &GoldenVersion,
) -> Result<serde_json::Value, GoldenOpsError> {
    let pinned = format!("{}@{}", version.repository, version.digest);
    let mut tags = vec!["current".to_owned()];
    tags.extend(version.version.clone());
    for tag in &tags {
        let destination = format!("{}:{tag}", version.repository);
        crate::copy(&crate::CopySettings {
            source: pinned.clone(),
            destination: destination.clone(),
            registry: settings.registry.clone(),
        })
        .map_err(|source| GoldenOpsError::Tag {
            reference: destination,
            source: Box::new(source),
        })?;
    }
    let signature = match &settings.key {
        Some(key) => {
            let signed = crate::sign(&crate::SignSettings {
                target: pinned.clone(),
                key: key.clone(),
                password: settings.password.clone(),
                format: SignatureFormat::default(),
                registry: settings.registry.clone(),
            })
            .map_err(|source| GoldenOpsError::Sign {
                reference: pinned.clone(),
                source: Box::new(source),
            })?;
            Some(signed.manifest.to_string())
        }
        None => None,
    };
    Ok(json!({"tags": tags, "signature_digest": signature}))
}

/// Apply every line's timeline now (`DRYDOCK_NOW` for a fixed clock).
pub fn golden_enforce(
    fleet: &FleetSettings,
) -> Result<Vec<(GoldenVersion, GoldenState)>, GoldenOpsError> {
    let mut store = crate::fleet::open_store(fleet)?;
    let now = crate::fleet::now()?;
    store.golden_enforce(now).map_err(store_error(&store))
}

/// Set a line's timeline (`*` for every line).
pub fn golden_set_timeline(
    fleet: &FleetSettings,
    line: &str,
    timeline: Timeline,
) -> Result<(), GoldenOpsError> {
    let mut store = crate::fleet::open_store(fleet)?;
    store
        .golden_set_timeline(line, timeline)
        .map_err(store_error(&store))
}

/// Versions of one line or every line; `LINE@DIGEST` narrows to one.
pub fn golden_list(
    fleet: &FleetSettings,
    filter: Option<&str>,
) -> Result<Vec<GoldenVersion>, GoldenOpsError> {
    let mut store = crate::fleet::open_store(fleet)?;
    let (line, digest) = match filter {
        Some(text) => match text.split_once('@') {
            Some((line, digest)) => (Some(line), Some(digest)),
            None => (Some(text), None),
        },
        None => (None, None),
    };
    let mut versions = store.golden_versions(line).map_err(store_error(&store))?;
    if let Some(digest) = digest {
        versions.retain(|version| version.digest == digest);
    }
    Ok(versions)
}

/// The audit log and whether its chain verifies.
pub fn golden_log(
    fleet: &FleetSettings,
) -> Result<(Vec<AuditEntry>, Result<usize, ChainBreak>), GoldenOpsError> {
    let mut store = crate::fleet::open_store(fleet)?;
    let entries = store.golden_audit().map_err(store_error(&store))?;
    let verdict = store.golden_verify().map_err(store_error(&store))?;
    Ok((entries, verdict))
}

/// The line's current pin (`REPO@DIGEST`) and every version by digest, for `golden stale`.
pub fn golden_catalog(fleet: &FleetSettings) -> Result<Vec<GoldenVersion>, GoldenOpsError> {
    golden_list(fleet, None)
}
