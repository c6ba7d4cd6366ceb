//! Reading SBOMs written by any tool back into an [`Sbom`]: CycloneDX 1.2–1.7
//! (JSON and XML), SPDX 2.2/2.3 (JSON and tag-value), Syft's own JSON and
//! drydock's native JSON, the format detected from the content. Packages
//! need a purl: components or packages without one, or with a purl type
//! drydock has no package kind for, are skipped and reported as problems.
//!
//! The purl decides the package kind and is what the matcher looks up; the
//! name and version shown are the SBOM's own (`golang.org/x/crypto`,
//! `@babel/core`, `org.example:lib`, `1:2.38.1-5+b1`). Where the SBOM gives
//! none, they are made from the purl: its namespace joins the name for the
//! ecosystems whose package names include it (Go, npm, Maven, Composer), and
//! an `epoch` qualifier is put before a deb or rpm version.
//!
//! What is read besides:
//! - the distro: a CycloneDX `operating-system` component, an SPDX package
//!   with `primaryPackagePurpose: OPERATING_SYSTEM` or Syft's `distro` (name
//!   = `ID`, version = `VERSION_ID`), else the first purl `distro` qualifier
//!   (`debian-12`);
//! - the source package: drydock's `drydock:package:source-name` /
//!   `source-version` properties, Trivy's `aquasecurity:trivy:Src*`
//!   properties, Syft JSON's `metadata.source`/`sourceVersion`, an SPDX
//!   `GENERATED_FROM` source package, else the purl `upstream` qualifier
//!   (`openssl` or `openssl@3.0.11-1`, as Syft writes it);
//! - locations: drydock's `drydock:location:N:path` and Syft's
//!   `syft:location:N:path` properties, CycloneDX `evidence.occurrences`,
//!   Syft JSON `locations`.
use drydock_core::{
    Distro, ImagePath, Location, Package, PackageKind, Problem, Purl, SourceMetadata, SourcePackage,
};
use serde_json::Value;

use crate::{Sbom, Tool, parse_purl, read_native};

mod syft;
mod tag_value;
mod xml;

/// The cataloger name of problems found while reading an SBOM.
const READER: &str = "sbom-reader";

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("the SBOM is not valid JSON")]
    Json {
        #[source]
        source: serde_json::Error,
    },
    #[error("the SBOM is not valid XML")]
    Xml {
        #[source]
        source: roxmltree::Error,
    },
    #[error("the XML SBOM's root element is `{0}`, not CycloneDX's `bom`")]
    NotCycloneDxXml(String),
    #[error("the SBOM is not UTF-8 text")]
    NotUtf8,
    #[error("SPDX tag-value line {line}: {reason}")]
    TagValue { line: usize, reason: String },
    #[error(
        "the SBOM is neither CycloneDX (`bomFormat`, or XML `<bom>`), SPDX (`spdxVersion`, or tag-value `SPDXVersion:`), Syft JSON (`artifacts`) nor drydock native JSON (`schema_version`)"
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
    CycloneDxXml,
    Spdx,
    SpdxTagValue,
    Syft,
    Native,
}

