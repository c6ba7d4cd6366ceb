//! Syft's own JSON (`syft -o syft-json`): `artifacts` with name, version,
//! purl, locations and per-type metadata; the distro under `distro`.
use drydock_core::{Distro, SourceMetadata, SourcePackage};
use serde_json::Value;

use super::{Entry, empty_sbom, finish, package_from, problem, text};
use crate::Sbom;

pub(super) fn read(value: &Value, source: SourceMetadata) -> Sbom {
    let mut sbom = empty_sbom(source);
    let os = value.get("distro").and_then(|distro| {
        Some(Distro {
            id: text(distro, "id")?.to_ascii_lowercase(),
            version_id: text(distro, "versionID").unwrap_or_default().to_owned(),
            version_codename: text(distro, "versionCodename").map(str::to_owned),
            ..Distro::default()
        })
    });
    for artifact in value
        .get("artifacts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = text(artifact, "name").unwrap_or_default();
        let Some(purl) = text(artifact, "purl") else {
            if !name.is_empty() {
                sbom.problems.push(problem(format!(
                    "artifact `{name}` has no purl: not scanned"
                )));
            }
            continue;
        };
        let metadata = artifact.get("metadata");
        // dpkg and rpm metadata name the source package (`source`,
        // `sourceVersion`; rpm `sourceRpm` is a file name, not used).
        let source = metadata.and_then(|metadata| {
            let name = text(metadata, "source")?;
            let version = text(metadata, "sourceVersion")
                .or_else(|| text(artifact, "version"))
                .unwrap_or_default();
            Some(SourcePackage {
                name: name.to_owned(),
                version: version.to_owned(),
            })
        });
        let locations = artifact
            .get("locations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|location| text(location, "path"))
            .map(str::to_owned)
            .collect();
        let entry = Entry {
            purl,
            name: text(artifact, "name"),
            version: text(artifact, "version"),
            locations,
            source,
            ..Entry::default()
        };
        match package_from(entry) {
            Ok(package) => sbom.packages.push(package),
            Err(reason) => sbom
                .problems
                .push(problem(format!("artifact `{name}`: {reason}"))),
        }
    }
    finish(sbom, os)
}
