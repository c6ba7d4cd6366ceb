//! Reading SBOMs written by any tool back into an [`Sbom`]: CycloneDX 1.x
//! JSON, SPDX 2.x JSON and drydock's native JSON (format detected from the
//! content). Packages are made from purls: components or packages without
//! a purl, or with a purl type drydock has no package kind for, are skipped
//! and reported as problems.
//!
//! What is read besides the purl:
//! - the distro: a CycloneDX `operating-system` component or an SPDX package
//!   with `primaryPackagePurpose: OPERATING_SYSTEM` (name = `ID`, version =
//!   `VERSION_ID`), else the first purl `distro` qualifier (`debian-12`);
//! - the source package: drydock's `drydock:package:source-name` /
//!   `source-version` properties, else the purl `upstream` qualifier
//!   (`openssl` or `openssl@3.0.11-1`, as Syft writes it);
//! - locations: drydock's `drydock:location:N:path` properties.
use drydock_core::{
    Distro, ImagePath, Location, Package, PackageKind, Problem, Purl, SourceMetadata, SourcePackage,
};
use serde_json::Value;

use crate::{Sbom, Tool, parse_purl, read_native};

/// The cataloger name of problems found while reading an SBOM.
const READER: &str = "sbom-reader";

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("the SBOM is not JSON")]
    Json {
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "the SBOM is neither CycloneDX (`bomFormat`), SPDX (`spdxVersion`) nor drydock native JSON (`schema_version`)"
    )]
    UnknownFormat,
    #[error("cannot read the drydock native JSON SBOM")]
    Native {
        #[source]
        source: crate::SbomError,
    },
}

/// Which format [`read_sbom`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputFormat {
    CycloneDx,
    Spdx,
    Native,
}

/// Reads a CycloneDX, SPDX or drydock native JSON SBOM. `source` names the
/// input (e.g. `sbom:bom.json`) for the result's [`SourceMetadata`].
pub fn read_sbom(bytes: &[u8], source: &str) -> Result<(Sbom, InputFormat), ReadError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|source| ReadError::Json { source })?;
    let metadata = SourceMetadata {
        name: source.to_owned(),
        kind: "sbom".to_owned(),
        image: None,
    };
    if value.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
        return Ok((cyclonedx(&value, metadata), InputFormat::CycloneDx));
    }
    if value.get("spdxVersion").is_some() {
        return Ok((spdx(&value, metadata), InputFormat::Spdx));
    }
    if value.get("schema_version").is_some() {
        let mut sbom = read_native(bytes).map_err(|source| ReadError::Native { source })?;
        source.clone_into(&mut sbom.source.name);
        return Ok((sbom, InputFormat::Native));
    }
    Err(ReadError::UnknownFormat)
}

fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn empty_sbom(source: SourceMetadata) -> Sbom {
    Sbom {
        source,
        distro: None,
        packages: Vec::new(),
        relationships: Vec::new(),
        problems: Vec::new(),
        tool: Tool::drydock(),
        created: String::new(),
    }
}

fn problem(reason: String) -> Problem {
    Problem {
        cataloger: READER.to_owned(),
        path: ImagePath::root(),
        layer: None,
        reason,
    }
}

