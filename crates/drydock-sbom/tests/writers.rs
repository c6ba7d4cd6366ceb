//! The writers against the published schemas (validated by
//! `tests/validate_sbom.py`, offline), determinism, ids and license mapping.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use drydock_core::{
    Digest, Distro, ImageMetadata, ImagePath, Layer, LayerMetadata, Location, OwnedFile, Package,
    PackageKind, Problem, Purl, Relationship, SourceMetadata, SourcePackage,
};
use drydock_sbom::license::{CycloneDxLicense, cyclonedx_license, spdx_license_declared};
use drydock_sbom::{Format, Sbom, SbomError, Tool, read_native};
use serde_json::Value;

// ---------------------------------------------------------------- fixture

fn digest(seed: &str) -> Digest {
    Digest::sha256_of(seed.as_bytes())
}

fn layer(index: usize) -> Layer {
    Layer {
        index,
        digest: Some(digest(&format!("layer-{index}"))),
        diff_id: Some(digest(&format!("diff-{index}"))),
    }
}

fn path(p: &str) -> ImagePath {
    ImagePath::new(p).unwrap()
}

fn deb(name: &str, version: &str, source: Option<(&str, &str)>) -> Package {
    Package {
        name: name.to_owned(),
        version: version.to_owned(),
        kind: PackageKind::Deb,
        purl: Purl::new("deb", name)
            .with_namespace("debian")
            .with_version(version)
            .with_qualifier("arch", "amd64")
            .with_qualifier("distro", "debian-12"),
        arch: Some("amd64".to_owned()),
        source: source.map(|(name, version)| SourcePackage {
            name: name.to_owned(),
            version: version.to_owned(),
        }),
        licenses: Vec::new(),
        maintainer: None,
        installed_size: Some(1024),
        checksum: None,
        installed: true,
        locations: vec![Location {
            path: path("var/lib/dpkg/status"),
            layer: Some(layer(0)),
        }],
        layer: Some(layer(0)),
        files: Vec::new(),
    }
}

