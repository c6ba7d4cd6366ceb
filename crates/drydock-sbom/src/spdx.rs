//! SPDX 2.3 JSON.

use std::collections::BTreeMap;

use drydock_core::{Algorithm, Package};
use serde::Serialize;

use crate::ids::{SpdxIds, is_organization, parse_maintainer, source_purl, spdx_idstring};
use crate::license::spdx_license_declared;
use crate::{Format, Sbom, SbomError, merged_packages, sorted_packages, write_json};

const DOCUMENT_ID: &str = "SPDXRef-DOCUMENT";
const NOASSERTION: &str = "NOASSERTION";

#[expect(
    clippy::struct_field_names,
    reason = "field names follow the specification"
)]
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    spdx_version: &'static str,
    data_license: &'static str,
    #[serde(rename = "SPDXID")]
    spdx_id: &'static str,
    name: String,
    document_namespace: String,
    creation_info: CreationInfo,
    packages: Vec<SpdxPackage>,
    relationships: Vec<Relationship>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    has_extracted_licensing_infos: Vec<ExtractedLicense>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreationInfo {
    created: String,
    creators: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SpdxPackage {
    #[serde(rename = "SPDXID")]
    spdx_id: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_info: Option<String>,
    supplier: String,
    download_location: &'static str,
    files_analyzed: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    checksums: Vec<Checksum>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_info: Option<String>,
    license_concluded: &'static str,
    license_declared: String,
    copyright_text: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    external_refs: Vec<ExternalRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    primary_package_purpose: Option<&'static str>,
}

impl SpdxPackage {
    fn new(spdx_id: String, name: String) -> SpdxPackage {
        SpdxPackage {
            spdx_id,
            name,
            version_info: None,
            supplier: NOASSERTION.to_owned(),
            download_location: NOASSERTION,
            files_analyzed: false,
            checksums: Vec::new(),
            source_info: None,
            license_concluded: NOASSERTION,
            license_declared: NOASSERTION.to_owned(),
            copyright_text: NOASSERTION,
            external_refs: Vec::new(),
            primary_package_purpose: None,
        }
    }

    fn purl(&mut self, purl: String) {
        self.external_refs.push(ExternalRef {
            reference_category: "PACKAGE-MANAGER",
            reference_type: "purl",
            reference_locator: purl,
        });
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Checksum {
    algorithm: &'static str,
    checksum_value: String,
}

#[expect(
    clippy::struct_field_names,
    reason = "field names follow the specification"
)]
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExternalRef {
    reference_category: &'static str,
    reference_type: &'static str,
    reference_locator: String,
}

#[expect(
    clippy::struct_field_names,
    reason = "field names follow the specification"
)]
#[derive(Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "camelCase")]
struct Relationship {
    spdx_element_id: String,
    relationship_type: &'static str,
    related_spdx_element: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExtractedLicense {
    license_id: String,
    extracted_text: String,
    name: String,
}

/// Write `sbom` as an SPDX 2.3 JSON document.
///
/// The `documentNamespace` ends in a hash of the document without it, so the
/// same SBOM always gets the same namespace and different SBOMs different ones.
pub fn write_spdx_json(sbom: &Sbom, out: &mut dyn std::io::Write) -> Result<(), SbomError> {
    let mut document = build(sbom);
    let unnamed = serde_json::to_vec(&document).map_err(|source| SbomError::Serialize {
        format: Format::SpdxJson,
        source,
    })?;
    let hash = drydock_core::Digest::sha256_of(&unnamed);
    let name: String = spdx_idstring(&sbom.source.name).chars().take(64).collect();
    document.document_namespace = format!("https://drydock.invalid/spdx/{name}-{}", hash.hex());
    write_json(Format::SpdxJson, &document, out)
}

fn build(sbom: &Sbom) -> Document {
    let mut ids = SpdxIds::default();
    ids.reserve(DOCUMENT_ID);
    let mut license_refs: BTreeMap<String, String> = BTreeMap::new();
    let mut packages: Vec<SpdxPackage> = Vec::new();
    let mut relationships: Vec<Relationship> = Vec::new();

    let root_id = ids.allocate("Source", &[]);
    packages.push(root_package(sbom, root_id.clone()));
    relationships.push(relationship(DOCUMENT_ID, "DESCRIBES", &root_id));

    if let Some(distro) = &sbom.distro {
        let id = ids.allocate("OperatingSystem", &[&distro.id, &distro.version_id]);
        let mut os = SpdxPackage::new(id.clone(), distro.id.clone());
        if !distro.version_id.is_empty() {
            os.version_info = Some(distro.version_id.clone());
        }
        os.primary_package_purpose = Some("OPERATING_SYSTEM");
        packages.push(os);
        relationships.push(relationship(&root_id, "CONTAINS", &id));
    }

    let merged = merged_packages(&sbom.packages);
    let sorted = sorted_packages(&merged);
    let mut by_purl: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut sources: BTreeMap<String, String> = BTreeMap::new();
    let mut source_packages: Vec<SpdxPackage> = Vec::new();
    for package in &sorted {
        let id = ids.allocate(
            "Package",
            &[package.kind.as_str(), &package.name, &package.version],
        );
        by_purl
            .entry(package.purl.to_string())
            .or_default()
            .push(id.clone());
        packages.push(binary_package(package, id.clone(), &mut license_refs));
        relationships.push(relationship(&root_id, "CONTAINS", &id));

        if let (Some(source), Some(purl)) = (&package.source, source_purl(package)) {
            let purl = purl.to_string();
            let source_id = if let Some(source_id) = sources.get(&purl) {
                source_id.clone()
            } else {
                let source_id = ids.allocate(
                    "SourcePackage",
                    &[package.kind.as_str(), &source.name, &source.version],
                );
                let mut spdx = SpdxPackage::new(source_id.clone(), source.name.clone());
                spdx.version_info = Some(source.version.clone());
                spdx.primary_package_purpose = Some("SOURCE");
                spdx.purl(purl.clone());
                source_packages.push(spdx);
                sources.insert(purl, source_id.clone());
                source_id
            };
            relationships.push(relationship(&id, "GENERATED_FROM", &source_id));
        }
    }
    packages.extend(source_packages);

    for model in &sbom.relationships {
        let Some(kind) = relationship_type(&model.kind) else {
            continue;
        };
        let (Some(froms), Some(tos)) = (by_purl.get(&model.from), by_purl.get(&model.to)) else {
            continue;
        };
        for from in froms {
            for to in tos {
                let mut r = relationship(from, kind, to);
                if kind == "OTHER" {
                    r.comment = Some(model.kind.clone());
                }
                relationships.push(r);
            }
        }
    }
    // DESCRIBES first, then the rest in a stable order.
    let (describes, mut rest): (Vec<_>, Vec<_>) = relationships
        .into_iter()
        .partition(|r| r.relationship_type == "DESCRIBES");
    rest.sort();
    rest.dedup();
    let relationships = describes.into_iter().chain(rest).collect();

    let mut comment_lines: Vec<String> = sbom
        .problems
        .iter()
        .map(|problem| format!("{}: {problem}", problem.cataloger))
        .collect();
    comment_lines.sort();

    Document {
        spdx_version: "SPDX-2.3",
        data_license: "CC0-1.0",
        spdx_id: DOCUMENT_ID,
        name: sbom.source.name.clone(),
        document_namespace: String::new(),
        creation_info: CreationInfo {
            created: sbom.created.clone(),
            creators: vec![format!("Tool: {}-{}", sbom.tool.name, sbom.tool.version)],
            comment: (!comment_lines.is_empty())
                .then(|| format!("Problems:\n{}", comment_lines.join("\n"))),
        },
        packages,
        relationships,
        has_extracted_licensing_infos: license_refs
            .into_iter()
            .map(|(license_id, text)| ExtractedLicense {
                name: text.clone(),
                license_id,
                extracted_text: text,
            })
            .collect(),
    }
}

fn relationship(from: &str, kind: &'static str, to: &str) -> Relationship {
    Relationship {
        spdx_element_id: from.to_owned(),
        relationship_type: kind,
        related_spdx_element: to.to_owned(),
        comment: None,
    }
}

/// Package-to-package relationship kinds of the model, as SPDX names them.
fn relationship_type(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "depends-on" | "dependency" => "DEPENDS_ON",
        "dependency-of" => "DEPENDENCY_OF",
        "generated-from" | "built-from" => "GENERATED_FROM",
        "contains" => "CONTAINS",
        "" => return None,
        _ => "OTHER",
    })
}

