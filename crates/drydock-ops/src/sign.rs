//! `sign`, `attest`, `verify` and `verify-attestation`, stored as cosign
//! stores them: the legacy `sha256-<hex>.sig` / `.att` tags, or a Sigstore
//! bundle pushed as an OCI 1.1 referrer of the image (the default). The same
//! code serves registries and OCI layouts on disk.
use std::collections::BTreeMap;
use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use drydock_core::Digest;
use drydock_registry::spec::{Descriptor, Manifest, OCI_MANIFEST, empty_config};
use drydock_registry::{Fetched, MANIFEST_LIMIT, RegistryError, Target, fallback_tag};
use drydock_sign::formats::{
    BUNDLE_MEDIA_TYPE, Bundle, DSSE_MEDIA_TYPE, Envelope, IN_TOTO_PAYLOAD_TYPE,
    PREDICATE_TYPE_ANNOTATION, SIGN_PREDICATE_TYPE, SIGNATURE_ANNOTATION,
    SIMPLE_SIGNING_MEDIA_TYPE, Statement, parse_simple_signing, simple_signing_payload,
};
use drydock_sign::{PrivateKey, PublicKey, SignError};

use crate::key::KeyError;
use crate::registry::{Named, RegistrySettings};

/// Where a signature or attestation goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SignatureFormat {
    /// `sha256-<hex>.sig` / `.att` tags (cosign v1/v2).
    Legacy,
    /// A Sigstore bundle v0.3 as an OCI 1.1 referrer (cosign v3's default).
    #[default]
    Bundle,
}