fn fixture() -> Sbom {
    let mut libssl3 = deb(
        "libssl3",
        "3.0.11-1~deb12u2",
        Some(("openssl", "3.0.11-1~deb12u2")),
    );
    libssl3.licenses = vec!["Apache-2.0".to_owned()];
    libssl3.maintainer =
        Some("Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>".to_owned());
    libssl3.files = vec![
        OwnedFile {
            path: path("usr/lib/x86_64-linux-gnu/libssl.so.3"),
            digest: Some("md5:0123456789abcdef0123456789abcdef".to_owned()),
        },
        OwnedFile {
            path: path("usr/lib/x86_64-linux-gnu/libcrypto.so.3"),
            digest: None,
        },
    ];
    let mut openssl = deb(
        "openssl",
        "3.0.11-1~deb12u2",
        Some(("openssl", "3.0.11-1~deb12u2")),
    );
    openssl.licenses = vec!["Apache-2.0".to_owned()];
    let mut libc6 = deb("libc6", "2.36-9+deb12u3", Some(("glibc", "2.36-9+deb12u3")));
    libc6.licenses = vec![
        "LGPL-2.1+".to_owned(),
        "GPL-2+".to_owned(),
        "public-domain".to_owned(),
        "BSD-3-clause".to_owned(),
    ];
    libc6.maintainer = Some("GNU Libc Maintainers <debian-glibc@lists.debian.org>".to_owned());
    let mut tzdata = deb("tzdata", "2024a-0+deb12u1", None);
    tzdata.licenses = vec!["public-domain".to_owned()];
    tzdata.maintainer = Some("Jürgen Schäfer (tz) <jürgen@example.org>".to_owned());
    // The same package recorded twice (distroless-style status.d + status).
    let libgcc = deb("libgcc-s1", "12.2.0-14", Some(("gcc-12", "12.2.0-14")));
    let mut libgcc_again = libgcc.clone();
    libgcc_again.locations = vec![Location {
        path: path("var/lib/dpkg/status.d/libgcc-s1"),
        layer: Some(layer(1)),
    }];
    libgcc_again.layer = Some(layer(1));
    let mut curl = deb(
        "curl",
        "7.88.1-10+deb12u5",
        Some(("curl", "7.88.1-10+deb12u5")),
    );
    curl.licenses = vec![
        "curl".to_owned(),
        "BSD-like license, see COPYING".to_owned(),
    ];
    curl.locations = vec![Location {
        path: path("var/lib/dpkg/status"),
        layer: Some(layer(1)),
    }];
    curl.layer = Some(layer(1));

    let musl = Package {
        name: "musl".to_owned(),
        version: "1.2.4-r2".to_owned(),
        kind: PackageKind::Apk,
        purl: Purl::new("apk", "musl")
            .with_namespace("alpine")
            .with_version("1.2.4-r2")
            .with_qualifier("arch", "x86_64")
            .with_qualifier("distro", "alpine-3.19.1"),
        arch: Some("x86_64".to_owned()),
        source: Some(SourcePackage {
            name: "musl".to_owned(),
            version: "1.2.4-r2".to_owned(),
        }),
        licenses: vec!["MIT".to_owned()],
        maintainer: Some("Natanael Copa <ncopa@alpinelinux.org>".to_owned()),
        installed_size: Some(655_360),
        checksum: Some("Q1jmQvX2wa1KkvWbm1ytP6GqE3JYk=".to_owned()),
        installed: true,
        locations: vec![Location {
            path: path("lib/apk/db/installed"),
            layer: Some(layer(1)),
        }],
        layer: Some(layer(1)),
        files: vec![OwnedFile {
            path: path("lib/ld-musl-x86_64.so.1"),
            digest: Some("sha1:0000000000000000000000000000000000000000".to_owned()),
        }],
    };
    let mut ca = musl.clone();
    "ca-certificates-bundle".clone_into(&mut ca.name);
    "20240226-r0".clone_into(&mut ca.version);
    ca.purl = Purl::new("apk", "ca-certificates-bundle")
        .with_namespace("alpine")
        .with_version("20240226-r0")
        .with_qualifier("arch", "x86_64")
        .with_qualifier("distro", "alpine-3.19.1");
    ca.source = Some(SourcePackage {
        name: "ca-certificates".to_owned(),
        version: "20240226-r0".to_owned(),
    });
    ca.licenses = vec!["MPL-2.0 AND MIT".to_owned()];
    ca.files = Vec::new();
    let openssl_libs = Package {
        name: "openssl-libs".to_owned(),
        version: "1:3.0.9-2.fc38".to_owned(),
        kind: PackageKind::Rpm,
        purl: Purl::new("rpm", "openssl-libs")
            .with_namespace("fedora")
            .with_version("3.0.9-2.fc38")
            .with_qualifier("arch", "x86_64")
            .with_qualifier("epoch", "1")
            .with_qualifier("distro", "fedora-38"),
        arch: Some("x86_64".to_owned()),
        source: Some(SourcePackage {
            name: "openssl".to_owned(),
            version: "3.0.9-2.fc38".to_owned(),
        }),
        licenses: vec!["ASL 2.0".to_owned()],
        maintainer: Some("Fedora Project".to_owned()),
        installed_size: Some(7_000_000),
        checksum: None,
        installed: true,
        locations: vec![Location {
            path: path("var/lib/rpm/rpmdb.sqlite"),
            layer: Some(layer(1)),
        }],
        layer: Some(layer(1)),
        files: Vec::new(),
    };

    let relationships = vec![
        Relationship {
            from: libssl3.purl.to_string(),
            to: libc6.purl.to_string(),
            kind: "depends-on".to_owned(),
        },
        Relationship {
            from: curl.purl.to_string(),
            to: libssl3.purl.to_string(),
            kind: "depends-on".to_owned(),
        },
        Relationship {
            from: curl.purl.to_string(),
            to: "pkg:deb/debian/not-installed@1".to_owned(),
            kind: "depends-on".to_owned(),
        },
    ];

    Sbom {
        source: SourceMetadata {
            name: "oci-dir:/tmp/debian-img".to_owned(),
            kind: "oci-dir".to_owned(),
            image: Some(ImageMetadata {
                manifest_digest: Some(digest("manifest")),
                config_digest: Some(digest("config")),
                media_type: Some("application/vnd.oci.image.manifest.v1+json".to_owned()),
                os: "linux".to_owned(),
                architecture: "amd64".to_owned(),
                variant: None,
                tags: vec!["registry.example/debian:12".to_owned()],
                layers: vec![
                    LayerMetadata {
                        layer: layer(0),
                        media_type: "application/vnd.oci.image.layer.v1.tar+gzip".to_owned(),
                        size: 29_000_000,
                    },
                    LayerMetadata {
                        layer: layer(1),
                        media_type: "application/vnd.oci.image.layer.v1.tar+zstd".to_owned(),
                        size: 3_000_000,
                    },
                ],
            }),
        },
        distro: Some(Distro {
            id: "debian".to_owned(),
            version_id: "12".to_owned(),
            version_codename: Some("bookworm".to_owned()),
            pretty_name: Some("Debian GNU/Linux 12 (bookworm)".to_owned()),
            id_like: Vec::new(),
        }),
        packages: vec![
            tzdata,
            libssl3,
            curl,
            libgcc,
            openssl,
            musl,
            libc6,
            openssl_libs,
            libgcc_again,
            ca,
        ],
        relationships,
        problems: vec![Problem {
            cataloger: "dpkg".to_owned(),
            path: path("var/lib/dpkg/status.d/broken"),
            layer: Some(layer(1)),
            reason: "paragraph 1 has no `Package` field".to_owned(),
        }],
        tool: Tool {
            name: "drydock".to_owned(),
            version: "0.1.0".to_owned(),
        },
        created: "2024-01-02T03:04:05Z".to_owned(),
    }
}