fn root_package(sbom: &Sbom, id: String) -> SpdxPackage {
    let source = &sbom.source;
    let mut root = SpdxPackage::new(id, source.name.clone());
    if let Some(image) = &source.image {
        root.primary_package_purpose = Some("CONTAINER");
        if let Some(manifest) = &image.manifest_digest {
            root.version_info = Some(manifest.to_string());
            let algorithm = match manifest.algorithm() {
                Algorithm::Sha256 => "SHA256",
                Algorithm::Sha512 => "SHA512",
            };
            root.checksums.push(Checksum {
                algorithm,
                checksum_value: manifest.hex().to_owned(),
            });
        }
        let mut info = vec![format!("{} image", source.kind)];
        if let Some(config) = &image.config_digest {
            info.push(format!("config {config}"));
        }
        let mut platform = format!("{}/{}", image.os, image.architecture);
        if let Some(variant) = &image.variant {
            platform.push('/');
            platform.push_str(variant);
        }
        info.push(format!("platform {platform}"));
        let layers: Vec<String> = image
            .layers
            .iter()
            .filter_map(|l| l.layer.digest.as_ref().map(ToString::to_string))
            .collect();
        if !layers.is_empty() {
            info.push(format!("layers {}", layers.join(" ")));
        }
        if !image.tags.is_empty() {
            info.push(format!("tags {}", image.tags.join(" ")));
        }
        root.source_info = Some(info.join("; "));
    } else {
        root.primary_package_purpose = Some("FILE");
        root.source_info = Some(format!("{} source", source.kind));
    }
    root
}

