#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests fail loudly on unexpected input"
)]
use super::*;

fn read(text: &str) -> (Sbom, InputFormat) {
    read_sbom(text.as_bytes(), "sbom:test").unwrap()
}

/// (name, version, purl) of every package, sorted.
fn rows(sbom: &Sbom) -> Vec<(String, String, String)> {
    let mut rows: Vec<_> = sbom
        .packages
        .iter()
        .map(|package| {
            (
                package.name.clone(),
                package.version.clone(),
                package.purl.to_string(),
            )
        })
        .collect();
    rows.sort();
    rows
}

fn row(name: &str, version: &str, purl: &str) -> (String, String, String) {
    (name.to_owned(), version.to_owned(), purl.to_owned())
}

#[test]
fn cyclonedx_names_keep_their_namespace_and_the_sboms_version() {
    let (sbom, format) = read(
        r#"{"bomFormat":"CycloneDX","specVersion":"1.4","components":[
          {"type":"library","name":"golang.org/x/crypto","version":"v0.4.0",
           "purl":"pkg:golang/golang.org/x/crypto@v0.4.0"},
          {"type":"library","group":"@babel","name":"core","version":"7.0.0",
           "purl":"pkg:npm/%40babel/core@7.0.0"},
          {"type":"library","group":"org.apache.logging.log4j","name":"log4j-core",
           "version":"2.14.1","purl":"pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"},
          {"type":"library","purl":"pkg:composer/monolog/monolog@3.0.0"},
          {"type":"library","name":"stdlib","version":"go1.19.8","purl":"pkg:golang/stdlib@1.19.8"}
        ]}"#,
    );
    assert_eq!(format, InputFormat::CycloneDx);
    assert_eq!(
        rows(&sbom),
        vec![
            row("@babel/core", "7.0.0", "pkg:npm/%40babel/core@7.0.0"),
            row(
                "golang.org/x/crypto",
                "v0.4.0",
                "pkg:golang/golang.org/x/crypto@v0.4.0"
            ),
            row(
                "monolog/monolog",
                "3.0.0",
                "pkg:composer/monolog/monolog@3.0.0"
            ),
            row(
                "org.apache.logging.log4j:log4j-core",
                "2.14.1",
                "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
            ),
            row("stdlib", "go1.19.8", "pkg:golang/stdlib@1.19.8"),
        ]
    );
}

#[test]
fn a_purl_epoch_goes_before_a_version_without_one() {
    let (sbom, _) = read(
        r#"{"bomFormat":"CycloneDX","components":[
          {"type":"library","name":"bsdutils","version":"2.38.1-5+b1",
           "purl":"pkg:deb/debian/bsdutils@2.38.1-5%2Bb1?arch=amd64&epoch=1&distro=debian-12.5",
           "properties":[
             {"name":"aquasecurity:trivy:SrcName","value":"util-linux"},
             {"name":"aquasecurity:trivy:SrcVersion","value":"2.38.1"},
             {"name":"aquasecurity:trivy:SrcRelease","value":"5"},
             {"name":"aquasecurity:trivy:SrcEpoch","value":"1"}]},
          {"type":"library","purl":"pkg:rpm/fedora/bash@5.2.15-3.fc38?epoch=2"}
        ]}"#,
    );
    let bsdutils = &sbom.packages[0];
    assert_eq!(bsdutils.version, "1:2.38.1-5+b1");
    assert_eq!(
        bsdutils.source,
        Some(SourcePackage {
            name: "util-linux".to_owned(),
            version: "1:2.38.1-5".to_owned()
        })
    );
    assert_eq!(bsdutils.arch.as_deref(), Some("amd64"));
    assert_eq!(sbom.packages[1].version, "2:5.2.15-3.fc38");
    let distro = sbom.distro.unwrap();
    assert_eq!(
        (distro.id.as_str(), distro.version_id.as_str()),
        ("debian", "12.5")
    );
}