/// Reads an SBOM in any supported format. `source` names the input (e.g.
/// `sbom:bom.json`) for the result's [`SourceMetadata`].
pub fn read_sbom(bytes: &[u8], source: &str) -> Result<(Sbom, InputFormat), ReadError> {
    let metadata = SourceMetadata {
        name: source.to_owned(),
        kind: "sbom".to_owned(),
        image: None,
    };
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace());
    match start.and_then(|start| bytes.get(start)) {
        Some(b'<') => {
            let text = std::str::from_utf8(bytes).map_err(|_| ReadError::NotUtf8)?;
            let value = xml::cyclonedx_to_json(text)?;
            return Ok((cyclonedx(&value, metadata), InputFormat::CycloneDxXml));
        }
        Some(b'{' | b'[') => {}
        _ => {
            let text = std::str::from_utf8(bytes).map_err(|_| ReadError::NotUtf8)?;
            if tag_value::looks_like_tag_value(text) {
                let value = tag_value::spdx_to_json(text)?;
                return Ok((spdx(&value, metadata), InputFormat::SpdxTagValue));
            }
            return Err(ReadError::UnknownFormat);
        }
    }
    let value: Value =
        serde_json::from_slice(bytes).map_err(|source| ReadError::Json { source })?;
    if value.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
        return Ok((cyclonedx(&value, metadata), InputFormat::CycloneDx));
    }
    if value.get("spdxVersion").is_some() {
        return Ok((spdx(&value, metadata), InputFormat::Spdx));
    }
    if value.get("artifacts").is_some_and(Value::is_array) {
        return Ok((syft::read(&value, metadata), InputFormat::Syft));
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

/// What an SBOM says about one package, whatever its format.
#[derive(Default)]
struct Entry<'a> {
    purl: &'a str,
    name: Option<&'a str>,
    /// CycloneDX `group` (Maven group, npm scope, Go module prefix).
    group: Option<&'a str>,
    version: Option<&'a str>,
    properties: Vec<(String, String)>,
    /// Paths the SBOM names for the package, besides its properties.
    locations: Vec<String>,
    /// A source package the format states outside properties and purl.
    source: Option<SourcePackage>,
}

/// The name a package has in its ecosystem, from its purl: the namespace is
/// part of the name for Go, npm, Maven and Composer, a vendor for the rest.
fn name_from_purl(kind: PackageKind, purl: &Purl) -> String {
    let name = purl.name();
    match (
        kind,
        purl.namespace().filter(|namespace| !namespace.is_empty()),
    ) {
        (PackageKind::Maven, Some(group)) => format!("{group}:{name}"),
        (PackageKind::Golang | PackageKind::Npm | PackageKind::Composer, Some(namespace)) => {
            format!("{namespace}/{name}")
        }
        _ => name.to_owned(),
    }
}

/// The SBOM's name, with its CycloneDX `group` when the name does not
/// already carry it; the purl's when the SBOM has none.
fn display_name(kind: PackageKind, purl: &Purl, entry: &Entry<'_>) -> String {
    let Some(name) = entry.name.filter(|name| !name.is_empty()) else {
        return name_from_purl(kind, purl);
    };
    let group = entry.group.filter(|group| !group.is_empty());
    match (kind, group) {
        (PackageKind::Maven, Some(group)) if !name.starts_with(&format!("{group}:")) => {
            format!("{group}:{name}")
        }
        (PackageKind::Golang | PackageKind::Npm | PackageKind::Composer, Some(group))
            if !name.starts_with(&format!("{group}/")) =>
        {
            format!("{group}/{name}")
        }
        _ => name.to_owned(),
    }
}

/// The SBOM's version, else the purl's; an `epoch` qualifier of a deb or rpm
/// purl goes before a version that lacks one (`1:2.38.1-5`), as dpkg and
/// rpm print it.
fn display_version(kind: PackageKind, purl: &Purl, entry: &Entry<'_>) -> String {
    let version = entry
        .version
        .filter(|version| !version.is_empty())
        .or(purl.version())
        .unwrap_or_default();
    match (kind, purl.qualifier("epoch")) {
        (PackageKind::Deb | PackageKind::Rpm, Some(epoch))
            if !version.is_empty() && !version.contains(':') && epoch != "0" =>
        {
            format!("{epoch}:{version}")
        }
        _ => version.to_owned(),
    }
}

fn property<'a>(properties: &'a [(String, String)], name: &str) -> Option<&'a str> {
    properties
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
        .filter(|value| !value.is_empty())
}

