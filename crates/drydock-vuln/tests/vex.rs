//! VEX parsing: the real OpenVEX example from ../shared/data and CycloneDX
//! analysis states, and how statements apply to findings.
use drydock_vuln::{
    Finding, FindingPackage, FixState, MatchedVia, SeverityLevel, VexStatus, apply_vex, parse_vex,
};
use serde_json::{Value, json};

fn finding(id: &str, aliases: &[&str], purl: &str) -> Finding {
    Finding {
        id: id.to_owned(),
        aliases: aliases.iter().map(|a| (*a).to_owned()).collect(),
        summary: None,
        package: FindingPackage {
            name: "node".into(),
            version: "4.2.3".into(),
            ecosystem: "npm".into(),
            purl: purl.to_owned(),
            location: None,
        },
        matched_via: MatchedVia {
            name: "node".into(),
            version: "4.2.3".into(),
        },
        severity: SeverityLevel::High,
        severity_source: None,
        severity_provider: None,
        cvss: None,
        cvss_vectors: Vec::new(),
        cwes: Vec::new(),
        published: None,
        fixed_versions: Vec::new(),
        state: FixState::NotFixed,
        kev: None,
        epss: None,
        data_source: "osv:test".into(),
        records: vec![id.to_owned()],
        references: Vec::new(),
        suppressed: None,
    }
}

#[test]
fn the_real_openvex_example_parses_and_applies() {
    let path =
        drydock_test::workspace_root().join("../shared/data/examples/openvex/node.openvex.json");
    let Ok(bytes) = std::fs::read(&path) else {
        drydock_test::missing(&path.display().to_string());
        return;
    };
    let raw: Value = serde_json::from_slice(&bytes).unwrap();
    let document = parse_vex("node.openvex.json", &bytes).unwrap();
    assert_eq!(document.name, raw["@id"].as_str().unwrap());
    assert_eq!(
        document.statements.len(),
        raw["statements"].as_array().unwrap().len()
    );
    // Statuses as written.
    for (statement, original) in document
        .statements
        .iter()
        .zip(raw["statements"].as_array().unwrap())
    {
        assert_eq!(
            statement.status.as_str(),
            original["status"].as_str().unwrap()
        );
    }
    let first = &raw["statements"][0];
    let cve = first["vulnerability"]["name"].as_str().unwrap();
    let product = first["products"][0]["@id"].as_str().unwrap();
    assert_eq!(first["status"], "fixed");
    // The product purl names the package (by type/namespace/name/version).
    let (kept, suppressed) = apply_vex(
        vec![
            finding("GHSA-x", &[cve], product),
            finding(cve, &[], "pkg:nodejs/node@v0.1.0"),
        ],
        &[document],
        &[],
    );
    assert_eq!(suppressed.len(), 1);
    assert_eq!(suppressed[0].suppressed.as_ref().unwrap().status, "fixed");
    assert_eq!(
        kept.len(),
        1,
        "another version of the product is not covered"
    );
}

#[test]
fn cyclonedx_states_and_newest_statement_wins() {
    let cdx = json!({
        "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
        "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
        "components": [{ "type": "library", "bom-ref": "a", "name": "a", "purl": "pkg:npm/a@1.0.0" }],
        "vulnerabilities": [
            { "id": "CVE-1", "analysis": { "state": "false_positive" }, "affects": [{ "ref": "a" }] },
            { "id": "CVE-2", "analysis": { "state": "resolved" }, "affects": [{ "ref": "urn:cdx:x/1#a" }] },
            { "id": "CVE-3", "analysis": { "state": "exploitable" }, "affects": [{ "ref": "a" }] },
            { "id": "CVE-4", "analysis": { "state": "in_triage" }, "affects": [{ "ref": "a" }] },
            { "id": "CVE-5", "affects": [{ "ref": "a" }] },
        ],
    });
    let document = parse_vex("x", cdx.to_string().as_bytes()).unwrap();
    let statuses: Vec<VexStatus> = document.statements.iter().map(|s| s.status).collect();
    assert_eq!(
        statuses,
        [
            VexStatus::NotAffected,
            VexStatus::Fixed,
            VexStatus::Affected,
            VexStatus::UnderInvestigation
        ]
    );
    let findings =
        ["CVE-1", "CVE-2", "CVE-3", "CVE-4"].map(|id| finding(id, &[], "pkg:npm/a@1.0.0?x=1"));
    let (kept, suppressed) = apply_vex(findings.to_vec(), &[document], &[]);
    let ids = |list: &[Finding]| list.iter().map(|f| f.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&suppressed), ["CVE-1", "CVE-2"]);
    assert_eq!(ids(&kept), ["CVE-3", "CVE-4"]);

    // OpenVEX: product = the scanned image, with and without subcomponents;
    // a newer `affected` overrides an older `not_affected`.
    let openvex = json!({
        "@context": "https://openvex.dev/ns/v0.2.0", "@id": "doc", "author": "t", "version": 1,
        "timestamp": "2024-01-01T00:00:00Z",
        "statements": [
            { "vulnerability": { "name": "CVE-1" }, "products": [{ "@id": "pkg:oci/img@sha256%3Aabc" }], "status": "not_affected" },
            { "vulnerability": { "name": "CVE-2" }, "products": [{ "@id": "pkg:oci/img@sha256%3Aabc",
              "subcomponents": [{ "@id": "pkg:npm/b" }] }], "status": "not_affected" },
            { "vulnerability": { "name": "CVE-3" }, "products": [{ "@id": "pkg:npm/a" }], "status": "not_affected" },
            { "vulnerability": { "name": "CVE-3" }, "products": [{ "@id": "pkg:npm/a" }], "status": "affected",
              "timestamp": "2024-03-01T00:00:00Z" },
        ],
    });
    let document = parse_vex("y", openvex.to_string().as_bytes()).unwrap();
    let findings = ["CVE-1", "CVE-2", "CVE-3"].map(|id| finding(id, &[], "pkg:npm/a@1.0.0"));
    let (kept, suppressed) = apply_vex(findings.to_vec(), &[document], &["sha256:abc".to_owned()]);
    assert_eq!(ids(&suppressed), ["CVE-1"]);
    assert_eq!(ids(&kept), ["CVE-2", "CVE-3"]);
    assert!(parse_vex("z", b"{\"hello\": 1}").is_err());
    assert!(parse_vex("z", b"not json").is_err());
}