fn render(format: Format, sbom: &Sbom) -> Vec<u8> {
    let mut out = Vec::new();
    format.write(sbom, &mut out).unwrap();
    out
}

fn json(format: Format, sbom: &Sbom) -> Value {
    serde_json::from_slice(&render(format, sbom)).unwrap()
}

// ---------------------------------------------------------------- validator

/// What a broken document breaks, and how.
type Breakage = (&'static str, Box<dyn Fn(&mut Value)>);

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/validate_sbom.py")
}

/// `true` when python3 with jsonschema + referencing and the schemas are
/// here; otherwise a loud skip locally and a failure under CI.
fn validator_available() -> bool {
    if !drydock_test::require_python_modules(&["jsonschema", "referencing"]) {
        return false;
    }
    let schemas = data_dir().join("schemas");
    schemas.join("bom-1.6.schema.json").is_file()
        || drydock_test::missing(&format!("the schemas in {}", schemas.display()))
}

/// Run the validator over files (or `-` and `stdin`); its per-file lines.
fn validate(kind: &str, files: &[PathBuf], stdin: Option<&[u8]>) -> (bool, Vec<String>) {
    let mut child = Command::new("python3")
        .arg(script())
        .arg(data_dir().join("schemas"))
        .arg(kind)
        .args(files)
        .args(stdin.map(|_| "-"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        pipe.write_all(bytes).unwrap();
    }
    drop(pipe);
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let code = output.status.code();
    assert!(
        matches!(code, Some(0 | 1)),
        "validator crashed ({code:?}): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    (code == Some(0), stdout.lines().map(str::to_owned).collect())
}

#[test]
fn cyclonedx_output_is_valid_cyclonedx_1_6() {
    if !validator_available() {
        return;
    }
    let bytes = render(Format::CycloneDxJson, &fixture());
    let (ok, lines) = validate("cyclonedx", &[], Some(&bytes));
    assert!(ok, "{lines:#?}");
}

#[test]
fn spdx_output_is_valid_spdx_2_3() {
    if !validator_available() {
        return;
    }
    let bytes = render(Format::SpdxJson, &fixture());
    let (ok, lines) = validate("spdx", &[], Some(&bytes));
    assert!(ok, "{lines:#?}");
}

#[test]
fn minimal_sboms_are_valid_too() {
    if !validator_available() {
        return;
    }
    let mut sbom = fixture();
    sbom.packages.clear();
    sbom.relationships.clear();
    sbom.problems.clear();
    sbom.distro = None;
    sbom.source = SourceMetadata {
        name: "dir:/srv/rootfs".to_owned(),
        kind: "dir".to_owned(),
        image: None,
    };
    let (ok, lines) = validate(
        "cyclonedx",
        &[],
        Some(&render(Format::CycloneDxJson, &sbom)),
    );
    assert!(ok, "{lines:#?}");
    let (ok, lines) = validate("spdx", &[], Some(&render(Format::SpdxJson, &sbom)));
    assert!(ok, "{lines:#?}");
}

#[test]
fn validator_accepts_valid_and_rejects_invalid_cyclonedx_examples() {
    if !validator_available() {
        return;
    }
    let dir = data_dir().join("examples/cyclonedx-1.6");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 70, "expected the 70 CycloneDX examples");
    let (_, lines) = validate("cyclonedx", &files, None);
    assert_eq!(lines.len(), files.len(), "{lines:#?}");
    let (mut valid, mut invalid) = (0, 0);
    for (file, line) in files.iter().zip(&lines) {
        let name = file.file_name().unwrap().to_str().unwrap();
        let expect_valid = name.starts_with("valid-");
        assert!(
            name.starts_with("valid-") || name.starts_with("invalid-"),
            "{name}"
        );
        assert!(line.contains(name), "{line}");
        assert_eq!(line.starts_with("VALID "), expect_valid, "{line}");
        if expect_valid {
            valid += 1;
        } else {
            invalid += 1;
        }
    }
    assert_eq!((valid, invalid), (45, 25));
}

#[test]
fn validator_accepts_the_spdx_example_and_rejects_broken_spdx() {
    if !validator_available() {
        return;
    }
    let example = data_dir().join("examples/spdx/SPDXJSONExample-v2.3.spdx.json");
    let (ok, lines) = validate("spdx", &[example], None);
    assert!(ok, "{lines:#?}");

    let good: Value = json(Format::SpdxJson, &fixture());
    let breakages: Vec<Breakage> = vec![
        (
            "underscore in an SPDXID",
            Box::new(|d| d["packages"][1]["SPDXID"] = "SPDXRef-a_b".into()),
        ),
        (
            "DEP-5 name in licenseDeclared",
            Box::new(|d| d["packages"][2]["licenseDeclared"] = "GPL-2+ AND MIT".into()),
        ),
        (
            "dangling operator",
            Box::new(|d| d["packages"][2]["licenseDeclared"] = "MIT AND".into()),
        ),
        (
            "undefined LicenseRef",
            Box::new(|d| d["packages"][2]["licenseDeclared"] = "LicenseRef-nowhere".into()),
        ),
        (
            "supplier without a type",
            Box::new(|d| d["packages"][2]["supplier"] = "Jane Doe".into()),
        ),
        (
            "relationship to nothing",
            Box::new(|d| d["relationships"][0]["relatedSpdxElement"] = "SPDXRef-missing".into()),
        ),
        (
            "bad relationship type",
            Box::new(|d| d["relationships"][0]["relationshipType"] = "OWNS".into()),
        ),
    ];
    for (what, breakage) in breakages {
        let mut broken = good.clone();
        breakage(&mut broken);
        assert_ne!(broken, good, "{what}: the breakage changed nothing");
        let (ok, lines) = validate("spdx", &[], Some(&serde_json::to_vec(&broken).unwrap()));
        assert!(!ok, "{what} was accepted: {lines:?}");
    }
}

#[test]
fn validator_rejects_broken_cyclonedx() {
    if !validator_available() {
        return;
    }
    let good: Value = json(Format::CycloneDxJson, &fixture());
    let breakages: Vec<Breakage> = vec![
        (
            "non-SPDX license id",
            Box::new(|d| {
                d["components"][0]["licenses"] =
                    serde_json::json!([{"license": {"id": "public-domain"}}]);
            }),
        ),
        (
            "duplicate bom-ref",
            Box::new(|d| {
                let first = d["components"][0]["bom-ref"].clone();
                d["components"][1]["bom-ref"] = first;
            }),
        ),
        (
            "dependency on nothing",
            Box::new(|d| d["dependencies"][0]["dependsOn"] = serde_json::json!(["nowhere"])),
        ),
        (
            "invalid expression",
            Box::new(|d| {
                d["components"][0]["licenses"] = serde_json::json!([{"expression": "MIT OR OR"}]);
            }),
        ),
    ];
    for (what, breakage) in breakages {
        let mut broken = good.clone();
        breakage(&mut broken);
        assert_ne!(broken, good, "{what}: the breakage changed nothing");
        let (ok, lines) = validate(
            "cyclonedx",
            &[],
            Some(&serde_json::to_vec(&broken).unwrap()),
        );
        assert!(!ok, "{what} was accepted: {lines:?}");
    }
}

// ---------------------------------------------------------------- determinism

#[test]
fn every_format_is_deterministic_and_ignores_input_order() {
    let sbom = fixture();
    let mut shuffled = fixture();
    shuffled.packages.reverse();
    shuffled.relationships.reverse();
    for format in Format::ALL {
        let first = render(format, &sbom);
        assert_eq!(first, render(format, &sbom), "{format}");
        assert_eq!(
            first,
            render(format, &shuffled),
            "{format} depends on input order"
        );
        assert!(first.ends_with(b"\n"), "{format}");
    }
}

#[test]
fn serial_number_and_namespace_follow_the_content() {
    let sbom = fixture();
    let mut other = fixture();
    other.packages.pop();
    let cdx = json(Format::CycloneDxJson, &sbom);
    let serial = cdx["serialNumber"].as_str().unwrap();
    let uuid = serial.strip_prefix("urn:uuid:").unwrap();
    let groups: Vec<&str> = uuid.split('-').collect();
    assert_eq!(
        groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
        [8, 4, 4, 4, 12]
    );
    assert!(
        uuid.chars()
            .all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    assert!(groups[2].starts_with('8'), "version 8 UUID: {uuid}");
    assert!(
        groups[3].starts_with(['8', '9', 'a', 'b']),
        "RFC 4122 variant: {uuid}"
    );
    let other_cdx = json(Format::CycloneDxJson, &other);
    assert_ne!(cdx["serialNumber"], other_cdx["serialNumber"]);

    let spdx = json(Format::SpdxJson, &sbom);
    let namespace = spdx["documentNamespace"].as_str().unwrap();
    assert!(
        namespace.starts_with("https://drydock.invalid/spdx/oci-dir--tmp-debian-img-"),
        "{namespace}"
    );
    assert_ne!(
        spdx["documentNamespace"],
        json(Format::SpdxJson, &other)["documentNamespace"]
    );
}

// ---------------------------------------------------------------- CycloneDX content

fn component<'a>(bom: &'a Value, name: &str) -> Vec<&'a Value> {
    bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"] == name)
        .collect()
}