fn binary_package(
    package: &Package,
    id: String,
    license_refs: &mut BTreeMap<String, String>,
) -> SpdxPackage {
    let mut spdx = SpdxPackage::new(id, package.name.clone());
    if !package.version.is_empty() {
        spdx.version_info = Some(package.version.clone());
    }
    if let Some(maintainer) = &package.maintainer {
        spdx.supplier = supplier(maintainer);
    }
    spdx.license_declared = spdx_license_declared(&package.licenses, license_refs);
    spdx.purl(package.purl.to_string());
    let mut info: Vec<String> = package
        .locations
        .iter()
        .map(
            |location| match location.layer.as_ref().and_then(|l| l.digest.as_ref()) {
                Some(digest) => format!("{} (layer {digest})", location.path),
                None => location.path.to_string(),
            },
        )
        .collect();
    if !info.is_empty() {
        info.insert(0, format!("{} package database:", package.kind.as_str()));
        spdx.source_info = Some(info.join(" "));
    }
    spdx
}

/// `Person: name (email)` or `Organization: name (email)`; SPDX wants the
/// e-mail in parentheses, so parentheses inside the name are dropped.
fn supplier(maintainer: &str) -> String {
    let contact = parse_maintainer(maintainer);
    let name: String = contact
        .name
        .chars()
        .filter(|c| !matches!(c, '(' | ')'))
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let name = match (name.is_empty(), &contact.email) {
        (true, None) => return NOASSERTION.to_owned(),
        (true, Some(email)) => email.clone(),
        (false, _) => name,
    };
    let kind = if is_organization(&name) {
        "Organization"
    } else {
        "Person"
    };
    match contact.email {
        Some(email) => format!("{kind}: {name} ({email})"),
        None => format!("{kind}: {name}"),
    }
}
