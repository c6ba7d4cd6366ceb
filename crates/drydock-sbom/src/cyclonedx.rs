//! CycloneDX 1.6 JSON.

use std::collections::{BTreeMap, BTreeSet};

use drydock_core::{Digest, Layer, Package};
use serde::Serialize;

use crate::ids::{content_uuid, package_refs, parse_maintainer, source_purl};
use crate::license::{CycloneDxLicense, cyclonedx_license};
use crate::{Format, Sbom, SbomError, merged_packages, sorted_packages, write_json};

const IMAGE_REF: &str = "drydock:source";
const OS_REF: &str = "drydock:operating-system";

#[expect(
    clippy::struct_field_names,
    reason = "field names follow the specification"
)]
#[derive(Serialize)]
struct Bom {
    #[serde(rename = "$schema")]
    schema: &'static str,
    #[serde(rename = "bomFormat")]
    bom_format: &'static str,
    #[serde(rename = "specVersion")]
    spec_version: &'static str,
    #[serde(rename = "serialNumber", skip_serializing_if = "Option::is_none")]
    serial_number: Option<String>,
    version: u32,
    metadata: Metadata,
    components: Vec<Component>,
    dependencies: Vec<Dependency>,
}

#[derive(Serialize)]
struct Metadata {
    timestamp: String,
    tools: Tools,
    component: Component,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    properties: Vec<Property>,
}

#[derive(Serialize)]
struct Tools {
    components: Vec<ToolComponent>,
}

#[derive(Serialize)]
struct ToolComponent {
    #[serde(rename = "type")]
    ty: &'static str,
    name: String,
    version: String,
}

#[derive(Serialize)]
struct Component {
    #[serde(rename = "type")]
    ty: &'static str,
    #[serde(rename = "bom-ref")]
    bom_ref: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    supplier: Option<Supplier>,
    #[serde(skip_serializing_if = "Option::is_none")]
    publisher: Option<String>,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hashes: Vec<Hash>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    licenses: Vec<LicenseChoice>,
    #[serde(skip_serializing_if = "Option::is_none")]
    purl: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pedigree: Option<Pedigree>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    properties: Vec<Property>,
    #[serde(skip_serializing_if = "Option::is_none")]
    evidence: Option<Evidence>,
}

/// Where the component was found: one occurrence per location (a package
/// installed at several paths is one component).
#[derive(Serialize)]
struct Evidence {
    occurrences: Vec<Occurrence>,
}

#[derive(Serialize)]
struct Occurrence {
    location: String,
}

impl Component {
    fn new(ty: &'static str, bom_ref: String, name: String) -> Component {
        Component {
            ty,
            bom_ref,
            supplier: None,
            publisher: None,
            name,
            version: None,
            hashes: Vec::new(),
            licenses: Vec::new(),
            purl: None,
            pedigree: None,
            properties: Vec::new(),
            evidence: None,
        }
    }

    fn property(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.properties.push(Property {
            name: name.into(),
            value: value.into(),
        });
    }
}

#[derive(Serialize)]
struct Supplier {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    contact: Vec<Contact>,
}

#[derive(Serialize)]
struct Contact {
    email: String,
}

#[derive(Serialize)]
struct Hash {
    alg: &'static str,
    content: String,
}

#[derive(Serialize)]
#[serde(untagged)]
enum LicenseChoice {
    License { license: License },
    Expression { expression: String },
}

#[derive(Serialize)]
struct License {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}

#[derive(Serialize)]
struct Pedigree {
    ancestors: Vec<Ancestor>,
}

#[derive(Serialize)]
struct Ancestor {
    #[serde(rename = "type")]
    ty: &'static str,
    name: String,
    version: String,
    purl: String,
}

#[derive(Serialize)]
struct Property {
    name: String,
    value: String,
}

#[derive(Serialize)]
struct Dependency {
    #[serde(rename = "ref")]
    reference: String,
    #[serde(rename = "dependsOn")]
    depends_on: Vec<String>,
}

/// Write `sbom` as a CycloneDX 1.6 JSON document.
///
/// The `serialNumber` is a UUID derived from the SHA-256 of the document
/// without it, so the same SBOM always gets the same serial number.
pub fn write_cyclonedx_json(sbom: &Sbom, out: &mut dyn std::io::Write) -> Result<(), SbomError> {
    let mut bom = build(sbom);
    let unnumbered = serde_json::to_vec(&bom).map_err(|source| SbomError::Serialize {
        format: Format::CycloneDxJson,
        source,
    })?;
    bom.serial_number = Some(format!("urn:uuid:{}", content_uuid(&unnumbered)));
    write_json(Format::CycloneDxJson, &bom, out)
}