/// The predicate types `attest` knows by a short name.
pub fn predicate_type_uri(name: &str) -> String {
    match name {
        "sbom" | "cyclonedx" => "https://cyclonedx.org/bom".to_owned(),
        "spdxjson" | "spdx" => "https://spdx.dev/Document".to_owned(),
        "vuln" => "https://cosign.sigstore.dev/attestation/vuln/v1".to_owned(),
        "slsaprovenance" | "slsaprovenance02" => "https://slsa.dev/provenance/v0.2".to_owned(),
        "slsaprovenance1" => "https://slsa.dev/provenance/v1".to_owned(),
        "custom" => "https://cosign.sigstore.dev/attestation/v1".to_owned(),
        other => other.to_owned(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    #[error("`{name}`")]
    Registry {
        name: String,
        #[source]
        source: Box<RegistryError>,
    },
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Sign(#[from] SignError),
    #[error("`{}`: the predicate is not JSON", path.display())]
    Predicate {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot read `{}`", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Usage(String),
    #[error("cannot generate the SBOM predicate")]
    Sbom(#[source] Box<crate::SbomError>),
    #[error("cannot generate the vulnerability predicate (`drydock scan`)")]
    Scan(#[source] Box<crate::ScanError>),
}

/// What `sign` and `attest` need.
#[derive(Clone, Debug, Default)]
pub struct SignSettings {
    /// `registry:REF`, a bare reference, or `oci-dir:PATH`.
    pub target: String,
    pub key: PathBuf,
    pub password: Vec<u8>,
    pub format: SignatureFormat,
    pub registry: RegistrySettings,
}

/// What `attest` adds: the predicate.
#[derive(Clone, Debug, Default)]
pub struct AttestSettings {
    pub sign: SignSettings,
    /// `sbom`, `vuln`, `slsaprovenance` or a URI.
    pub predicate_type: String,
    /// The predicate file; drydock generates an SBOM when absent for `sbom`.
    pub predicate: Option<PathBuf>,
}

/// What was written.
#[derive(Clone, Debug)]
pub struct Signed {
    pub image: Digest,
    /// The manifest holding the signature (referrer or `.sig` manifest).
    pub manifest: Digest,
    /// The tag written, for the legacy form.
    pub tag: Option<String>,
}

struct Opened {
    named: Named,
    target: Box<dyn Target>,
    image: Fetched,
}

fn open(target: &str, registry: &RegistrySettings) -> Result<Opened, SignatureError> {
    let wrap = |source| SignatureError::Registry {
        name: target.to_owned(),
        source: Box::new(source),
    };
    let named = Named::parse(&local_or_reference(target)).map_err(wrap)?;
    let opened = named.open(registry, false).map_err(wrap)?;
    let image = opened.resolve().map_err(wrap)?;
    Ok(Opened {
        named,
        target: opened,
        image,
    })
}

fn local_or_reference(input: &str) -> String {
    let path = std::path::Path::new(input);
    if path.join("oci-layout").is_file() && !input.starts_with("oci") {
        format!("oci-dir:{input}")
    } else {
        input.to_owned()
    }
}

fn registry_error(opened: &Opened) -> impl Fn(RegistryError) -> SignatureError + '_ {
    move |source| SignatureError::Registry {
        name: opened.named.identity(),
        source: Box::new(source),
    }
}

fn put_bytes(target: &dyn Target, bytes: &[u8]) -> Result<Digest, RegistryError> {
    let digest = Digest::sha256_of(bytes);
    let owned = bytes.to_vec();
    target.put_blob(&digest, owned.len() as u64, None, &move || {
        Ok(Box::new(std::io::Cursor::new(owned.clone())))
    })?;
    Ok(digest)
}

fn fetched_of(manifest: &Manifest) -> Fetched {
    let bytes = serde_json::to_vec(manifest).unwrap_or_default();
    Fetched {
        digest: Digest::sha256_of(&bytes),
        media_type: OCI_MANIFEST.to_owned(),
        bytes,
    }
}

/// Sign the image with the simple-signing payload (legacy) or an in-toto
/// statement in a bundle (default).
pub fn sign(settings: &SignSettings) -> Result<Signed, SignatureError> {
    let key = crate::key::read_private(&settings.key, &settings.password)?;
    let opened = open(&settings.target, &settings.registry)?;
    match settings.format {
        SignatureFormat::Legacy => {
            let payload =
                simple_signing_payload(&opened.named.identity(), &opened.image.digest.to_string());
            let signature = STANDARD.encode(key.sign(&payload));
            let annotations = BTreeMap::from([(SIGNATURE_ANNOTATION.to_owned(), signature)]);
            append_legacy(
                &opened,
                "sig",
                SIMPLE_SIGNING_MEDIA_TYPE,
                &payload,
                annotations,
            )
        }
        SignatureFormat::Bundle => {
            let statement = statement(&opened, SIGN_PREDICATE_TYPE, serde_json::json!({}));
            push_bundle(&opened, &key, &statement)
        }
    }
}

fn statement(opened: &Opened, predicate_type: &str, predicate: serde_json::Value) -> Statement {
    Statement::new(
        &opened.named.identity(),
        opened.image.digest.algorithm().as_str(),
        opened.image.digest.hex(),
        predicate_type,
        predicate,
    )
}

/// Add a layer to the `sha256-<hex>.<suffix>` image, creating it when absent.
fn append_legacy(
    opened: &Opened,
    suffix: &str,
    media_type: &str,
    payload: &[u8],
    annotations: BTreeMap<String, String>,
) -> Result<Signed, SignatureError> {
    let error = registry_error(opened);
    let target = opened.target.as_ref();
    let tag = format!("{}.{suffix}", fallback_tag(&opened.image.digest));
    let payload_digest = put_bytes(target, payload).map_err(&error)?;
    let mut layers: Vec<Descriptor> = match target.manifest(&tag).map_err(&error)? {
        Some(existing) => serde_json::from_slice::<Manifest>(&existing.bytes)
            .map(|m| m.layers)
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let mut layer = Descriptor::new(media_type, payload_digest, payload.len() as u64);
    layer.annotations = annotations;
    if !layers.contains(&layer) {
        layers.push(layer);
    }
    // The config of cosign's signature images: an empty image config whose
    // diff_ids are the payload digests.
    let config = serde_json::json!({
        "architecture": "",
        "created": "0001-01-01T00:00:00Z",
        "history": layers.iter().map(|_| serde_json::json!({"created": "0001-01-01T00:00:00Z"})).collect::<Vec<_>>(),
        "os": "",
        "rootfs": {"type": "layers", "diff_ids": layers.iter().map(|l| l.digest.to_string()).collect::<Vec<_>>()},
        "config": {},
    });
    let config_bytes = serde_json::to_vec(&config).unwrap_or_default();
    let config_digest = put_bytes(target, &config_bytes).map_err(&error)?;
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(OCI_MANIFEST.to_owned()),
        artifact_type: None,
        config: Descriptor::new(
            "application/vnd.oci.image.config.v1+json",
            config_digest,
            config_bytes.len() as u64,
        ),
        layers,
        subject: None,
        annotations: BTreeMap::new(),
    };
    let fetched = fetched_of(&manifest);
    target.put_manifest(&fetched, Some(&tag)).map_err(&error)?;
    Ok(Signed {
        image: opened.image.digest.clone(),
        manifest: fetched.digest,
        tag: Some(tag),
    })
}

/// Sign `statement` into a DSSE envelope in a bundle, pushed as a referrer.
fn push_bundle(
    opened: &Opened,
    key: &PrivateKey,
    statement: &Statement,
) -> Result<Signed, SignatureError> {
    let error = registry_error(opened);
    let target = opened.target.as_ref();
    let payload = serde_json::to_vec(statement).unwrap_or_default();
    let envelope = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, &payload, key);
    let bundle = Bundle::new(envelope, &key.public_key())?.to_json();
    let bundle_digest = put_bytes(target, &bundle).map_err(&error)?;
    let (config, config_bytes) = empty_config();
    put_bytes(target, &config_bytes).map_err(&error)?;
    let mut layer = Descriptor::new(
        BUNDLE_MEDIA_TYPE,
        bundle_digest.clone(),
        bundle.len() as u64,
    );
    layer.annotations.insert(
        "org.opencontainers.image.title".to_owned(),
        format!("{}.sigstore.json", fallback_tag(&bundle_digest)),
    );
    let annotations = BTreeMap::from([
        (
            "dev.sigstore.bundle.content".to_owned(),
            "dsse-envelope".to_owned(),
        ),
        (
            "dev.sigstore.bundle.predicateType".to_owned(),
            statement.predicate_type.clone(),
        ),
        (
            "org.opencontainers.image.created".to_owned(),
            crate::created_timestamp(),
        ),
    ]);
    let mut subject = opened.image.descriptor();
    subject.annotations.clear();
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(OCI_MANIFEST.to_owned()),
        artifact_type: Some(BUNDLE_MEDIA_TYPE.to_owned()),
        config: Descriptor {
            data: None,
            ..config
        },
        layers: vec![layer],
        subject: Some(subject),
        annotations: annotations.clone(),
    };
    let fetched = fetched_of(&manifest);
    let mut entry = fetched.descriptor();
    entry.artifact_type = Some(BUNDLE_MEDIA_TYPE.to_owned());
    entry.annotations = annotations;
    target
        .put_referrer(&opened.image.digest, &fetched, entry)
        .map_err(&error)?;
    Ok(Signed {
        image: opened.image.digest.clone(),
        manifest: fetched.digest,
        tag: None,
    })
}

/// Attest: an in-toto statement with the predicate, signed, attached.
pub fn attest(settings: &AttestSettings) -> Result<Signed, SignatureError> {
    let uri = predicate_type_uri(&settings.predicate_type);
    let predicate = match &settings.predicate {
        Some(path) => {
            let bytes = fs_err::read(path).map_err(|source| SignatureError::Io {
                path: path.clone(),
                source,
            })?;
            serde_json::from_slice(&bytes).map_err(|source| SignatureError::Predicate {
                path: path.clone(),
                source,
            })?
        }
        None if uri == predicate_type_uri("sbom") => generate_sbom(&settings.sign)?,
        None if uri == predicate_type_uri("vuln") => generate_scan(&settings.sign)?,
        None => {
            return Err(SignatureError::Usage(format!(
                "`--predicate-type {}` needs `--predicate FILE` (drydock generates `sbom` and `vuln` predicates itself)",
                settings.predicate_type
            )));
        }
    };
    let key = crate::key::read_private(&settings.sign.key, &settings.sign.password)?;
    let opened = open(&settings.sign.target, &settings.sign.registry)?;
    let statement = statement(&opened, &uri, predicate);
    match settings.sign.format {
        SignatureFormat::Bundle => push_bundle(&opened, &key, &statement),
        SignatureFormat::Legacy => {
            let payload = serde_json::to_vec(&statement).unwrap_or_default();
            let envelope = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, &payload, &key);
            let bytes = serde_json::to_vec(&envelope).unwrap_or_default();
            let annotations = BTreeMap::from([
                (SIGNATURE_ANNOTATION.to_owned(), String::new()),
                (PREDICATE_TYPE_ANNOTATION.to_owned(), uri),
            ]);
            append_legacy(&opened, "att", DSSE_MEDIA_TYPE, &bytes, annotations)
        }
    }
}

/// The target as an `sbom`/`scan` source.
fn sbom_settings(settings: &SignSettings) -> crate::SbomSettings {
    let local = local_or_reference(&settings.target);
    let source = if local.starts_with("oci-dir:")
        || local.starts_with("oci:")
        || local.starts_with("registry:")
    {
        local
    } else {
        format!("registry:{}", local.trim_start_matches("docker://"))
    };
    crate::SbomSettings {
        source,
        platform: None,
        registry: settings.registry.clone(),
    }
}

/// drydock's own scan of the target (its scan JSON) as the `vuln` predicate.
fn generate_scan(settings: &SignSettings) -> Result<serde_json::Value, SignatureError> {
    let outcome = crate::scan(
        &crate::ScanSettings {
            sbom: sbom_settings(settings),
            db_dir: None,
            vex: Vec::new(),
            only_fixed: false,
            show_suppressed: false,
        },
        &crate::NoProgress,
    )
    .map_err(|e| SignatureError::Scan(Box::new(e)))?;
    serde_json::to_value(&outcome.result).map_err(|source| SignatureError::Predicate {
        path: PathBuf::from("<generated scan>"),
        source,
    })
}

/// drydock's own SBOM of the target as a CycloneDX predicate.
fn generate_sbom(settings: &SignSettings) -> Result<serde_json::Value, SignatureError> {
    let sbom = crate::sbom(&sbom_settings(settings), &crate::NoProgress)
        .map_err(|e| SignatureError::Sbom(Box::new(e)))?;
    let mut out = Vec::new();
    drydock_sbom::Format::CycloneDxJson
        .write(&sbom, &mut out)
        .map_err(|e| SignatureError::Usage(format!("cannot write the SBOM predicate ({e})")))?;
    serde_json::from_slice(&out).map_err(|source| SignatureError::Predicate {
        path: PathBuf::from("<generated SBOM>"),
        source,
    })
}

/// What `verify` and `verify-attestation` need.
#[derive(Clone, Debug, Default)]
pub struct VerifySettings {
    pub target: String,
    pub key: PathBuf,
    pub registry: RegistrySettings,
    /// For attestations: only this predicate type (short name or URI).
    pub predicate_type: Option<String>,
}

/// One signature or attestation that verified.
#[derive(Clone, Debug)]
pub struct Verified {
    pub format: SignatureFormat,
    /// The manifest that carries it.
    pub manifest: Digest,
    /// The signed payload (simple-signing JSON or in-toto statement).
    pub payload: Vec<u8>,
    pub predicate_type: Option<String>,
}

/// The outcome: what verified and, when nothing did, why each candidate failed.
#[derive(Clone, Debug)]
pub struct VerifyReport {
    pub image: Digest,
    pub verified: Vec<Verified>,
    pub rejected: Vec<String>,
}

/// Verify image signatures (either form), as `cosign verify --key` does.
pub fn verify(settings: &VerifySettings) -> Result<VerifyReport, SignatureError> {
    check(settings, false)
}

/// Verify attestations (either form), as `cosign verify-attestation --key` does.
pub fn verify_attestation(settings: &VerifySettings) -> Result<VerifyReport, SignatureError> {
    check(settings, true)
}

fn check(settings: &VerifySettings, attestations: bool) -> Result<VerifyReport, SignatureError> {
    let key = crate::key::read_public(&settings.key)?;
    let opened = open(&settings.target, &settings.registry)?;
    let error = registry_error(&opened);
    let target = opened.target.as_ref();
    let image = opened.image.digest.clone();
    let wanted = settings.predicate_type.as_deref().map(predicate_type_uri);
    let mut report = VerifyReport {
        image: image.clone(),
        verified: Vec::new(),
        rejected: Vec::new(),
    };
    // The bundle form: referrers carrying Sigstore bundles.
    for referrer in target.referrers(&image).map_err(&error)? {
        if referrer.artifact_type.as_deref() != Some(BUNDLE_MEDIA_TYPE) {
            continue;
        }
        let outcome = check_bundle(
            target,
            &referrer,
            &key,
            &image,
            attestations,
            wanted.as_deref(),
        );
        match outcome {
            Ok(Some(found)) => report.verified.push(found),
            Ok(None) => {}
            Err(reason) => report
                .rejected
                .push(format!("bundle {}: {reason}", referrer.digest)),
        }
    }
    // The legacy form: the `.sig` / `.att` tag.
    let suffix = if attestations { "att" } else { "sig" };
    let tag = format!("{}.{suffix}", fallback_tag(&image));
    if let Some(fetched) = target.manifest(&tag).map_err(&error)? {
        let manifest: Manifest = serde_json::from_slice(&fetched.bytes).map_err(|source| {
            error(RegistryError::Json {
                what: format!("manifest {tag}"),
                source,
            })
        })?;
        for layer in &manifest.layers {
            let outcome = if attestations {
                check_legacy_attestation(target, layer, &key, &image, wanted.as_deref())
            } else {
                check_legacy_signature(target, layer, &key, &image)
            };
            match outcome {
                Ok(Some(payload)) => report.verified.push(Verified {
                    format: SignatureFormat::Legacy,
                    manifest: fetched.digest.clone(),
                    predicate_type: layer.annotations.get(PREDICATE_TYPE_ANNOTATION).cloned(),
                    payload,
                }),
                Ok(None) => {}
                Err(reason) => report
                    .rejected
                    .push(format!("{tag} layer {}: {reason}", layer.digest)),
            }
        }
    }
    Ok(report)
}

fn check_bundle(
    target: &dyn Target,
    referrer: &Descriptor,
    key: &PublicKey,
    image: &Digest,
    attestations: bool,
    wanted: Option<&str>,
) -> Result<Option<Verified>, String> {
    let fetched = target
        .manifest(&referrer.digest.to_string())
        .map_err(|e| e.to_string())?
        .ok_or("the referrer manifest is missing")?;
    let manifest: Manifest = serde_json::from_slice(&fetched.bytes).map_err(|e| e.to_string())?;
    let layer = manifest
        .layers
        .first()
        .ok_or("the referrer has no layers")?;
    let bytes = target
        .blob_bytes(layer, MANIFEST_LIMIT)
        .map_err(|e| e.to_string())?;
    let bundle = Bundle::parse(&bytes).map_err(|e| e.to_string())?;
    let envelope = bundle
        .dsse_envelope
        .ok_or("the bundle holds no DSSE envelope")?;
    let statement = envelope.statement().map_err(|e| e.to_string())?;
    let is_signature = statement.predicate_type == SIGN_PREDICATE_TYPE;
    if is_signature == attestations {
        return Ok(None); // the other kind
    }
    if wanted.is_some_and(|w| w != statement.predicate_type) {
        return Ok(None);
    }
    let payload = envelope.verify(key).map_err(|e| e.to_string())?;
    subject_matches(&statement, image)?;
    Ok(Some(Verified {
        format: SignatureFormat::Bundle,
        manifest: referrer.digest.clone(),
        payload,
        predicate_type: Some(statement.predicate_type),
    }))
}

fn subject_matches(statement: &Statement, image: &Digest) -> Result<(), String> {
    let ok = statement
        .subject
        .iter()
        .any(|s| s.digest.get(image.algorithm().as_str()).map(String::as_str) == Some(image.hex()));
    if ok {
        Ok(())
    } else {
        Err(format!("the statement's subject is not {image}"))
    }
}

fn check_legacy_signature(
    target: &dyn Target,
    layer: &Descriptor,
    key: &PublicKey,
    image: &Digest,
) -> Result<Option<Vec<u8>>, String> {
    if layer.media_type != SIMPLE_SIGNING_MEDIA_TYPE {
        return Ok(None);
    }
    let signature = layer
        .annotations
        .get(SIGNATURE_ANNOTATION)
        .ok_or("no signature annotation")?;
    let signature = STANDARD
        .decode(signature)
        .map_err(|_| "the signature annotation is not base64")?;
    let payload = target
        .blob_bytes(layer, MANIFEST_LIMIT)
        .map_err(|e| e.to_string())?;
    if !key.verify(&payload, &signature) {
        return Err("the signature does not verify with the given key".into());
    }
    let parsed = parse_simple_signing(&payload).map_err(|e| e.to_string())?;
    if parsed.critical.image.docker_manifest_digest != image.to_string() {
        return Err(format!(
            "the payload signs {}, not {image}",
            parsed.critical.image.docker_manifest_digest
        ));
    }
    Ok(Some(payload))
}

fn check_legacy_attestation(
    target: &dyn Target,
    layer: &Descriptor,
    key: &PublicKey,
    image: &Digest,
    wanted: Option<&str>,
) -> Result<Option<Vec<u8>>, String> {
    if layer.media_type != DSSE_MEDIA_TYPE {
        return Ok(None);
    }
    let bytes = target
        .blob_bytes(layer, 64 << 20)
        .map_err(|e| e.to_string())?;
    let envelope: Envelope = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    let statement = envelope.statement().map_err(|e| e.to_string())?;
    if wanted.is_some_and(|w| w != statement.predicate_type) {
        return Ok(None);
    }
    let payload = envelope.verify(key).map_err(|e| e.to_string())?;
    subject_matches(&statement, image)?;
    Ok(Some(payload))
}
