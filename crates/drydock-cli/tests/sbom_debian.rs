//! `drydock sbom` on a real Debian image (debootstrap + dpkg + umoci, copied
//! by skopeo into every layout and compression) reports exactly what
//! `dpkg-query` says is installed in the image's final root.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use drydock_test::{Case, DebianFixture, DpkgEntry, ImageTester, Layout, debian_fixture, missing};
use serde_json::Value;

/// (name, version, architecture, source name, source version)
type Row = (String, String, String, String, String);

fn drydock() -> Command {
    Command::new(env!("CARGO_BIN_EXE_drydock"))
}

/// Runs `drydock sbom SOURCE -f FORMAT`; the parsed stdout or a message.
fn sbom(source: &str, format: &str) -> Result<Value, String> {
    let out = drydock()
        .args(["sbom", source, "-f", format])
        .output()
        .map_err(|err| format!("spawn drydock: {err}"))?;
    if !out.status.success() {
        return Err(format!(
            "exit {:?}, stderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|err| format!("stdout is not JSON: {err}"))
}

fn expected_rows(entries: &[DpkgEntry]) -> BTreeSet<Row> {
    entries
        .iter()
        .map(|entry| {
            (
                entry.name.clone(),
                entry.version.clone(),
                entry.architecture.clone(),
                entry.source_name.clone(),
                entry.source_version.clone(),
            )
        })
        .collect()
}

fn str_field(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or_default().to_owned()
}

/// The deb packages of a native JSON document; `source` defaults to the
/// package's own name and version, as dpkg-query's `${source:*}` do.
fn reported_rows(document: &Value) -> BTreeSet<Row> {
    debs(document)
        .map(|package| {
            let name = str_field(package, "name");
            let version = str_field(package, "version");
            let source = &package["source"];
            let source_name = source["name"]
                .as_str()
                .map_or_else(|| name.clone(), str::to_owned);
            let source_version = source["version"]
                .as_str()
                .map_or_else(|| version.clone(), str::to_owned);
            (
                name,
                version,
                str_field(package, "arch"),
                source_name,
                source_version,
            )
        })
        .collect()
}

fn debs(document: &Value) -> impl Iterator<Item = &Value> {
    document["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|package| package["kind"] == "deb")
}

fn diff(expected: &BTreeSet<Row>, reported: &BTreeSet<Row>) -> Result<(), String> {
    let missing: Vec<_> = expected.difference(reported).collect();
    let extra: Vec<_> = reported.difference(expected).collect();
    if missing.is_empty() && extra.is_empty() {
        return Ok(());
    }
    Err(format!(
        "packages differ from dpkg-query:\n  missing: {missing:?}\n  extra: {extra:?}"
    ))
}

fn check_case(fixture: &DebianFixture, case: &Case) -> Result<(), String> {
    let document = sbom(&case.source, "json")?;
    if document["schema_version"] != "1" {
        return Err(format!("schema_version is {}", document["schema_version"]));
    }
    diff(
        &expected_rows(&fixture.expected_final),
        &reported_rows(&document),
    )?;
    for gone in ["libcdb1", "e2fsprogs"] {
        if debs(&document).any(|package| package["name"] == gone) {
            return Err(format!(
                "`{gone}` was purged/removed in layer 2 but is reported"
            ));
        }
    }
    if document["distro"]["id"] != "debian" || document["distro"]["version_id"] != "12" {
        return Err(format!(
            "distro is {}, expected debian 12",
            document["distro"]
        ));
    }
    if debs(&document).any(|package| package["installed"] != true) {
        return Err("a package from var/lib/dpkg/status is not marked installed".to_owned());
    }
    if case.layout == Layout::Dir {
        return Ok(());
    }
    check_layers(fixture, &document)?;
    check_metadata(case, &document)
}

/// Packages of layer 1 report layer index 0, the one layer 2 added reports 1.
fn check_layers(fixture: &DebianFixture, document: &Value) -> Result<(), String> {
    let in_layer1: BTreeSet<(String, String)> = fixture
        .expected_layer1
        .iter()
        .map(|entry| (entry.name.clone(), entry.version.clone()))
        .collect();
    let mut wrong = Vec::new();
    for package in debs(document) {
        let key = (str_field(package, "name"), str_field(package, "version"));
        let want = u64::from(!in_layer1.contains(&key));
        if package["layer"]["index"].as_u64() != Some(want) {
            wrong.push(format!(
                "{} (layer {}, expected {want})",
                key.0, package["layer"]["index"]
            ));
        }
        for location in package["locations"].as_array().into_iter().flatten() {
            if location["path"] != "/var/lib/dpkg/status" || location["layer"]["index"] != 1 {
                wrong.push(format!("{} location {location}: expected /var/lib/dpkg/status in layer 1 (the purge rewrote it)", key.0));
            }
        }
    }
    if !debs(document).any(|package| package["name"] == "libgpm2" && package["layer"]["index"] == 1)
    {
        wrong.push("libgpm2 (installed in layer 2) not reported with layer index 1".to_owned());
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(format!("layer attribution: {wrong:?}"))
    }
}

/// Config digest and layer digests/diff_ids equal what skopeo reads from the layout.
fn check_metadata(case: &Case, document: &Value) -> Result<(), String> {
    let Some((manifest, config)) = case.manifest_and_config() else {
        return Ok(());
    };
    let image = &document["source"]["image"];
    if image["config_digest"] != manifest["config"]["digest"] {
        return Err(format!(
            "config digest {} != {}",
            image["config_digest"], manifest["config"]["digest"]
        ));
    }
    let layers = image["layers"].as_array().cloned().unwrap_or_default();
    let expected_layers = manifest["layers"].as_array().cloned().unwrap_or_default();
    let diff_ids = config["rootfs"]["diff_ids"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if layers.len() != 2 || expected_layers.len() != 2 || diff_ids.len() != 2 {
        return Err(format!(
            "expected 2 layers, drydock says {}, the layout {}",
            layers.len(),
            expected_layers.len()
        ));
    }
    for (index, layer) in layers.iter().enumerate() {
        if layer["index"] != index
            || layer["digest"] != expected_layers[index]["digest"]
            || layer["diff_id"] != diff_ids[index]
        {
            return Err(format!(
                "layer {index}: drydock {layer}, layout {} diff_id {}",
                expected_layers[index], diff_ids[index]
            ));
        }
    }
    if config["architecture"] != image["architecture"] || config["os"] != image["os"] {
        return Err(format!(
            "platform {}/{} != config {}/{}",
            image["os"], image["architecture"], config["os"], config["architecture"]
        ));
    }
    Ok(())
}

#[test]
fn every_layout_reports_what_dpkg_query_reports() {
    let Some(fixture) = debian_fixture() else {
        return;
    };
    ImageTester::new(fixture.cases()).run(|case| check_case(&fixture, case));
}

/// Layer 1 alone (the image before the second `umoci repack`) is not
/// available as a layout, but the expectation file must differ from the
/// final one, or the layer checks above prove nothing.
#[test]
fn the_second_layer_changes_the_package_set() {
    let Some(fixture) = debian_fixture() else {
        return;
    };
    assert_ne!(
        expected_rows(&fixture.expected_layer1),
        expected_rows(&fixture.expected_final)
    );
}

fn schema_dir() -> PathBuf {
    drydock_test::workspace_root().join("../shared/data/schemas")
}

fn validator() -> PathBuf {
    drydock_test::workspace_root().join("crates/drydock-sbom/tests/validate_sbom.py")
}

fn validate(kind: &str, file: &Path) -> Result<(), String> {
    let out = Command::new("python3")
        .arg(validator())
        .arg(schema_dir())
        .arg(kind)
        .arg(file)
        .output()
        .map_err(|err| err.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{kind} document invalid: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn purls_cyclonedx(document: &Value) -> BTreeSet<String> {
    document["components"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|component| component["purl"].as_str().map(str::to_owned))
        .collect()
}

fn purls_spdx(document: &Value) -> BTreeSet<String> {
    document["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|package| package["externalRefs"].as_array().into_iter().flatten())
        .filter(|reference| reference["referenceType"] == "purl")
        .filter_map(|reference| reference["referenceLocator"].as_str().map(str::to_owned))
        .collect()
}

/// Checks a CycloneDX/SPDX purl set against the native one: the binary
/// packages' purls are exactly the native purls; any extra purl is a source
/// package (`arch=source`) of one of them.
fn compare_purls(
    kind: &str,
    document_purls: &BTreeSet<String>,
    native: &BTreeSet<String>,
    sources: &BTreeSet<(String, String)>,
) {
    let binaries: BTreeSet<String> = document_purls
        .iter()
        .filter(|purl| !purl.contains("arch=source"))
        .cloned()
        .collect();
    let missing: Vec<_> = native.difference(&binaries).collect();
    let extra: Vec<_> = binaries.difference(native).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{kind} purls differ from the native JSON: missing {missing:?}, extra {extra:?}"
    );
    let stray: Vec<_> = document_purls
        .iter()
        .filter(|purl| purl.contains("arch=source"))
        .filter(|purl| {
            !sources.iter().any(|(name, version)| {
                purl.starts_with(&format!(
                    "pkg:deb/debian/{name}@{}?",
                    encode_version(version)
                ))
            })
        })
        .collect();
    assert!(
        stray.is_empty(),
        "{kind}: source purls that no package names as its source: {stray:?}"
    );
}

/// purl-spec percent-encoding of a Debian version (`+` → `%2B`; `:` and `~` stay).
fn encode_version(version: &str) -> String {
    version.replace('+', "%2B")
}

/// CycloneDX and SPDX carry the same purls as the native JSON, and validate.
#[test]
fn cyclonedx_and_spdx_carry_the_same_purls_and_validate() {
    let Some(fixture) = debian_fixture() else {
        return;
    };
    let source = format!("oci-dir:{}", fixture.dir.join("oci-gzip").display());
    let native = sbom(&source, "json").unwrap();
    let purls: BTreeSet<String> = native["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|package| package["purl"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(purls.len(), fixture.expected_final.len());
    let sources: BTreeSet<(String, String)> = fixture
        .expected_final
        .iter()
        .map(|entry| (entry.source_name.clone(), entry.source_version.clone()))
        .collect();
    let cyclonedx = sbom(&source, "cyclonedx-json").unwrap();
    compare_purls("CycloneDX", &purls_cyclonedx(&cyclonedx), &purls, &sources);
    let spdx = sbom(&source, "spdx-json").unwrap();
    compare_purls("SPDX", &purls_spdx(&spdx), &purls, &sources);

    let validator_ready =
        validator().is_file() && schema_dir().join("bom-1.6.schema.json").is_file();
    if !validator_ready {
        missing(&format!(
            "{} and the schemas in {}",
            validator().display(),
            schema_dir().display()
        ));
        return;
    }
    if !drydock_test::require_python_modules(&["jsonschema", "referencing"]) {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    for (kind, document) in [("cyclonedx", &cyclonedx), ("spdx", &spdx)] {
        let path = scratch.path().join(format!("{kind}.json"));
        std::fs::write(&path, serde_json::to_vec(document).unwrap()).unwrap();
        validate(kind, &path).unwrap();
    }
}

/// `-o FILE` writes the same document as stdout (modulo the creation time).
#[test]
fn output_file_matches_stdout() {
    let Some(fixture) = debian_fixture() else {
        return;
    };
    let source = format!("dir:{}", fixture.dir.join("rootfs").display());
    let scratch = tempfile::tempdir().unwrap();
    let out_file = scratch.path().join("sbom.json");
    let status = drydock()
        .args(["sbom", &source, "-f", "json", "-o"])
        .arg(&out_file)
        .status()
        .unwrap();
    assert!(status.success());
    let written: Value = serde_json::from_slice(&std::fs::read(&out_file).unwrap()).unwrap();
    let printed = sbom(&source, "json").unwrap();
    assert_eq!(reported_rows(&written), reported_rows(&printed));
    assert_eq!(
        reported_rows(&written),
        expected_rows(&fixture.expected_final)
    );
}
