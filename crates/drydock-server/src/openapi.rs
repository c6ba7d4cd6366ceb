//! The OpenAPI 3.1 document of `/api/v1`, served at `/api/v1/openapi.json`
//! and checked in as `docs/openapi.json` (a test fails when they differ:
//! regenerate with `drydock serve --print-openapi > docs/openapi.json`).
#![expect(
    clippy::needless_pass_by_value,
    reason = "the document is built from temporaries; taking them by value reads as the JSON it becomes"
)]
use serde_json::{Value, json};

fn query(name: &str, description: &str, schema: Value) -> Value {
    json!({ "name": name, "in": "query", "required": false, "description": description, "schema": schema })
}

fn path(name: &str, description: &str, schema: Value) -> Value {
    json!({ "name": name, "in": "path", "required": true, "description": description, "schema": schema })
}

fn string() -> Value {
    json!({ "type": "string" })
}

fn boolean() -> Value {
    json!({ "type": "boolean" })
}

fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn json_body(description: &str, schema: Value) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": schema } } })
}

fn errors(codes: &[&str]) -> serde_json::Map<String, Value> {
    let mut out = serde_json::Map::new();
    for code in codes {
        let description = match *code {
            "400" => "The request is malformed (the body says which parameter)",
            "401" => "No token, or a token the server does not know",
            "403" => "The token's scope does not allow this",
            "404" => "Not in the fleet",
            _ => "Error",
        };
        out.insert(
            (*code).to_owned(),
            json!({ "$ref": format!("#/components/responses/E{code}"), "description": description }),
        );
    }
    out
}

fn operation(
    id: &str,
    summary: &str,
    parameters: Vec<Value>,
    ok: Value,
    error_codes: &[&str],
) -> Value {
    let mut responses = errors(error_codes);
    responses.insert("200".to_owned(), ok);
    json!({ "get": {
        "operationId": id,
        "summary": summary,
        "parameters": parameters,
        "responses": responses,
    }})
}

/// `links` on an operation's 200 response: `operationId` → `{param: expression}`.
fn with_links(mut path_item: Value, links: &[(&str, &str, &str)]) -> Value {
    let mut map = serde_json::Map::new();
    for (operation, parameter, expression) in links {
        map.insert(
            (*operation).to_owned(),
            json!({ "operationId": operation, "parameters": { (*parameter): expression } }),
        );
    }
    path_item["get"]["responses"]["200"]["links"] = Value::Object(map);
    path_item
}

fn filters() -> Vec<Value> {
    vec![
        query(
            "vuln",
            "A vulnerability id or alias (CVE, GHSA, DSA, …), case-insensitive",
            string(),
        ),
        query(
            "severity",
            "At or above this severity",
            json!({ "type": "string", "enum": ["negligible", "low", "medium", "high", "critical"] }),
        ),
        query(
            "kev",
            "Only vulnerabilities in the CISA KEV catalog",
            boolean(),
        ),
        query("fixable", "Only findings with a fixed version", boolean()),
        query(
            "cluster",
            "Only images running in this Kubernetes cluster",
            string(),
        ),
        query(
            "namespace",
            "Only images running in this namespace",
            string(),
        ),
        query(
            "image",
            "An image digest, reference or repository",
            string(),
        ),
        query("package", "A package name", string()),
        query(
            "q",
            "Free text: a substring of a vulnerability id or alias, package name, image digest or reference, pod or workload name",
            string(),
        ),
        query(
            "status",
            "`open` (default) or `all` (resolved findings too)",
            json!({ "type": "string", "enum": ["open", "all"] }),
        ),
    ]
}

fn paging(max: u64) -> Vec<Value> {
    vec![
        query("cursor", "`next_cursor` of the previous page", string()),
        query(
            "limit",
            "Page size",
            json!({ "type": "integer", "minimum": 1, "maximum": max }),
        ),
    ]
}

fn format_param() -> Value {
    query(
        "format",
        "`json` (default) or `csv` (up to 10,000 rows a page; the next cursor in `X-Next-Cursor`)",
        json!({ "type": "string", "enum": ["json", "csv"] }),
    )
}

fn digest_param() -> Value {
    path(
        "digest",
        "The image's manifest digest",
        json!({ "type": "string", "pattern": "^[a-z0-9+._-]+:[a-f0-9]{32,}$" }),
    )
}