fn property<'a>(component: &'a Value, name: &str) -> Option<&'a str> {
    component["properties"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == name)?["value"]
        .as_str()
}

#[test]
fn cyclonedx_components_carry_the_package_facts() {
    let sbom = fixture();
    let bom = json(Format::CycloneDxJson, &sbom);
    assert_eq!(bom["specVersion"], "1.6");
    assert_eq!(bom["metadata"]["timestamp"], "2024-01-02T03:04:05Z");
    assert_eq!(bom["metadata"]["tools"]["components"][0]["name"], "drydock");

    let image = &bom["metadata"]["component"];
    assert_eq!(image["type"], "container");
    assert_eq!(image["version"], digest("manifest").to_string());
    assert_eq!(image["hashes"][0]["content"], digest("manifest").hex());
    assert_eq!(
        property(image, "drydock:image:layer:1:digest"),
        Some(digest("layer-1").to_string().as_str())
    );
    assert_eq!(
        property(image, "drydock:image:config-digest"),
        Some(digest("config").to_string().as_str())
    );

    let [libssl3] = component(&bom, "libssl3")[..] else {
        panic!("one libssl3")
    };
    assert_eq!(
        libssl3["purl"],
        "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12"
    );
    // Source purl per the purl spec's deb type: arch=source, distro kept.
    assert_eq!(
        libssl3["pedigree"]["ancestors"][0]["purl"],
        "pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=source&distro=debian-12"
    );
    assert_eq!(libssl3["licenses"][0]["license"]["id"], "Apache-2.0");
    assert_eq!(libssl3["supplier"]["name"], "Debian OpenSSL Team");
    assert_eq!(
        libssl3["supplier"]["contact"][0]["email"],
        "pkg-openssl-devel@alioth-lists.debian.net"
    );
    assert_eq!(
        property(libssl3, "drydock:package:source-name"),
        Some("openssl")
    );
    assert_eq!(property(libssl3, "drydock:package:file-count"), Some("2"));
    assert_eq!(
        property(libssl3, "drydock:location:0:path"),
        Some("/var/lib/dpkg/status")
    );
    assert_eq!(
        property(libssl3, "drydock:location:0:layer"),
        Some(digest("layer-0").to_string().as_str())
    );
    assert!(libssl3.get("files").is_none());

    let [rpm] = component(&bom, "openssl-libs")[..] else {
        panic!("one openssl-libs")
    };
    assert_eq!(
        rpm["pedigree"]["ancestors"][0]["purl"],
        "pkg:rpm/fedora/openssl@3.0.9-2.fc38?arch=src&distro=fedora-38&epoch=1"
    );
    assert_eq!(rpm["version"], "1:3.0.9-2.fc38");

    let [os] = component(&bom, "debian")[..] else {
        panic!("one OS component")
    };
    assert_eq!(os["type"], "operating-system");
    assert_eq!(os["version"], "12");

    // The same package at two locations is one component with both
    // occurrences (and both location properties); every ref is unique.
    let [libgcc] = component(&bom, "libgcc-s1")[..] else {
        panic!("one libgcc-s1 component")
    };
    let occurrences: Vec<&str> = libgcc["evidence"]["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["location"].as_str().unwrap())
        .collect();
    assert_eq!(
        occurrences,
        ["/var/lib/dpkg/status", "/var/lib/dpkg/status.d/libgcc-s1"]
    );
    assert_eq!(
        property(libgcc, "drydock:location:1:path"),
        Some("/var/lib/dpkg/status.d/libgcc-s1")
    );
    let mut refs: Vec<&str> = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["bom-ref"].as_str().unwrap())
        .collect();
    let count = refs.len();
    refs.sort_unstable();
    refs.dedup();
    assert_eq!(refs.len(), count);

    // The image depends on every component; curl on libssl3 (the relationship
    // to a package that is not there is dropped).
    let dependencies = bom["dependencies"].as_array().unwrap();
    assert_eq!(dependencies.len(), count + 1);
    let root = dependencies
        .iter()
        .find(|d| d["ref"] == image["bom-ref"])
        .unwrap();
    assert_eq!(root["dependsOn"].as_array().unwrap().len(), count);
    let [curl] = component(&bom, "curl")[..] else {
        panic!("one curl")
    };
    let curl_deps = dependencies
        .iter()
        .find(|d| d["ref"] == curl["bom-ref"])
        .unwrap();
    assert_eq!(
        curl_deps["dependsOn"],
        serde_json::json!([libssl3["bom-ref"]])
    );

    assert!(
        property(&bom["metadata"], "drydock:problem:0")
            .unwrap()
            .contains("/var/lib/dpkg/status.d/broken")
    );
}