#[test]
fn cyclonedx_xml_reads_like_json() {
    let (sbom, format) = read(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bom xmlns="http://cyclonedx.org/schema/bom/1.2" version="1">
  <metadata><timestamp>2024-01-02T03:04:05Z</timestamp>
    <component type="container"><name>ignored</name></component></metadata>
  <components>
    <component type="operating-system"><name>debian</name><version>12</version></component>
    <component type="library">
      <group>golang.org/x</group><name>crypto</name><version>v0.4.0</version>
      <purl>pkg:golang/golang.org/x/crypto@v0.4.0</purl>
      <properties><property name="syft:location:0:path">/usr/bin/app</property></properties>
      <components>
        <component type="library"><name>libc6</name><version>2.36-9</version>
          <purl>pkg:deb/debian/libc6@2.36-9?upstream=glibc</purl></component>
      </components>
    </component>
  </components>
</bom>"#,
    );
    assert_eq!(format, InputFormat::CycloneDxXml);
    assert_eq!(sbom.created, "2024-01-02T03:04:05Z");
    assert_eq!(
        rows(&sbom),
        vec![
            row(
                "golang.org/x/crypto",
                "v0.4.0",
                "pkg:golang/golang.org/x/crypto@v0.4.0"
            ),
            row(
                "libc6",
                "2.36-9",
                "pkg:deb/debian/libc6@2.36-9?upstream=glibc"
            ),
        ]
    );
    let crypto = &sbom.packages[0];
    assert_eq!(crypto.locations[0].path.to_display(), "/usr/bin/app");
    assert_eq!(sbom.packages[1].source.as_ref().unwrap().name, "glibc");
    assert_eq!(sbom.distro.unwrap().id, "debian");
}

#[test]
fn xml_that_is_not_a_bom_or_not_xml_is_an_error() {
    let error = read_sbom(b"<html></html>", "sbom:x").unwrap_err();
    assert_eq!(
        error.to_string(),
        "the XML SBOM's root element is `html`, not CycloneDX's `bom`"
    );
    assert!(matches!(
        read_sbom(b"<bom><components>", "sbom:x"),
        Err(ReadError::Xml { .. })
    ));
    // No DTD, so no entity expansion.
    assert!(matches!(
        read_sbom(
            b"<!DOCTYPE bom [<!ENTITY a \"aaaa\">]><bom>&a;</bom>",
            "sbom:x"
        ),
        Err(ReadError::Xml { .. })
    ));
}

#[test]
fn spdx_tag_value_reads_like_json() {
    let (sbom, format) = read(
        "## comment\nSPDXVersion: SPDX-2.2\nDataLicense: CC0-1.0\n\
         Created: 2024-01-02T03:04:05Z\n\
         DocumentComment: <text>several\nlines: with colons\n# not a comment</text>\n\n\
         PackageName: crypto\nSPDXID: SPDXRef-Package-a\nPackageVersion: v0.4.0\n\
         ExternalRef: PACKAGE-MANAGER purl pkg:golang/golang.org/x/crypto@v0.4.0\n\
         FileName: ./ignored\nSPDXID: SPDXRef-File-1\nPackageVersion: 9\n\n\
         PackageName: libssl3\nSPDXID: SPDXRef-Package-b\nPackageVersion: 3.0.11-1\n\
         ExternalRef: PACKAGE_MANAGER purl pkg:deb/debian/libssl3@3.0.11-1?arch=amd64\n\
         PackageName: openssl\nSPDXID: SPDXRef-Source-c\nPackageVersion: 3.0.11-1~deb12u1\n\
         PrimaryPackagePurpose: SOURCE\n\
         Relationship: SPDXRef-Package-b GENERATED_FROM SPDXRef-Source-c\n",
    );
    assert_eq!(format, InputFormat::SpdxTagValue);
    assert_eq!(sbom.created, "2024-01-02T03:04:05Z");
    assert_eq!(
        rows(&sbom),
        vec![
            // The SPDX name is `crypto`: the SBOM's own name is kept.
            row("crypto", "v0.4.0", "pkg:golang/golang.org/x/crypto@v0.4.0"),
            row(
                "libssl3",
                "3.0.11-1",
                "pkg:deb/debian/libssl3@3.0.11-1?arch=amd64"
            ),
        ]
    );
    assert_eq!(
        sbom.packages[1].source,
        Some(SourcePackage {
            name: "openssl".to_owned(),
            version: "3.0.11-1~deb12u1".to_owned()
        })
    );
}

