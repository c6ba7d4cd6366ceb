//! `policy check`: one pass over the image (catalog + the policy's claims),
//! the image configuration, the vulnerability database when there is one,
//! signature verification when a key is given, the golden catalog when a
//! store is configured.
use std::path::PathBuf;

use drydock_catalog::{Dispatcher, builtin};
use drydock_core::Digest;
use drydock_oci::{OciError, Progress};
use drydock_policy::{
    FindingInput, GoldenBase, ImageConfig, Inputs, Policy, PolicyReport, SignatureState,
};
use drydock_vuln::Database;

use crate::{EnvVars, SbomSettings};

/// What `policy check` needs to know.
#[derive(Clone, Debug, Default)]
pub struct PolicySettings {
    pub sbom: SbomSettings,
    /// `--policy FILE`; the built-in default when absent.
    pub policy: Option<PathBuf>,
    /// `--db-dir`; else `DRYDOCK_DB_DIR`, else the XDG default.
    pub db_dir: Option<PathBuf>,
    /// `--key PUB`: the public key signatures must verify with.
    pub key: Option<PathBuf>,
    /// The fleet store holding the golden catalog (for `base-not-golden`).
    pub fleet: crate::fleet::FleetSettings,
}

#[derive(Debug, thiserror::Error)]
pub enum PolicyOpsError {
    #[error("cannot read the policy `{path}`")]
    ReadPolicy {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Policy(#[from] drydock_policy::PolicyError),
    #[error(transparent)]
    Sbom(#[from] crate::SbomError),
    #[error("{source_name}")]
    Source {
        source_name: String,
        #[source]
        source: Box<OciError>,
    },
    #[error("{source_name}: the image configuration is not valid JSON")]
    Config {
        source_name: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot open the vulnerability database in `{dir}`")]
    Database {
        dir: PathBuf,
        #[source]
        source: Box<drydock_vuln::DbError>,
    },
    #[error("cannot read the public key `{path}`")]
    Key {
        path: PathBuf,
        #[source]
        source: Box<crate::KeyError>,
    },
    #[error(transparent)]
    Fleet(#[from] crate::fleet::FleetError),
    #[error("cannot read the golden catalog")]
    Store(#[source] Box<drydock_store::StoreError>),
}

/// Read the policy file, or the built-in default.
pub fn load_policy(path: Option<&std::path::Path>) -> Result<Policy, PolicyOpsError> {
    let Some(path) = path else {
        return Ok(drydock_policy::default_policy());
    };
    let text = fs_err::read_to_string(path).map_err(|source| PolicyOpsError::ReadPolicy {
        path: path.to_owned(),
        source,
    })?;
    Ok(drydock_policy::parse_policy(
        &path.display().to_string(),
        &text,
    )?)
}

/// Check a source against a policy.
pub fn policy_check(
    settings: &PolicySettings,
    progress: &dyn Progress,
) -> Result<PolicyReport, PolicyOpsError> {
    let policy = load_policy(settings.policy.as_deref())?;
    Ok(check_with_policy(settings, &policy, progress)?.report)
}

/// A policy check and what it saw on the way.
pub struct PolicyCheck {
    pub report: PolicyReport,
    /// The SBOM of the pass.
    pub sbom: drydock_sbom::Sbom,
    /// The findings, when the `vulnerabilities` rule ran against a database.
    pub findings: Option<Vec<FindingInput>>,
    /// The signature manifests that verified.
    pub signatures: Vec<Digest>,
    pub config: Option<ImageConfig>,
}

/// [`policy_check`] with an already parsed policy.
pub fn check_with_policy(
    settings: &PolicySettings,
    policy: &Policy,
    progress: &dyn Progress,
) -> Result<PolicyCheck, PolicyOpsError> {
    let enabled = |id: &str| policy.rules.iter().any(|rule| rule.id() == id);
    let name = settings.sbom.source.clone();
    let wrap = |source: OciError| PolicyOpsError::Source {
        source_name: name.clone(),
        source: Box::new(source),
    };
    let source = crate::sbom::open_source(&settings.sbom)?;
    let mut dispatcher = Dispatcher::new(builtin());
    let walk = {
        let mut visitor = drydock_policy::PolicyVisitor::new(&mut dispatcher, policy);
        source
            .walk_with_progress(&mut visitor, progress)
            .map_err(wrap)?
    };
    let view = walk.view();
    let catalog = dispatcher.finish(&view);
    let config = match source.config_json().map_err(wrap)? {
        Some(bytes) => {
            Some(
                ImageConfig::from_json(&bytes).map_err(|source| PolicyOpsError::Config {
                    source_name: name.clone(),
                    source,
                })?,
            )
        }
        None => None,
    };
    let image = source.metadata().image.as_ref();
    let layers: Vec<Digest> = image
        .map(|image| {
            image
                .layers
                .iter()
                .filter_map(|layer| layer.layer.digest.clone())
                .collect()
        })
        .unwrap_or_default();
    let digest = image
        .and_then(|image| image.manifest_digest.as_ref())
        .map(ToString::to_string);

    let findings = if enabled("vulnerabilities") {
        findings(settings, &catalog.packages, catalog.distro.as_ref())?
    } else {
        Ok(Vec::new())
    };
    let signature = if enabled("unsigned") {
        signature(settings)?
    } else {
        SignatureState::NoKey
    };
    let bases = if enabled("base-not-golden") {
        golden_bases(settings)?
    } else {
        Ok(Vec::new())
    };
    let now = crate::fleet::now()?;
    let inputs = Inputs {
        view: &view,
        config: config.as_ref(),
        layers: &layers,
        findings: findings.as_deref().map_err(Clone::clone),
        signature: &signature,
        golden_bases: bases.as_deref().map_err(Clone::clone),
        now,
    };
    let report =
        drydock_policy::evaluate(policy, &settings.sbom.source, digest.as_deref(), &inputs);
    let signatures = match &signature {
        SignatureState::Verified(manifests) => manifests.clone(),
        _ => Vec::new(),
    };
    Ok(PolicyCheck {
        report,
        sbom: drydock_sbom::Sbom {
            source: source.metadata().clone(),
            distro: catalog.distro,
            packages: catalog.packages,
            relationships: catalog.relationships,
            problems: catalog.problems,
            tool: drydock_sbom::Tool::drydock(),
            created: crate::created_timestamp(),
        },
        findings: findings.ok(),
        signatures,
        config,
    })
}

type Evaluable<T> = Result<T, String>;

fn findings(
    settings: &PolicySettings,
    packages: &[drydock_core::Package],
    distro: Option<&drydock_core::Distro>,
) -> Result<Evaluable<Vec<FindingInput>>, PolicyOpsError> {
    let explicit = settings.db_dir.is_some()
        || EnvVars::get(EnvVars::DRYDOCK_DB_DIR).is_some_and(|v| !v.is_empty());
    let Some(dir) = crate::resolve_db_dir(settings.db_dir.as_deref()) else {
        return Ok(Err("no vulnerability database (`--db-dir`)".into()));
    };
    let database = match Database::open(&dir) {
        Ok(database) => database,
        Err(source) if explicit => {
            return Err(PolicyOpsError::Database {
                dir,
                source: Box::new(source),
            });
        }
        Err(_) => {
            return Ok(Err(format!(
                "no vulnerability database in `{}` (`--db-dir`, `drydock db update`)",
                dir.display()
            )));
        }
    };
    if database.ecosystems().next().is_none() {
        return Ok(Err(format!(
            "the vulnerability database in `{}` is empty",
            dir.display()
        )));
    }
    let db_error = |source| PolicyOpsError::Database {
        dir: dir.clone(),
        source: Box::new(source),
    };
    let outcome = drydock_vuln::match_packages(&database, packages, distro).map_err(db_error)?;
    let mut inputs = Vec::with_capacity(outcome.findings.len());
    for finding in outcome.findings {
        let mut published = None;
        for id in finding
            .records
            .iter()
            .map(String::as_str)
            .chain([finding.id.as_str()])
        {
            if let Some(advisory) = database.by_id(id).map_err(db_error)?
                && let Some(text) = &advisory.published
            {
                published = drydock_vuln::time::parse_rfc3339(text).map(|(s, _)| s);
                break;
            }
        }
        inputs.push(FindingInput { finding, published });
    }
    Ok(Ok(inputs))
}

fn signature(settings: &PolicySettings) -> Result<SignatureState, PolicyOpsError> {
    let Some(key) = &settings.key else {
        return Ok(SignatureState::NoKey);
    };
    // A key that cannot be read is the user's error, not an unevaluated rule.
    crate::key::read_public(key).map_err(|source| PolicyOpsError::Key {
        path: key.clone(),
        source: Box::new(source),
    })?;
    let source = &settings.sbom.source;
    let target = match drydock_oci::SourceRef::parse(source) {
        Ok(drydock_oci::SourceRef::OciDir(path)) => format!("oci-dir:{}", path.display()),
        Ok(drydock_oci::SourceRef::Registry(name)) => name,
        Ok(other) => {
            return Ok(SignatureState::Unavailable(format!(
                "signatures live in a registry or an OCI layout; `{}` sources carry none",
                other.kind()
            )));
        }
        Err(error) => return Ok(SignatureState::Unavailable(error.to_string())),
    };
    let verified = crate::verify(&crate::VerifySettings {
        target,
        key: key.clone(),
        registry: settings.sbom.registry.clone(),
        predicate_type: None,
    });
    Ok(match verified {
        Ok(report) if !report.verified.is_empty() => SignatureState::Verified(
            report
                .verified
                .into_iter()
                .map(|verified| verified.manifest)
                .collect(),
        ),
        Ok(report) => SignatureState::NotVerified(report.rejected),
        Err(error) => SignatureState::Unavailable(format!("cannot check signatures: {error}")),
    })
}

fn golden_bases(settings: &PolicySettings) -> Result<Evaluable<Vec<GoldenBase>>, PolicyOpsError> {
    let Some(mut store) = crate::fleet::existing_store(&settings.fleet)? else {
        return Ok(Err(
            "no golden catalog: no fleet store is configured (`--store`, DRYDOCK_STORE)".into(),
        ));
    };
    let approved = store
        .golden_approved()
        .map_err(|source| PolicyOpsError::Store(Box::new(source)))?;
    Ok(Ok(approved
        .into_iter()
        .map(|version| GoldenBase {
            name: format!("{}@{}", version.line, version.digest),
            layers: version
                .layers
                .iter()
                .filter_map(|layer| layer.parse().ok())
                .collect(),
        })
        .collect()))
}