#[test]
fn cyclonedx_never_writes_an_unknown_license_as_an_id() {
    let bom = json(Format::CycloneDxJson, &fixture());
    let [libc6] = component(&bom, "libc6")[..] else {
        panic!("one libc6")
    };
    // "public-domain" is not an SPDX id: a name, next to the mapped DEP-5 ids.
    assert_eq!(
        libc6["licenses"],
        serde_json::json!([
            {"license": {"id": "LGPL-2.1-or-later"}},
            {"license": {"id": "GPL-2.0-or-later"}},
            {"license": {"name": "public-domain"}},
            {"license": {"id": "BSD-3-Clause"}},
        ])
    );
    let [curl] = component(&bom, "curl")[..] else {
        panic!("one curl")
    };
    assert_eq!(
        curl["licenses"][1]["license"],
        serde_json::json!({"name": "BSD-like license, see COPYING"})
    );
    let [ca] = component(&bom, "ca-certificates-bundle")[..] else {
        panic!("one ca-certificates-bundle")
    };
    assert_eq!(
        ca["licenses"],
        serde_json::json!([{"expression": "MPL-2.0 AND MIT"}])
    );
    let [rpm] = component(&bom, "openssl-libs")[..] else {
        panic!("one openssl-libs")
    };
    assert_eq!(rpm["licenses"][0]["license"]["id"], "Apache-2.0");
}