#[test]
fn broken_tag_value_names_the_line() {
    let error = read_sbom(b"SPDXVersion: SPDX-2.3\nno colon here\n", "sbom:x").unwrap_err();
    assert_eq!(
        error.to_string(),
        "SPDX tag-value line 2: `no colon here` is not `Tag: value`"
    );
    let error = read_sbom(b"SPDXVersion: SPDX-2.3\nX: <text>open\n", "sbom:x").unwrap_err();
    assert_eq!(
        error.to_string(),
        "SPDX tag-value line 2: `X`: `<text>` is never closed"
    );
    assert!(matches!(
        read_sbom(b"hello", "sbom:x"),
        Err(ReadError::UnknownFormat)
    ));
    assert!(matches!(
        read_sbom(b"\xff\xfe", "sbom:x"),
        Err(ReadError::NotUtf8)
    ));
}

#[test]
fn syft_json_artifacts_with_locations_and_dpkg_sources() {
    let (sbom, format) = read(
        r#"{"artifacts":[
          {"name":"libssl3","version":"3.0.11-1~deb12u2","type":"deb",
           "purl":"pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&upstream=openssl&distro=debian-12",
           "locations":[{"path":"/var/lib/dpkg/status"}],
           "metadata":{"package":"libssl3","source":"openssl","sourceVersion":"3.0.11-1~deb12u1"}},
          {"name":"@babel/core","version":"7.0.0","type":"npm","purl":"pkg:npm/%40babel/core@7.0.0",
           "locations":[{"path":"/app/package-lock.json"},{"path":"/app/package-lock.json"}]},
          {"name":"nopurl","version":"1"}
        ],
        "distro":{"id":"debian","versionID":"12","versionCodename":"bookworm"},
        "schema":{"version":"16.0.20"}}"#,
    );
    assert_eq!(format, InputFormat::Syft);
    let ssl = &sbom.packages[0];
    assert_eq!(
        ssl.source,
        Some(SourcePackage {
            name: "openssl".to_owned(),
            version: "3.0.11-1~deb12u1".to_owned()
        })
    );
    assert_eq!(ssl.locations[0].path.to_display(), "/var/lib/dpkg/status");
    let babel = &sbom.packages[1];
    assert_eq!(babel.name, "@babel/core");
    assert_eq!(babel.locations.len(), 1, "duplicate locations merged");
    assert_eq!(
        sbom.problems[0].reason,
        "artifact `nopurl` has no purl: not scanned"
    );
    let distro = sbom.distro.unwrap();
    assert_eq!(distro.version_codename.as_deref(), Some("bookworm"));
}

#[test]
fn cyclonedx_occurrences_are_locations() {
    let (sbom, _) = read(
        r#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[
          {"type":"library","name":"ms","version":"2.1.3","purl":"pkg:npm/ms@2.1.3",
           "evidence":{"occurrences":[{"location":"/app/node_modules/ms/package.json"},
                                      {"location":"/app/node_modules/a/node_modules/ms/package.json"}]}}
        ]}"#,
    );
    let paths: Vec<String> = sbom.packages[0]
        .locations
        .iter()
        .map(|location| location.path.to_display())
        .collect();
    assert_eq!(
        paths,
        [
            "/app/node_modules/ms/package.json",
            "/app/node_modules/a/node_modules/ms/package.json"
        ]
    );
}