fn schemas() -> Value {
    let nullable_string = json!({ "type": ["string", "null"] });
    json!({
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": { "error": string() },
        },
        "Location": {
            "type": "object",
            "description": "Where a digest is seen: a registry tag or a Kubernetes container",
            "required": ["kind", "source", "reference", "first_seen", "last_seen"],
            "properties": {
                "kind": { "type": "string", "enum": ["registry", "kubernetes"] },
                "source": string(), "reference": string(),
                "registry": string(), "repository": string(), "tag": string(),
                "cluster": string(), "namespace": string(), "workload_kind": string(),
                "workload": string(), "pod": string(), "container": string(),
                "container_kind": string(),
                "first_seen": { "type": "string", "format": "date-time" },
                "last_seen": { "type": "string", "format": "date-time" },
            },
        },
        "Image": {
            "type": "object",
            "required": ["digest", "status", "packages", "findings", "first_seen", "last_seen", "locations"],
            "properties": {
                "digest": string(),
                "status": { "type": "string", "enum": ["analysed", "not-analysed"] },
                "reason": string(), "distro": string(), "platform": string(),
                "packages": { "type": "integer" },
                "findings": {
                    "type": "object",
                    "description": "Open findings by severity, and `kev`",
                    "additionalProperties": { "type": "integer" },
                },
                "first_seen": { "type": "string", "format": "date-time" },
                "last_seen": { "type": "string", "format": "date-time" },
                "gone_at": { "type": "string", "format": "date-time" },
                "locations": { "type": "array", "items": reference("Location") },
                "layers": { "type": "array", "items": { "type": "object" } },
                "config_digest": nullable_string,
                "package_kinds": { "type": "object", "additionalProperties": { "type": "integer" } },
            },
        },
        "Finding": {
            "type": "object",
            "description": "A finding as `drydock scan -f json` writes it (docs/scan-json.md), plus where and since when",
            "required": ["digest", "status", "first_seen", "locations", "id", "aliases", "package", "severity"],
            "properties": {
                "digest": string(),
                "status": { "type": "string", "enum": ["open", "resolved"] },
                "first_seen": { "type": "string", "format": "date-time" },
                "resolved_at": { "type": ["string", "null"], "format": "date-time" },
                "resolution": nullable_string,
                "locations": { "type": "array", "items": reference("Location") },
                "id": string(),
                "aliases": { "type": "array", "items": string() },
                "package": { "type": "object" },
                "severity": string(),
            },
        },
        "VulnerabilitySummary": {
            "type": "object",
            "required": ["id", "severity", "kev", "fixable", "images", "findings", "packages"],
            "properties": {
                "id": string(), "severity": string(), "kev": boolean(),
                "epss": { "type": "number" }, "fixable": boolean(),
                "images": { "type": "integer" }, "findings": { "type": "integer" },
                "packages": { "type": "array", "items": string() },
            },
        },
        "Event": {
            "type": "object",
            "required": ["seq", "time", "kind", "digest", "cause"],
            "properties": {
                "seq": { "type": "integer" },
                "time": { "type": "string", "format": "date-time" },
                "kind": { "type": "string", "enum": ["finding-opened", "finding-resolved", "image-first-seen", "image-gone"] },
                "digest": string(), "vulnerability": string(), "package": string(),
                "severity": string(), "kev": boolean(), "cause": string(),
            },
        },
    })
}