// ---------------------------------------------------------------- SPDX content

fn spdx_package<'a>(document: &'a Value, name: &str) -> Vec<&'a Value> {
    document["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] == name)
        .collect()
}

fn has_relationship(document: &Value, from: &Value, kind: &str, to: &Value) -> bool {
    document["relationships"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| {
            r["spdxElementId"] == *from
                && r["relationshipType"] == kind
                && r["relatedSpdxElement"] == *to
        })
}

#[test]
fn spdx_ids_use_only_allowed_characters_and_are_unique() {
    let mut sbom = fixture();
    let mut odd = sbom.packages[0].clone();
    odd.name = "lib++_odd name/ü".to_owned();
    odd.version = "1:2~3+4".to_owned();
    odd.purl = Purl::new("deb", &odd.name).with_version(&odd.version);
    sbom.packages.push(odd.clone());
    let mut collides = odd.clone();
    collides.name = "lib--_odd-name-ü".to_owned();
    collides.purl = Purl::new("deb", &collides.name).with_version(&collides.version);
    sbom.packages.push(collides);

    let document = json(Format::SpdxJson, &sbom);
    let ids: Vec<&str> = document["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["SPDXID"].as_str().unwrap())
        .collect();
    for id in &ids {
        let rest = id.strip_prefix("SPDXRef-").unwrap();
        assert!(
            !rest.is_empty()
                && rest
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'),
            "{id}"
        );
    }
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "{ids:?}");
}

#[test]
fn spdx_document_links_binaries_sources_and_the_os() {
    let document = json(Format::SpdxJson, &fixture());
    assert_eq!(document["spdxVersion"], "SPDX-2.3");
    assert_eq!(document["dataLicense"], "CC0-1.0");
    assert_eq!(
        document["creationInfo"]["creators"][0],
        "Tool: drydock-0.1.0"
    );
    let root = &document["packages"][0];
    assert_eq!(root["name"], "oci-dir:/tmp/debian-img");
    assert_eq!(root["primaryPackagePurpose"], "CONTAINER");
    assert!(has_relationship(
        &document,
        &"SPDXRef-DOCUMENT".into(),
        "DESCRIBES",
        &root["SPDXID"]
    ));

    let [os] = spdx_package(&document, "debian")[..] else {
        panic!("one OS package")
    };
    // The SPDX 2.3 JSON schema spells the purpose with an underscore.
    assert_eq!(os["primaryPackagePurpose"], "OPERATING_SYSTEM");
    assert!(has_relationship(
        &document,
        &root["SPDXID"],
        "CONTAINS",
        &os["SPDXID"]
    ));

    // libssl3 and openssl share one source package.
    let sources: Vec<&Value> = spdx_package(&document, "openssl")
        .into_iter()
        .filter(|p| p["primaryPackagePurpose"] == "SOURCE")
        .collect();
    let [deb_source, rpm_source] = sources[..] else {
        panic!("two openssl sources (deb and rpm): {sources:?}")
    };
    assert_eq!(
        deb_source["externalRefs"][0]["referenceLocator"],
        "pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=source&distro=debian-12"
    );
    assert_eq!(
        rpm_source["externalRefs"][0]["referenceLocator"],
        "pkg:rpm/fedora/openssl@3.0.9-2.fc38?arch=src&distro=fedora-38&epoch=1"
    );
    let [libssl3] = spdx_package(&document, "libssl3")[..] else {
        panic!("one libssl3")
    };
    let binaries: Vec<&Value> = spdx_package(&document, "openssl")
        .into_iter()
        .filter(|p| p.get("primaryPackagePurpose").is_none())
        .collect();
    let [openssl] = binaries[..] else {
        panic!("one openssl binary")
    };
    for binary in [libssl3, openssl] {
        assert!(has_relationship(
            &document,
            &binary["SPDXID"],
            "GENERATED_FROM",
            &deb_source["SPDXID"]
        ));
        assert!(has_relationship(
            &document,
            &root["SPDXID"],
            "CONTAINS",
            &binary["SPDXID"]
        ));
    }
    assert_eq!(libssl3["externalRefs"][0]["referenceType"], "purl");
    assert_eq!(
        libssl3["externalRefs"][0]["referenceCategory"],
        "PACKAGE-MANAGER"
    );
    assert_eq!(
        libssl3["supplier"],
        "Organization: Debian OpenSSL Team (pkg-openssl-devel@alioth-lists.debian.net)"
    );
    let [tzdata] = spdx_package(&document, "tzdata")[..] else {
        panic!("one tzdata")
    };
    assert_eq!(
        tzdata["supplier"],
        "Person: Jürgen Schäfer tz (jürgen@example.org)"
    );
}