fn build(sbom: &Sbom) -> Bom {
    let merged = merged_packages(&sbom.packages);
    let packages = sorted_packages(&merged);
    let refs = package_refs(&packages);

    let mut components: Vec<Component> = packages
        .iter()
        .zip(&refs)
        .map(|(package, bom_ref)| package_component(package, bom_ref.clone()))
        .collect();
    let os = sbom.distro.as_ref().map(|distro| {
        let mut os = Component::new("operating-system", OS_REF.to_owned(), distro.id.clone());
        if !distro.version_id.is_empty() {
            os.version = Some(distro.version_id.clone());
        }
        if let Some(codename) = &distro.version_codename {
            os.property("drydock:distro:version-codename", codename);
        }
        if let Some(pretty) = &distro.pretty_name {
            os.property("drydock:distro:pretty-name", pretty);
        }
        for like in &distro.id_like {
            os.property("drydock:distro:id-like", like);
        }
        os
    });

    let mut dependencies: Vec<Dependency> = Vec::new();
    let mut root_depends: Vec<String> = refs.clone();
    if let Some(os) = os {
        root_depends.push(os.bom_ref.clone());
        dependencies.push(Dependency {
            reference: os.bom_ref.clone(),
            depends_on: Vec::new(),
        });
        components.push(os);
    }
    root_depends.sort();
    dependencies.push(Dependency {
        reference: IMAGE_REF.to_owned(),
        depends_on: root_depends,
    });

    // Package-to-package relationships of a dependency kind, by purl.
    let mut by_purl: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (package, bom_ref) in packages.iter().zip(&refs) {
        by_purl
            .entry(package.purl.to_string())
            .or_default()
            .push(bom_ref);
    }
    let mut depends: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for relationship in &sbom.relationships {
        let (from, to) = match relationship.kind.as_str() {
            "depends-on" | "dependency" => (&relationship.from, &relationship.to),
            "dependency-of" => (&relationship.to, &relationship.from),
            _ => continue,
        };
        let (Some(froms), Some(tos)) = (by_purl.get(from), by_purl.get(to)) else {
            continue;
        };
        for from in froms {
            depends.entry(from).or_default().extend(tos.iter().copied());
        }
    }
    for bom_ref in &refs {
        dependencies.push(Dependency {
            reference: bom_ref.clone(),
            depends_on: depends
                .get(bom_ref.as_str())
                .map(|set| set.iter().map(|s| (*s).to_owned()).collect())
                .unwrap_or_default(),
        });
    }
    dependencies.sort_by(|a, b| a.reference.cmp(&b.reference));

    Bom {
        schema: "http://cyclonedx.org/schema/bom-1.6.schema.json",
        bom_format: "CycloneDX",
        spec_version: "1.6",
        serial_number: None,
        version: 1,
        metadata: Metadata {
            timestamp: sbom.created.clone(),
            tools: Tools {
                components: vec![ToolComponent {
                    ty: "application",
                    name: sbom.tool.name.clone(),
                    version: sbom.tool.version.clone(),
                }],
            },
            component: source_component(sbom),
            properties: problem_properties(sbom),
        },
        components,
        dependencies,
    }
}

fn source_component(sbom: &Sbom) -> Component {
    let source = &sbom.source;
    let ty = if source.image.is_some() {
        "container"
    } else {
        "file"
    };
    let mut component = Component::new(ty, IMAGE_REF.to_owned(), source.name.clone());
    component.property("drydock:source:kind", &source.kind);
    let Some(image) = &source.image else {
        return component;
    };
    if let Some(manifest) = &image.manifest_digest {
        component.version = Some(manifest.to_string());
        component.hashes.push(hash(manifest));
    }
    if let Some(config) = &image.config_digest {
        component.property("drydock:image:config-digest", config.to_string());
    }
    if let Some(media_type) = &image.media_type {
        component.property("drydock:image:media-type", media_type);
    }
    component.property("drydock:image:os", &image.os);
    component.property("drydock:image:architecture", &image.architecture);
    if let Some(variant) = &image.variant {
        component.property("drydock:image:variant", variant);
    }
    for (i, layer) in image.layers.iter().enumerate() {
        let prefix = format!("drydock:image:layer:{i}");
        if let Some(digest) = &layer.layer.digest {
            component.property(format!("{prefix}:digest"), digest.to_string());
        }
        if let Some(diff_id) = &layer.layer.diff_id {
            component.property(format!("{prefix}:diff-id"), diff_id.to_string());
        }
        component.property(format!("{prefix}:media-type"), &layer.media_type);
        component.property(format!("{prefix}:size"), layer.size.to_string());
    }
    for (i, tag) in image.tags.iter().enumerate() {
        component.property(format!("drydock:image:tag:{i}"), tag);
    }
    component
}

fn hash(digest: &Digest) -> Hash {
    let alg = match digest.algorithm() {
        drydock_core::Algorithm::Sha256 => "SHA-256",
        drydock_core::Algorithm::Sha512 => "SHA-512",
    };
    Hash {
        alg,
        content: digest.hex().to_owned(),
    }
}