/// The document.
pub fn document() -> Value {
    let page = |key: &str, item: Value| {
        json!({
            "type": "object",
            "required": [key, "next_cursor"],
            "properties": {
                (key): { "type": "array", "items": item },
                "next_cursor": { "type": ["string", "null"] },
                "total": { "type": "integer" },
            },
        })
    };
    let mut findings_params = filters();
    findings_params.extend(paging(10_000));
    findings_params.push(format_param());
    let vulnerabilities_params = findings_params.clone();
    let mut events_params = vec![query(
        "since",
        "Only events at or after this time (RFC 3339 or a date)",
        string(),
    )];
    events_params.extend(paging(1000));
    let error_response = |description: &str| json!({ "description": description, "content": { "application/json": { "schema": reference("Error") } } });
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "drydock fleet API",
            "version": "1",
            "description": "The fleet store of `drydock fleet` over HTTP: images, where they run, findings sorted by priority (KEV, severity, EPSS, fixable), vulnerabilities and their blast radius, MTTI/MTTR, events. Read with a `read` token; `/api/v1/sources` needs `admin`.",
            "license": { "name": "Apache-2.0", "identifier": "Apache-2.0" },
        },
        "servers": [{ "url": "/" }],
        "security": [{ "bearer": [] }, { "cookie": [] }],
        "paths": {
            "/api/v1/images": with_links(operation(
                "listImages", "Images (digests), where each is seen, open findings by severity",
                paging(1000), json_body("A page of images", page("images", reference("Image"))), &["400", "401"]),
                &[
                    ("getImage", "digest", "$response.body#/images/0/digest"),
                    ("listImagePackages", "digest", "$response.body#/images/0/digest"),
                    ("getImageSbom", "digest", "$response.body#/images/0/digest"),
                ]),
            "/api/v1/images/{digest}": operation(
                "getImage", "One image: where it runs, layers, distro, counts",
                vec![digest_param()], json_body("The image", reference("Image")), &["400", "401", "404"]),
            "/api/v1/images/{digest}/packages": operation(
                "listImagePackages", "The packages of an image's stored SBOM",
                vec![digest_param(), query("q", "A substring of the package name", string()), query("kind", "A package kind (deb, pypi, npm, …)", string())],
                json_body("Packages", json!({ "type": "object", "required": ["packages"], "properties": { "packages": { "type": "array", "items": { "type": "object" } } } })),
                &["400", "401", "404"]),
            "/api/v1/images/{digest}/sbom": operation(
                "getImageSbom", "The stored SBOM in a standard format",
                vec![digest_param(), query("format", "SBOM format", json!({ "type": "string", "enum": ["cyclonedx-json", "spdx-json"], "default": "cyclonedx-json" }))],
                json!({ "description": "The SBOM", "content": {
                    "application/vnd.cyclonedx+json": { "schema": { "type": "object" } },
                    "application/spdx+json": { "schema": { "type": "object" } },
                }}),
                &["400", "401", "404"]),
            "/api/v1/findings": operation(
                "listFindings", "Findings across the fleet, highest priority first, each with where it runs",
                findings_params,
                json!({ "description": "A page of findings", "content": {
                    "application/json": { "schema": page("findings", reference("Finding")) },
                    "text/csv": { "schema": { "type": "string" } },
                }}),
                &["400", "401"]),
            "/api/v1/vulnerabilities": with_links(operation(
                "listVulnerabilities", "Vulnerabilities with findings, highest priority first",
                vulnerabilities_params,
                json!({ "description": "A page of vulnerabilities", "content": {
                    "application/json": { "schema": page("vulnerabilities", reference("VulnerabilitySummary")) },
                    "text/csv": { "schema": { "type": "string" } },
                }}),
                &["400", "401"]),
                &[("getVulnerability", "id", "$response.body#/vulnerabilities/0/id")]),
            "/api/v1/vulnerabilities/{id}": operation(
                "getVulnerability", "One vulnerability by id or alias: the advisory and its blast radius (images, workloads, pods)",
                vec![path("id", "A vulnerability id or alias", json!({ "type": "string", "minLength": 1, "maxLength": 200 }))],
                json_body("The vulnerability", json!({ "type": "object", "required": ["id", "advisory", "packages", "images", "workloads", "pods"] })),
                &["400", "401", "404"]),
            "/api/v1/clusters": operation(
                "listClusters", "Kubernetes clusters with counts of namespaces, workloads, pods, containers, images",
                vec![], json_body("Clusters", json!({ "type": "object", "required": ["clusters"], "properties": { "clusters": { "type": "array", "items": { "type": "object" } } } })),
                &["401"]),
            "/api/v1/workloads": operation(
                "listWorkloads", "cluster → namespace → workload → pods → containers → digest",
                vec![query("cluster", "Only this cluster", string()), query("namespace", "Only this namespace", string())],
                json_body("The tree", json!({ "type": "object", "required": ["clusters"], "properties": { "clusters": { "type": "array", "items": { "type": "object" } } } })),
                &["401"]),
            "/api/v1/metrics/mtt": operation(
                "getMtt", "Time to identify and to remediate (median, p90) per severity, KEV and week; overdue findings",
                vec![], json_body("As `drydock fleet metrics -f json`", json!({ "type": "object", "required": ["mtti", "mttr", "weeks", "open", "overdue"] })),
                &["401"]),
            "/api/v1/events": operation(
                "listEvents", "The event log, oldest first",
                events_params, json_body("A page of events", page("events", reference("Event"))), &["400", "401"]),
            "/api/v1/sources": operation(
                "listSources", "Inventory sources (admin scope; secrets redacted)",
                vec![], json_body("Sources", json!({ "type": "object", "required": ["sources"] })), &["401", "403"]),
            "/api/v1/openapi.json": {
                "get": {
                    "operationId": "getOpenApi", "summary": "This document", "security": [],
                    "responses": { "200": json_body("OpenAPI 3.1", json!({ "type": "object" })) },
                },
            },
            "/metrics": {
                "get": {
                    "operationId": "getPrometheusMetrics", "summary": "Prometheus text format; labels are bounded (severity, status, kind, route)",
                    "responses": {
                        "200": { "description": "Metrics", "content": { "text/plain": { "schema": { "type": "string" } } } },
                        "401": { "$ref": "#/components/responses/E401", "description": "No token, or a token the server does not know" },
                    },
                },
            },
            "/healthz": {
                "get": {
                    "operationId": "getHealth", "summary": "The process is up", "security": [],
                    "responses": { "200": { "description": "ok", "content": { "text/plain": { "schema": { "type": "string" } } } } },
                },
            },
            "/readyz": {
                "get": {
                    "operationId": "getReady", "summary": "The store answers", "security": [],
                    "responses": {
                        "200": { "description": "ready", "content": { "text/plain": { "schema": { "type": "string" } } } },
                        "503": { "description": "The store is unavailable", "content": { "text/plain": { "schema": { "type": "string" } } } },
                    },
                },
            },
        },
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer", "description": "A token from `drydock serve token`" },
                "cookie": { "type": "apiKey", "in": "cookie", "name": "drydock_token", "description": "Set by logging in at `/login`" },
            },
            "responses": {
                "E400": error_response("The request is malformed (the body says which parameter)"),
                "E401": error_response("No token, or a token the server does not know"),
                "E403": error_response("The token's scope does not allow this"),
                "E404": error_response("Not in the fleet"),
            },
            "schemas": schemas(),
        },
    })
}

/// The document as served and checked in: pretty JSON and a newline.
pub fn document_text() -> String {
    let mut text = serde_json::to_string_pretty(&document()).unwrap_or_default();
    text.push('\n');
    text
}