#[test]
fn spdx_license_declared_is_a_valid_expression_with_defined_refs() {
    let document = json(Format::SpdxJson, &fixture());
    let [libc6] = spdx_package(&document, "libc6")[..] else {
        panic!("one libc6")
    };
    assert_eq!(
        libc6["licenseDeclared"],
        "LGPL-2.1-or-later AND GPL-2.0-or-later AND LicenseRef-public-domain AND BSD-3-Clause"
    );
    assert_eq!(libc6["licenseConcluded"], "NOASSERTION");
    let extracted = document["hasExtractedLicensingInfos"].as_array().unwrap();
    let public_domain = extracted
        .iter()
        .find(|e| e["licenseId"] == "LicenseRef-public-domain")
        .unwrap();
    assert_eq!(public_domain["extractedText"], "public-domain");
    let binaries: Vec<&Value> = spdx_package(&document, "curl")
        .into_iter()
        .filter(|p| p.get("primaryPackagePurpose").is_none())
        .collect();
    let [curl] = binaries[..] else {
        panic!("one curl binary")
    };
    let declared = curl["licenseDeclared"].as_str().unwrap();
    let (first, reference) = declared.split_once(" AND ").unwrap();
    assert_eq!(first, "curl");
    assert!(reference.starts_with("LicenseRef-BSD-like-license--see-COPYING-"));
    assert!(extracted.iter().any(|e| e["licenseId"] == reference));
}

// ---------------------------------------------------------------- licenses

#[test]
fn license_mapping() {
    use CycloneDxLicense::{Expression, Id, Name};
    assert_eq!(cyclonedx_license("MIT"), Id("MIT"));
    assert_eq!(cyclonedx_license("Expat"), Id("MIT"));
    assert_eq!(cyclonedx_license("gpl-2+"), Id("GPL-2.0-or-later"));
    assert_eq!(cyclonedx_license("GPLv2+"), Id("GPL-2.0-or-later"));
    assert_eq!(cyclonedx_license("GPL-2.0"), Id("GPL-2.0-only"));
    assert_eq!(
        cyclonedx_license("GPL-2.0-or-later WITH Classpath-exception-2.0"),
        Expression("GPL-2.0-or-later WITH Classpath-exception-2.0".to_owned())
    );
    assert_eq!(
        cyclonedx_license("MIT and (BSD-2-Clause or ISC)"),
        Expression("MIT AND (BSD-2-Clause OR ISC)".to_owned())
    );
    assert_eq!(
        cyclonedx_license("Apache-2.0+"),
        Expression("Apache-2.0+".to_owned())
    );
    // Not SPDX ids: kept as names, never as ids.
    for name in [
        "public-domain",
        "Artistic",
        "BSD",
        "GPL-2 with exception",
        "MIT OR FooBar",
    ] {
        assert_eq!(cyclonedx_license(name), Name(name.to_owned()), "{name}");
    }

    let mut refs = std::collections::BTreeMap::new();
    assert_eq!(spdx_license_declared(&[], &mut refs), "NOASSERTION");
    assert_eq!(
        spdx_license_declared(&["MIT OR FooBar".to_owned()], &mut refs),
        "MIT OR LicenseRef-FooBar"
    );
    assert_eq!(
        spdx_license_declared(
            &["MIT OR Apache-2.0".to_owned(), "Zlib".to_owned()],
            &mut refs
        ),
        "(MIT OR Apache-2.0) AND Zlib"
    );
    let odd = spdx_license_declared(&["see /usr/share/doc (c) me".to_owned()], &mut refs);
    assert!(
        odd.starts_with("LicenseRef-see--usr-share-doc--c--me-"),
        "{odd}"
    );
    assert_eq!(
        refs.get("LicenseRef-FooBar").map(String::as_str),
        Some("FooBar")
    );
    assert_eq!(
        refs.get(&odd).map(String::as_str),
        Some("see /usr/share/doc (c) me")
    );
}