/// A package from a purl, or why not.
fn package_from_purl(
    text: &str,
    fallback_version: Option<&str>,
    properties: &[(String, String)],
) -> Result<Package, String> {
    let purl = parse_purl(text).map_err(|error| error.to_string())?;
    let kind: PackageKind = purl.ty().parse().map_err(|_| {
        format!(
            "purl `{text}`: no drydock package kind for type `{}`",
            purl.ty()
        )
    })?;
    let version = purl
        .version()
        .or(fallback_version)
        .unwrap_or_default()
        .to_owned();
    let property = |name: &str| {
        properties
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    let source = match (
        property("drydock:package:source-name"),
        property("drydock:package:source-version"),
    ) {
        (Some(name), Some(source_version)) => Some(SourcePackage {
            name: name.to_owned(),
            version: source_version.to_owned(),
        }),
        _ => purl
            .qualifier("upstream")
            .map(|upstream| match upstream.split_once('@') {
                Some((name, source_version)) => SourcePackage {
                    name: name.to_owned(),
                    version: source_version.to_owned(),
                },
                None => SourcePackage {
                    name: upstream.to_owned(),
                    version: version.clone(),
                },
            }),
    };
    let locations = properties
        .iter()
        .filter(|(key, _)| key.starts_with("drydock:location:") && key.ends_with(":path"))
        .filter_map(|(_, path)| ImagePath::new(path).ok())
        .map(|path| Location { path, layer: None })
        .collect();
    Ok(Package {
        name: purl.name().to_owned(),
        version,
        kind,
        arch: purl.qualifier("arch").map(str::to_owned),
        source,
        licenses: Vec::new(),
        maintainer: None,
        installed_size: None,
        checksum: None,
        installed: true,
        locations,
        layer: None,
        files: Vec::new(),
        purl,
    })
}

/// `debian-12` → `debian` / `12`; `alpine-3.19.1` → `alpine` / `3.19.1`.
fn distro_from_qualifier(purl: &Purl) -> Option<Distro> {
    let qualifier = purl.qualifier("distro")?;
    let (id, version) = match qualifier.rsplit_once('-') {
        Some((id, version)) if version.starts_with(|c: char| c.is_ascii_digit()) => (id, version),
        _ => (qualifier, ""),
    };
    Some(Distro {
        id: id.to_ascii_lowercase(),
        version_id: version.to_owned(),
        ..Distro::default()
    })
}

fn finish(mut sbom: Sbom, os: Option<Distro>) -> Sbom {
    sbom.distro = os.or_else(|| {
        sbom.packages
            .iter()
            .find_map(|package| distro_from_qualifier(&package.purl))
    });
    sbom
}

fn cyclonedx(value: &Value, source: SourceMetadata) -> Sbom {
    let mut sbom = empty_sbom(source);
    if let Some(timestamp) = value.get("metadata").and_then(|m| text(m, "timestamp")) {
        timestamp.clone_into(&mut sbom.created);
    }
    let mut os = None;
    let mut stack: Vec<&Value> = value
        .get("components")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    stack.reverse();
    while let Some(component) = stack.pop() {
        let children: Vec<&Value> = component
            .get("components")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .collect();
        stack.extend(children.into_iter().rev());
        let name = text(component, "name").unwrap_or_default();
        if text(component, "type") == Some("operating-system") {
            if os.is_none() {
                let properties = properties_of(component);
                let codename = properties
                    .iter()
                    .find(|(key, _)| key == "drydock:distro:version-codename")
                    .map(|(_, v)| v.clone());
                os = Some(Distro {
                    id: name.to_ascii_lowercase(),
                    version_id: text(component, "version").unwrap_or_default().to_owned(),
                    version_codename: codename,
                    ..Distro::default()
                });
            }
            continue;
        }
        let Some(purl) = text(component, "purl") else {
            if !name.is_empty() {
                sbom.problems.push(problem(format!(
                    "component `{name}` has no purl: not scanned"
                )));
            }
            continue;
        };
        match package_from_purl(purl, text(component, "version"), &properties_of(component)) {
            Ok(package) => sbom.packages.push(package),
            Err(reason) => sbom
                .problems
                .push(problem(format!("component `{name}`: {reason}"))),
        }
    }
    finish(sbom, os)
}

fn properties_of(component: &Value) -> Vec<(String, String)> {
    component
        .get("properties")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|property| {
            Some((
                text(property, "name")?.to_owned(),
                property.get("value")?.as_str()?.to_owned(),
            ))
        })
        .collect()
}

fn spdx(value: &Value, source: SourceMetadata) -> Sbom {
    let mut sbom = empty_sbom(source);
    if let Some(created) = value
        .get("creationInfo")
        .and_then(|info| text(info, "created"))
    {
        created.clone_into(&mut sbom.created);
    }
    let packages: Vec<&Value> = value
        .get("packages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    // Source packages (`primaryPackagePurpose: SOURCE`) and the binaries
    // `GENERATED_FROM` them.
    let sources: std::collections::HashMap<&str, SourcePackage> = packages
        .iter()
        .filter(|package| text(package, "primaryPackagePurpose") == Some("SOURCE"))
        .filter_map(|package| {
            Some((
                text(package, "SPDXID")?,
                SourcePackage {
                    name: text(package, "name")?.to_owned(),
                    version: text(package, "versionInfo").unwrap_or_default().to_owned(),
                },
            ))
        })
        .collect();
    let generated_from: std::collections::HashMap<&str, &str> = value
        .get("relationships")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|relationship| text(relationship, "relationshipType") == Some("GENERATED_FROM"))
        .filter_map(|relationship| {
            Some((
                text(relationship, "spdxElementId")?,
                text(relationship, "relatedSpdxElement")?,
            ))
        })
        .collect();
    let mut os = None;
    for package in packages {
        let name = text(package, "name").unwrap_or_default();
        if text(package, "primaryPackagePurpose") == Some("SOURCE") {
            continue;
        }
        if text(package, "primaryPackagePurpose") == Some("OPERATING_SYSTEM") {
            if os.is_none() {
                os = Some(Distro {
                    id: name.to_ascii_lowercase(),
                    version_id: text(package, "versionInfo").unwrap_or_default().to_owned(),
                    ..Distro::default()
                });
            }
            continue;
        }
        let purl = package
            .get("externalRefs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|reference| text(reference, "referenceType") == Some("purl"))
            .and_then(|reference| text(reference, "referenceLocator"));
        let Some(purl) = purl else {
            // drydock's own SPDX has a root package for the source without a
            // purl; other packages without one cannot be matched.
            if text(package, "primaryPackagePurpose")
                .is_none_or(|purpose| purpose != "CONTAINER" && purpose != "FILE")
            {
                sbom.problems.push(problem(format!(
                    "package `{name}` has no purl: not scanned"
                )));
            }
            continue;
        };
        match package_from_purl(purl, text(package, "versionInfo"), &[]) {
            Ok(mut found) => {
                let source = text(package, "SPDXID")
                    .and_then(|id| generated_from.get(id))
                    .and_then(|source_id| sources.get(source_id));
                if let Some(source) = source {
                    found.source = Some(source.clone());
                }
                sbom.packages.push(found);
            }
            Err(reason) => sbom
                .problems
                .push(problem(format!("package `{name}`: {reason}"))),
        }
    }
    finish(sbom, os)
}