fn package_component(package: &Package, bom_ref: String) -> Component {
    let mut component = Component::new("library", bom_ref, package.name.clone());
    if !package.version.is_empty() {
        component.version = Some(package.version.clone());
    }
    component.purl = Some(package.purl.to_string());
    component.licenses = licenses(&package.licenses);
    if let Some(maintainer) = &package.maintainer {
        let contact = parse_maintainer(maintainer);
        component.supplier = Some(Supplier {
            name: (!contact.name.is_empty()).then(|| contact.name.clone()),
            contact: contact
                .email
                .into_iter()
                .map(|email| Contact { email })
                .collect(),
        });
        component.publisher = Some(maintainer.clone());
    }
    if let (Some(source), Some(purl)) = (&package.source, source_purl(package)) {
        component.pedigree = Some(Pedigree {
            ancestors: vec![Ancestor {
                ty: "library",
                name: source.name.clone(),
                version: source.version.clone(),
                purl: purl.to_string(),
            }],
        });
    }
    component.property("drydock:package:kind", package.kind.as_str());
    if let Some(arch) = &package.arch {
        component.property("drydock:package:arch", arch);
    }
    if let Some(source) = &package.source {
        component.property("drydock:package:source-name", &source.name);
        component.property("drydock:package:source-version", &source.version);
    }
    if let Some(size) = package.installed_size {
        component.property("drydock:package:installed-size", size.to_string());
    }
    if let Some(checksum) = &package.checksum {
        component.property("drydock:package:checksum", checksum);
    }
    component.property("drydock:package:installed", package.installed.to_string());
    if !package.files.is_empty() {
        component.property(
            "drydock:package:file-count",
            package.files.len().to_string(),
        );
    }
    for (i, location) in package.locations.iter().enumerate() {
        component.property(
            format!("drydock:location:{i}:path"),
            location.path.to_display(),
        );
        if let Some(layer) = &location.layer {
            layer_properties(
                &mut component,
                &format!("drydock:location:{i}:layer"),
                layer,
            );
        }
    }
    if let Some(layer) = &package.layer {
        layer_properties(&mut component, "drydock:layer:introduced", layer);
    }
    if !package.locations.is_empty() {
        component.evidence = Some(Evidence {
            occurrences: package
                .locations
                .iter()
                .map(|location| Occurrence {
                    location: location.path.to_display(),
                })
                .collect(),
        });
    }
    component
}

fn layer_properties(component: &mut Component, prefix: &str, layer: &Layer) {
    if let Some(digest) = &layer.digest {
        component.property(prefix, digest.to_string());
    }
    component.property(format!("{prefix}-index"), layer.index.to_string());
    if let Some(diff_id) = &layer.diff_id {
        component.property(format!("{prefix}-diff-id"), diff_id.to_string());
    }
}

/// CycloneDX allows either a list of licenses (ids or names) or exactly one
/// expression. One expression when every string is a known id or expression
/// and at least one needs an operator; otherwise a list of ids and names.
fn licenses(texts: &[String]) -> Vec<LicenseChoice> {
    let mut classified: Vec<CycloneDxLicense> = Vec::new();
    for text in texts.iter().filter(|t| !t.trim().is_empty()) {
        let license = cyclonedx_license(text);
        if !classified.contains(&license) {
            classified.push(license);
        }
    }
    let any_expression = classified
        .iter()
        .any(|l| matches!(l, CycloneDxLicense::Expression(_)));
    let any_name = classified
        .iter()
        .any(|l| matches!(l, CycloneDxLicense::Name(_)));
    if any_expression && !any_name {
        let parts: Vec<String> = classified
            .iter()
            .map(|l| match l {
                CycloneDxLicense::Id(id) => (*id).to_owned(),
                CycloneDxLicense::Expression(e) if classified.len() > 1 => format!("({e})"),
                CycloneDxLicense::Expression(e) | CycloneDxLicense::Name(e) => e.clone(),
            })
            .collect();
        return vec![LicenseChoice::Expression {
            expression: parts.join(" AND "),
        }];
    }
    classified
        .into_iter()
        .map(|license| match license {
            CycloneDxLicense::Id(id) => LicenseChoice::License {
                license: License {
                    id: Some(id),
                    name: None,
                },
            },
            CycloneDxLicense::Expression(text) | CycloneDxLicense::Name(text) => {
                LicenseChoice::License {
                    license: License {
                        id: None,
                        name: Some(text),
                    },
                }
            }
        })
        .collect()
}

/// Problems met while cataloguing, as `drydock:problem:<n>` metadata
/// properties (`cataloger: path (layer n): reason`), sorted.
fn problem_properties(sbom: &Sbom) -> Vec<Property> {
    let mut problems: Vec<String> = sbom
        .problems
        .iter()
        .map(|problem| format!("{}: {problem}", problem.cataloger))
        .collect();
    problems.sort();
    problems
        .into_iter()
        .enumerate()
        .map(|(i, value)| Property {
            name: format!("drydock:problem:{i}"),
            value,
        })
        .collect()
}