#[test]
fn known_license_ids_are_on_the_spdx_license_list() {
    let list_file = data_dir().join("schemas/spdx.schema.json");
    let Ok(text) = std::fs::read_to_string(&list_file) else {
        drydock_test::missing(&list_file.display().to_string());
        return;
    };
    let list: Value = serde_json::from_str(&text).unwrap();
    let ids: Vec<&str> = list["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for id in drydock_sbom::license::known_license_ids()
        .iter()
        .chain(drydock_sbom::license::known_exception_ids())
    {
        assert!(ids.contains(id), "`{id}` is not on the SPDX license list");
    }
}

// ---------------------------------------------------------------- native JSON

#[test]
fn native_json_round_trips() {
    let sbom = fixture();
    let bytes = render(Format::Json, &sbom);
    let read = read_native(&bytes).unwrap();
    assert_eq!(render(Format::Json, &read), bytes);
    // What comes back is the model, packages in output order.
    let mut expected = sbom.clone();
    expected.packages = drydock_sbom::sorted_packages(&sbom.packages)
        .into_iter()
        .cloned()
        .map(|mut p| {
            p.files.sort();
            p
        })
        .collect();
    assert_eq!(read.packages, expected.packages);
    assert_eq!(read.source, expected.source);
    assert_eq!(read.distro, expected.distro);
    assert_eq!(read.tool, expected.tool);
    assert_eq!(read.created, expected.created);

    let document: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(document["schema_version"], "1");
    let kinds: Vec<&str> = document["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap())
        .collect();
    let mut sorted_kinds = kinds.clone();
    sorted_kinds.sort_by_key(|k| ["deb", "apk", "rpm"].iter().position(|x| x == k));
    assert_eq!(kinds, sorted_kinds);
}

#[test]
fn native_reader_rejects_other_versions_and_bad_input() {
    let bytes = render(Format::Json, &fixture());
    let mut document: Value = serde_json::from_slice(&bytes).unwrap();
    document["schema_version"] = "2".into();
    let err = read_native(&serde_json::to_vec(&document).unwrap()).unwrap_err();
    assert!(
        matches!(err, SbomError::UnsupportedSchemaVersion { ref found } if found == "2"),
        "{err}"
    );

    let mut document: Value = serde_json::from_slice(&bytes).unwrap();
    document["packages"][0]["purl"] = "not a purl".into();
    let err = read_native(&serde_json::to_vec(&document).unwrap()).unwrap_err();
    assert!(matches!(err, SbomError::InvalidPurl { .. }), "{err}");

    let mut document: Value = serde_json::from_slice(&bytes).unwrap();
    document["packages"][0]["locations"][0]["path"] = "/../etc/shadow".into();
    assert!(read_native(&serde_json::to_vec(&document).unwrap()).is_err());

    assert!(matches!(
        read_native(b"{"),
        Err(SbomError::ReadNative { .. })
    ));
    assert!(read_native(b"[]").is_err());
}

// ---------------------------------------------------------------- table

#[test]
fn table_is_aligned_and_sorted() {
    let text = String::from_utf8(render(Format::Table, &fixture())).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1 + 10);
    let header = lines[0];
    assert!(header.starts_with("NAME "));
    let version_column = header.find("VERSION").unwrap();
    let type_column = header.find("TYPE").unwrap();
    for line in &lines[1..] {
        let chars: Vec<char> = line.chars().collect();
        let before_version: String = chars[..version_column].iter().collect();
        assert!(before_version.ends_with("  "), "{line:?}");
        assert_ne!(chars[version_column], ' ', "{line:?}");
        assert_ne!(chars[type_column], ' ', "{line:?}");
    }
    let names: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
    assert!(text.contains("libssl3 "));
    assert!(lines.iter().any(|l| l.starts_with("openssl-libs")
        && l.contains("rpm")
        && l.contains("openssl (3.0.9-2.fc38)")));

    let mut empty = fixture();
    empty.packages.clear();
    assert_eq!(
        String::from_utf8(render(Format::Table, &empty)).unwrap(),
        "no packages found\n"
    );
}

#[test]
fn formats_parse_by_name() {
    for format in Format::ALL {
        assert_eq!(format.as_str().parse::<Format>(), Ok(format));
    }
    assert!("cyclonedx".parse::<Format>().is_err());
}

/// Every object key anywhere in `value`.
fn keys(value: &Value, out: &mut std::collections::BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                out.insert(key.clone());
                keys(child, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| keys(item, out)),
        _ => {}
    }
}

#[test]
fn docs_describe_every_native_field() {
    let doc_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/sbom-json.md");
    let doc = std::fs::read_to_string(&doc_path).unwrap();
    let mut all = std::collections::BTreeSet::new();
    keys(&json(Format::Json, &fixture()), &mut all);
    assert!(all.len() > 40, "{all:?}");
    for key in all {
        assert!(
            doc.contains(&format!("| `{key}` |")) || doc.contains(&format!("\"{key}\"")),
            "docs/sbom-json.md does not describe `{key}`"
        );
    }
}