/// Trivy's `aquasecurity:trivy:SrcName`/`SrcVersion`/`SrcRelease`/`SrcEpoch`.
fn trivy_source(properties: &[(String, String)]) -> Option<SourcePackage> {
    let name = property(properties, "aquasecurity:trivy:SrcName")?;
    let mut version = property(properties, "aquasecurity:trivy:SrcVersion")?.to_owned();
    if let Some(release) = property(properties, "aquasecurity:trivy:SrcRelease") {
        version = format!("{version}-{release}");
    }
    if let Some(epoch) =
        property(properties, "aquasecurity:trivy:SrcEpoch").filter(|epoch| *epoch != "0")
    {
        version = format!("{epoch}:{version}");
    }
    Some(SourcePackage {
        name: name.to_owned(),
        version,
    })
}

/// A package from what the SBOM says, or why not.
fn package_from(entry: Entry<'_>) -> Result<Package, String> {
    let text = entry.purl;
    let purl = parse_purl(text).map_err(|error| error.to_string())?;
    let kind: PackageKind = purl.ty().parse().map_err(|_| {
        format!(
            "purl `{text}`: no drydock package kind for type `{}`",
            purl.ty()
        )
    })?;
    let name = display_name(kind, &purl, &entry);
    let version = display_version(kind, &purl, &entry);
    let properties = &entry.properties;
    let source = match (
        property(properties, "drydock:package:source-name"),
        property(properties, "drydock:package:source-version"),
    ) {
        (Some(name), Some(source_version)) => Some(SourcePackage {
            name: name.to_owned(),
            version: source_version.to_owned(),
        }),
        _ => trivy_source(properties).or(entry.source).or_else(|| {
            purl.qualifier("upstream")
                .map(|upstream| match upstream.split_once('@') {
                    Some((name, source_version)) => SourcePackage {
                        name: name.to_owned(),
                        version: source_version.to_owned(),
                    },
                    None => SourcePackage {
                        name: upstream.to_owned(),
                        version: version.clone(),
                    },
                })
        }),
    };
    let mut locations: Vec<Location> = Vec::new();
    let paths = properties
        .iter()
        .filter(|(key, _)| {
            (key.starts_with("drydock:location:") || key.starts_with("syft:location:"))
                && key.ends_with(":path")
        })
        .map(|(_, path)| path.as_str())
        .chain(entry.locations.iter().map(String::as_str));
    for path in paths {
        let Ok(path) = ImagePath::new(path) else {
            continue;
        };
        if !locations.iter().any(|known| known.path == path) {
            locations.push(Location { path, layer: None });
        }
    }
    Ok(Package {
        name,
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
                let codename =
                    property(&properties, "drydock:distro:version-codename").map(str::to_owned);
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
            // Trivy lists the files it found packages in as purl-less
            // `application` components; only other components are lost.
            if !name.is_empty() && text(component, "type") != Some("application") {
                sbom.problems.push(problem(format!(
                    "component `{name}` has no purl: not scanned"
                )));
            }
            continue;
        };
        let locations = component
            .get("evidence")
            .and_then(|evidence| evidence.get("occurrences"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|occurrence| text(occurrence, "location"))
            .map(str::to_owned)
            .collect();
        let entry = Entry {
            purl,
            name: text(component, "name"),
            group: text(component, "group"),
            version: text(component, "version"),
            properties: properties_of(component),
            locations,
            source: None,
        };
        match package_from(entry) {
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
        let source = text(package, "SPDXID")
            .and_then(|id| generated_from.get(id))
            .and_then(|source_id| sources.get(source_id))
            .cloned();
        let entry = Entry {
            purl,
            name: text(package, "name"),
            version: text(package, "versionInfo"),
            source,
            ..Entry::default()
        };
        match package_from(entry) {
            Ok(found) => sbom.packages.push(found),
            Err(reason) => sbom
                .problems
                .push(problem(format!("package `{name}`: {reason}"))),
        }
    }
    finish(sbom, os)
}

#[cfg(test)]
mod tests;
