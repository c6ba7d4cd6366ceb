//! `/api/v1/…`, `/metrics`, `/healthz`, `/readyz`.
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use axum::Router;
use axum::extract::{Path, Query, State as Extract};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use drydock_store::{FindingCursor, FindingFilter, FindingRow, Placement, Store};
use drydock_vuln::SeverityLevel;
use serde_json::{Value, json};

use crate::http::{ApiError, Shared, json, json_text, typed};

pub(crate) type Params = Query<Vec<(String, String)>>;

/// Query parameters by name (the last of repeated ones).
pub(crate) struct Args(BTreeMap<String, String>);

impl Args {
    pub(crate) fn new(Query(pairs): Params) -> Args {
        Args(pairs.into_iter().collect())
    }

    pub(crate) fn text(&self, name: &str) -> Option<String> {
        self.0
            .get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    pub(crate) fn flag(&self, name: &str) -> Result<bool, ApiError> {
        match self.text(name).as_deref() {
            None | Some("false" | "0") => Ok(false),
            Some("true" | "1") => Ok(true),
            Some(_) => Err(ApiError::BadRequest(format!(
                "`{name}` must be `true` or `false`"
            ))),
        }
    }

    pub(crate) fn limit(&self, default: usize, max: usize) -> Result<usize, ApiError> {
        match self.text("limit") {
            None => Ok(default),
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| {
                    ApiError::BadRequest(format!("`limit` must be a whole number from 1 to {max}"))
                }),
        }
    }

    /// `json` (default) or `csv`.
    pub(crate) fn csv(&self) -> Result<bool, ApiError> {
        match self.text("format").as_deref() {
            None | Some("json") => Ok(false),
            Some("csv") => Ok(true),
            Some(_) => Err(ApiError::BadRequest(
                "`format` must be `json` or `csv`".to_owned(),
            )),
        }
    }

    /// The finding filters shared by `/findings` and `/vulnerabilities`.
    pub(crate) fn filter(&self) -> Result<FindingFilter, ApiError> {
        let severity = match self.text("severity") {
            None => None,
            Some(text) => Some(text.to_ascii_lowercase().parse::<SeverityLevel>().map_err(
                |_| {
                    ApiError::BadRequest(
                        "`severity` must be one of negligible, low, medium, high, critical"
                            .to_owned(),
                    )
                },
            )?),
        };
        let include_resolved = match self.text("status").as_deref() {
            None | Some("open") => false,
            Some("all") => true,
            Some(_) => {
                return Err(ApiError::BadRequest(
                    "`status` must be `open` or `all`".to_owned(),
                ));
            }
        };
        Ok(FindingFilter {
            vuln: self.text("vuln"),
            severity,
            kev: self.flag("kev")?,
            fixable: self.flag("fixable")?,
            namespace: self.text("namespace"),
            cluster: self.text("cluster"),
            image: self.text("image"),
            package: self.text("package"),
            q: self.text("q"),
            include_resolved,
            ..FindingFilter::default()
        })
    }
}

fn encode_cursor(text: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

fn decode_cursor(text: &str) -> Result<String, ApiError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| {
            ApiError::BadRequest("`cursor` is not a cursor this API returned".to_owned())
        })
}

pub(crate) fn finding_cursor(args: &Args) -> Result<Option<FindingCursor>, ApiError> {
    args.text("cursor")
        .map(|text| {
            serde_json::from_str(&decode_cursor(&text)?).map_err(|_| {
                ApiError::BadRequest("`cursor` is not a cursor this API returned".to_owned())
            })
        })
        .transpose()
}

/// An offset cursor (`/vulnerabilities`).
pub(crate) fn offset_cursor(args: &Args) -> Result<usize, ApiError> {
    match args.text("cursor") {
        None => Ok(0),
        Some(text) => decode_cursor(&text)?
            .strip_prefix("offset:")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| {
                ApiError::BadRequest("`cursor` is not a cursor this API returned".to_owned())
            }),
    }
}

pub(crate) fn next_offset(offset: usize) -> String {
    encode_cursor(&format!("offset:{offset}"))
}

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/v1/images", get(images))
        .route("/api/v1/images/{digest}", get(image))
        .route("/api/v1/images/{digest}/packages", get(packages))
        .route("/api/v1/images/{digest}/sbom", get(sbom))
        .route("/api/v1/findings", get(findings))
        .route("/api/v1/vulnerabilities", get(vulnerabilities))
        .route("/api/v1/vulnerabilities/{id}", get(vulnerability))
        .route("/api/v1/clusters", get(clusters))
        .route("/api/v1/workloads", get(workloads))
        .route("/api/v1/metrics/mtt", get(mtt))
        .route("/api/v1/events", get(events))
        .route("/metrics", get(prometheus))
}

pub(crate) fn admin_routes() -> Router<Shared> {
    Router::new().route("/api/v1/sources", get(sources))
}

pub(crate) fn open_routes() -> Router<Shared> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/api/v1/openapi.json", get(openapi))
}

async fn healthz() -> Response {
    typed("text/plain; charset=utf-8", "ok\n")
}

async fn readyz(Extract(state): Extract<Shared>) -> Response {
    match state.store(Store::schema_version).await {
        Ok(_) => typed("text/plain; charset=utf-8", "ready\n"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n").into_response(),
    }
}

async fn openapi() -> Response {
    json_text(crate::openapi::document_text())
}

/// `sha256:…` and friends; anything else cannot be an image here.
fn check_digest(digest: &str) -> Result<(), ApiError> {
    let ok = digest.split_once(':').is_some_and(|(algorithm, hex)| {
        !algorithm.is_empty()
            && algorithm.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '+' | '.' | '_' | '-')
            })
            && hex.len() >= 32
            && hex
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    });
    if ok {
        Ok(())
    } else {
        Err(ApiError::BadRequest(
            "the image must be named by its digest (`sha256:` and 64 hex digits)".to_owned(),
        ))
    }
}

fn no_image() -> ApiError {
    ApiError::NotFound("no image with this digest in the fleet".to_owned())
}

async fn images(Extract(state): Extract<Shared>, query: Params) -> Result<Response, ApiError> {
    let args = Args::new(query);
    let limit = args.limit(100, 1000)?;
    let after = args.text("cursor").map(|c| decode_cursor(&c)).transpose()?;
    let mut rows = state
        .store(move |store| store.images_page(after.as_deref(), limit + 1))
        .await?;
    let next = (rows.len() > limit).then(|| {
        rows.truncate(limit);
        rows.last().map(|row| encode_cursor(&row.digest))
    });
    json(&json!({ "images": rows, "next_cursor": next.flatten() }))
}

async fn image(
    Extract(state): Extract<Shared>,
    Path(digest): Path<String>,
) -> Result<Response, ApiError> {
    check_digest(&digest)?;
    let detail = image_detail(&state, digest).await?;
    json(&detail)
}

/// An image's summary with its layers, platform and package kinds.
pub(crate) async fn image_detail(state: &Shared, digest: String) -> Result<Value, ApiError> {
    let (summary, sbom) = state
        .store(move |store| {
            let summary = store.image_summary(&digest)?;
            let sbom = match &summary {
                Some(s) if s.status == "analysed" => store.sbom(&digest)?,
                _ => None,
            };
            Ok((summary, sbom))
        })
        .await?;
    let summary = summary.ok_or_else(no_image)?;
    let mut value = serde_json::to_value(&summary).map_err(|_| ApiError::Internal)?;
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    if let Some(sbom) = &sbom {
        for package in &sbom.packages {
            *kinds.entry(package.kind.as_str().to_owned()).or_default() += 1;
        }
        if let Some(object) = value.as_object_mut() {
            let image = sbom.source.image.as_ref();
            object.insert(
                "layers".into(),
                image.map_or(Value::Array(Vec::new()), |i| {
                    serde_json::to_value(&i.layers).unwrap_or_default()
                }),
            );
            object.insert(
                "config_digest".into(),
                image
                    .and_then(|i| i.config_digest.as_ref())
                    .map_or(Value::Null, |d| Value::String(d.to_string())),
            );
            object.insert("package_kinds".into(), json!(kinds));
        }
    }
    Ok(value)
}

async fn packages(
    Extract(state): Extract<Shared>,
    Path(digest): Path<String>,
    query: Params,
) -> Result<Response, ApiError> {
    check_digest(&digest)?;
    let args = Args::new(query);
    let list = package_list(&state, digest, args.text("q"), args.text("kind")).await?;
    json(&json!({ "packages": list }))
}

/// An image's packages (sorted), filtered by a name substring and a kind.
pub(crate) async fn package_list(
    state: &Shared,
    digest: String,
    q: Option<String>,
    kind: Option<String>,
) -> Result<Vec<Value>, ApiError> {
    let sbom = state
        .store(move |store| store.sbom(&digest))
        .await?
        .ok_or_else(no_image)?;
    let q = q.map(|q| q.to_lowercase());
    let mut out = Vec::new();
    for package in drydock_sbom::sorted_packages(&sbom.packages) {
        if q.as_deref()
            .is_some_and(|q| !package.name.to_lowercase().contains(q))
        {
            continue;
        }
        if kind.as_deref().is_some_and(|k| k != package.kind.as_str()) {
            continue;
        }
        out.push(json!({
            "name": package.name,
            "version": package.version,
            "kind": package.kind.as_str(),
            "purl": package.purl.to_string(),
            "licenses": package.licenses,
            "layer": package.layer.as_ref().map(|l| l.index),
            "location": package.locations.first().map(|l| l.path.to_display()),
        }));
    }
    Ok(out)
}

async fn sbom(
    Extract(state): Extract<Shared>,
    Path(digest): Path<String>,
    query: Params,
) -> Result<Response, ApiError> {
    check_digest(&digest)?;
    let args = Args::new(query);
    let format = args
        .text("format")
        .unwrap_or_else(|| "cyclonedx-json".to_owned());
    let (content_type, extension) = match format.as_str() {
        "cyclonedx-json" => ("application/vnd.cyclonedx+json", "cdx.json"),
        "spdx-json" => ("application/spdx+json", "spdx.json"),
        _ => {
            return Err(ApiError::BadRequest(
                "`format` must be `cyclonedx-json` or `spdx-json`".to_owned(),
            ));
        }
    };
    let name = digest.replace(':', "-");
    let sbom = state
        .store(move |store| store.sbom(&digest))
        .await?
        .ok_or_else(no_image)?;
    let mut bytes = Vec::new();
    let written = if format == "spdx-json" {
        drydock_sbom::write_spdx_json(&sbom, &mut bytes)
    } else {
        drydock_sbom::write_cyclonedx_json(&sbom, &mut bytes)
    };
    written.map_err(|_| ApiError::Internal)?;
    let mut response = typed(content_type, bytes);
    if let Ok(value) =
        HeaderValue::from_str(&format!("attachment; filename=\"{name}.{extension}\""))
    {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// One page of findings: the rows, the total, the next cursor.
pub(crate) struct FindingPage {
    pub(crate) rows: Vec<FindingRow>,
    pub(crate) total: i64,
    pub(crate) next: Option<String>,
}

pub(crate) async fn finding_page(
    state: &Shared,
    mut filter: FindingFilter,
    limit: usize,
) -> Result<FindingPage, ApiError> {
    filter.limit = Some(limit + 1);
    let (mut rows, total) = state
        .store(move |store| store.findings_with_total(&filter))
        .await?;
    let mut next = None;
    if rows.len() > limit {
        rows.truncate(limit);
        next = rows
            .last()
            .and_then(|row| serde_json::to_string(&row.cursor()).ok())
            .map(|text| encode_cursor(&text));
    }
    Ok(FindingPage { rows, total, next })
}

async fn findings(Extract(state): Extract<Shared>, query: Params) -> Result<Response, ApiError> {
    let args = Args::new(query);
    let csv = args.csv()?;
    let limit = args.limit(50, if csv { 10_000 } else { 500 })?;
    let mut filter = args.filter()?;
    filter.after = finding_cursor(&args)?;
    let page = finding_page(&state, filter, limit).await?;
    if csv {
        let mut out = String::from(
            "id,aliases,severity,kev,epss,fixable,fixed,package,version,purl,digest,status,first_seen,locations\r\n",
        );
        for row in &page.rows {
            let detail: Value = serde_json::from_str(&row.to_json()).unwrap_or_default();
            let aliases: Vec<&str> = detail["aliases"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let places: Vec<String> = row
                .locations
                .iter()
                .map(drydock_store::LocationRow::short)
                .collect();
            let fields = [
                row.vuln_id.clone(),
                aliases.join(" "),
                row.severity.clone(),
                row.kev.to_string(),
                row.epss.map(|e| e.to_string()).unwrap_or_default(),
                row.fixable.to_string(),
                row.fixed.clone(),
                row.package.clone(),
                row.version.clone(),
                row.purl.clone(),
                row.digest.clone(),
                row.state.clone(),
                drydock_store::rfc3339(row.first_seen),
                places.join(" "),
            ];
            out.push_str(&csv_line(&fields));
        }
        return Ok(csv_response(out, "findings.csv", page.next.as_deref()));
    }
    let mut text = String::from("{\"total\":");
    let _ = write!(text, "{},\"findings\":[", page.total);
    for (index, row) in page.rows.iter().enumerate() {
        if index > 0 {
            text.push(',');
        }
        text.push_str(&row.to_json());
    }
    let next = serde_json::to_string(&page.next).map_err(|_| ApiError::Internal)?;
    let _ = write!(text, "],\"next_cursor\":{next}}}");
    Ok(json_text(text))
}

/// One CSV record (RFC 4180): quoted when needed, CRLF-terminated.
/// A leading `=`, `+`, `-`, `@` is prefixed with `'` (no formulas in
/// spreadsheets from advisory text).
pub(crate) fn csv_line(fields: &[String]) -> String {
    let mut line = String::new();
    for (index, field) in fields.iter().enumerate() {
        if index > 0 {
            line.push(',');
        }
        let mut field = field.clone();
        if field.starts_with(['=', '+', '@'])
            || (field.starts_with('-')
                && field.len() > 1
                && !field[1..].starts_with(|c: char| c.is_ascii_digit()))
        {
            field.insert(0, '\'');
        }
        if field.contains([',', '"', '\n', '\r']) {
            line.push('"');
            line.push_str(&field.replace('"', "\"\""));
            line.push('"');
        } else {
            line.push_str(&field);
        }
    }
    line.push_str("\r\n");
    line
}

pub(crate) fn csv_response(body: String, name: &str, next: Option<&str>) -> Response {
    let mut response = typed("text/csv; charset=utf-8", body);
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    if let Some(next) = next
        && let Ok(value) = HeaderValue::from_str(next)
    {
        response.headers_mut().insert("x-next-cursor", value);
    }
    response
}

pub(crate) async fn vulnerability_page(
    state: &Shared,
    filter: FindingFilter,
    offset: usize,
    limit: usize,
) -> Result<
    (
        Vec<drydock_store::VulnerabilitySummary>,
        i64,
        Option<String>,
    ),
    ApiError,
> {
    let (mut rows, total) = state
        .store(move |store| store.vulnerability_summaries(&filter, offset, limit + 1))
        .await?;
    let next = (rows.len() > limit).then(|| {
        rows.truncate(limit);
        next_offset(offset + limit)
    });
    Ok((rows, total, next))
}

async fn vulnerabilities(
    Extract(state): Extract<Shared>,
    query: Params,
) -> Result<Response, ApiError> {
    let args = Args::new(query);
    let csv = args.csv()?;
    let limit = args.limit(50, if csv { 10_000 } else { 500 })?;
    let filter = args.filter()?;
    let offset = offset_cursor(&args)?;
    let (rows, total, next) = vulnerability_page(&state, filter, offset, limit).await?;
    if csv {
        let mut out = String::from("id,severity,kev,epss,fixable,images,findings,packages\r\n");
        for row in &rows {
            out.push_str(&csv_line(&[
                row.id.clone(),
                row.severity.clone(),
                row.kev.to_string(),
                row.epss.map(|e| e.to_string()).unwrap_or_default(),
                row.fixable.to_string(),
                row.images.to_string(),
                row.findings.to_string(),
                row.packages.join(" "),
            ]));
        }
        return Ok(csv_response(out, "vulnerabilities.csv", next.as_deref()));
    }
    json(&json!({ "total": total, "vulnerabilities": rows, "next_cursor": next }))
}

async fn vulnerability(
    Extract(state): Extract<Shared>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let detail = vulnerability_detail(&state, id).await?;
    json(&detail)
}

/// The advisory (from the highest-priority finding), every affected
/// package, image, workload and pod: the blast radius.
pub(crate) async fn vulnerability_detail(state: &Shared, id: String) -> Result<Value, ApiError> {
    if id.is_empty() || id.len() > 200 {
        return Err(ApiError::BadRequest("not a vulnerability id".to_owned()));
    }
    let filter = FindingFilter {
        vuln: Some(id.clone()),
        include_resolved: true,
        ..FindingFilter::default()
    };
    let rows = state.store(move |store| store.findings(&filter)).await?;
    let Some(first) = rows
        .iter()
        .find(|r| r.state == "open")
        .or_else(|| rows.first())
    else {
        return Err(ApiError::NotFound(
            "no finding of this vulnerability (id or alias) in the fleet".to_owned(),
        ));
    };
    let mut advisory: Value = serde_json::from_str(&first.detail).unwrap_or_default();
    if let Some(object) = advisory.as_object_mut() {
        for key in [
            "package",
            "matched_via",
            "records",
            "state",
            "fixed_versions",
            "suppressed",
        ] {
            object.remove(key);
        }
    }
    let mut packages: BTreeMap<(String, String, String), Value> = BTreeMap::new();
    let mut images: BTreeMap<String, (String, BTreeSet<String>, Vec<drydock_store::LocationRow>)> =
        BTreeMap::new();
    let mut workloads: BTreeMap<(String, String, String, String), BTreeSet<String>> =
        BTreeMap::new();
    let (mut open, mut resolved) = (0, 0);
    for row in &rows {
        if row.state == "open" {
            open += 1;
        } else {
            resolved += 1;
        }
        let detail: Value = serde_json::from_str(&row.detail).unwrap_or_default();
        packages
            .entry((row.package.clone(), row.version.clone(), row.purl.clone()))
            .or_insert_with(|| {
                json!({
                    "name": row.package,
                    "version": row.version,
                    "purl": row.purl,
                    "fixed_versions": detail["fixed_versions"],
                    "state": detail["state"],
                })
            });
        let entry = images
            .entry(row.digest.clone())
            .or_insert_with(|| (row.state.clone(), BTreeSet::new(), row.locations.to_vec()));
        if row.state == "open" {
            "open".clone_into(&mut entry.0);
        }
        entry.1.insert(format!("{} {}", row.package, row.version));
        if row.state != "open" {
            continue;
        }
        for location in row.locations.iter() {
            if location.kind != "kubernetes" {
                continue;
            }
            let pod = location.pod.clone().unwrap_or_default();
            let (kind, name) = match (&location.workload_kind, &location.workload) {
                (Some(kind), Some(name)) => (kind.clone(), name.clone()),
                _ => ("Pod".to_owned(), pod.clone()),
            };
            workloads
                .entry((
                    location.cluster.clone().unwrap_or_default(),
                    location.namespace.clone().unwrap_or_default(),
                    kind,
                    name,
                ))
                .or_default()
                .insert(pod);
        }
    }
    let pods: usize = workloads.values().map(BTreeSet::len).sum();
    Ok(json!({
        "id": first.vuln_id,
        "advisory": advisory,
        "severity": first.severity,
        "kev": first.kev,
        "epss": first.epss,
        "fixable": rows.iter().any(|r| r.fixable),
        "open_findings": open,
        "resolved_findings": resolved,
        "packages": packages.into_values().collect::<Vec<_>>(),
        "images": images.into_iter().map(|(digest, (status, packages, locations))| json!({
            "digest": digest,
            "status": status,
            "packages": packages,
            "locations": locations,
        })).collect::<Vec<_>>(),
        "workloads": workloads.into_iter().map(|((cluster, namespace, kind, name), pods)| json!({
            "cluster": cluster,
            "namespace": namespace,
            "kind": kind,
            "name": name,
            "pods": pods,
        })).collect::<Vec<_>>(),
        "pods": pods,
    }))
}

/// `cluster → namespace → (workload kind, name) → pod → containers`.
pub(crate) type Tree = BTreeMap<
    String,
    BTreeMap<String, BTreeMap<(String, String), BTreeMap<String, Vec<Placement>>>>,
>;

pub(crate) fn tree(placements: Vec<Placement>) -> Tree {
    let mut tree: Tree = BTreeMap::new();
    for placement in placements {
        let location = &placement.location;
        let pod = location.pod.clone().unwrap_or_default();
        let workload = match (&location.workload_kind, &location.workload) {
            (Some(kind), Some(name)) => (kind.clone(), name.clone()),
            _ => ("Pod".to_owned(), pod.clone()),
        };
        tree.entry(location.cluster.clone().unwrap_or_default())
            .or_default()
            .entry(location.namespace.clone().unwrap_or_default())
            .or_default()
            .entry(workload)
            .or_default()
            .entry(pod)
            .or_default()
            .push(placement);
    }
    tree
}

async fn clusters(Extract(state): Extract<Shared>) -> Result<Response, ApiError> {
    let placements = state.store(|store| store.placements(None, None)).await?;
    json(&json!({ "clusters": cluster_rows(placements) }))
}

pub(crate) fn cluster_rows(placements: Vec<Placement>) -> Vec<Value> {
    tree(placements)
        .into_iter()
        .map(|(cluster, namespaces)| {
            let mut workloads = 0;
            let mut pods = 0;
            let mut containers = 0;
            let mut digests = BTreeSet::new();
            for workload in namespaces.values() {
                workloads += workload.len();
                for pod in workload.values() {
                    pods += pod.len();
                    for list in pod.values() {
                        containers += list.len();
                        digests.extend(list.iter().map(|p| p.digest.clone()));
                    }
                }
            }
            json!({
                "name": cluster,
                "namespaces": namespaces.len(),
                "workloads": workloads,
                "pods": pods,
                "containers": containers,
                "images": digests.len(),
            })
        })
        .collect()
}

async fn workloads(Extract(state): Extract<Shared>, query: Params) -> Result<Response, ApiError> {
    let args = Args::new(query);
    let (cluster, namespace) = (args.text("cluster"), args.text("namespace"));
    let placements = state
        .store(move |store| store.placements(cluster.as_deref(), namespace.as_deref()))
        .await?;
    let clusters: Vec<Value> = tree(placements)
        .into_iter()
        .map(|(cluster, namespaces)| {
            json!({
                "name": cluster,
                "namespaces": namespaces.into_iter().map(|(namespace, workloads)| json!({
                    "name": namespace,
                    "workloads": workloads.into_iter().map(|((kind, name), pods)| json!({
                        "kind": kind,
                        "name": name,
                        "pods": pods.into_iter().map(|(pod, containers)| json!({
                            "name": pod,
                            "containers": containers.iter().map(|p| json!({
                                "name": p.location.container,
                                "kind": p.location.container_kind,
                                "image": p.location.reference,
                                "digest": p.digest,
                                "status": p.status,
                                "first_seen": p.location.first_seen,
                                "last_seen": p.location.last_seen,
                            })).collect::<Vec<_>>(),
                        })).collect::<Vec<_>>(),
                    })).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json(&json!({ "clusters": clusters }))
}

pub(crate) fn now() -> Result<i64, ApiError> {
    drydock_ops::fleet::now().map_err(|_| ApiError::Internal)
}

async fn mtt(Extract(state): Extract<Shared>) -> Result<Response, ApiError> {
    let now = now()?;
    let deadlines = state.deadlines.clone();
    let metrics = state
        .store(move |store| store.metrics(&deadlines, now))
        .await?;
    json(&metrics)
}

async fn events(Extract(state): Extract<Shared>, query: Params) -> Result<Response, ApiError> {
    let args = Args::new(query);
    let limit = args.limit(100, 1000)?;
    let since = match args.text("since") {
        None => None,
        Some(text) => Some(drydock_store::parse_time(&text).ok_or_else(|| {
            ApiError::BadRequest("`since` must be an RFC 3339 time or a date".to_owned())
        })?),
    };
    let after = match args.text("cursor") {
        None => 0,
        Some(text) => decode_cursor(&text)?
            .strip_prefix("seq:")
            .and_then(|n| n.parse::<i64>().ok())
            .ok_or_else(|| {
                ApiError::BadRequest("`cursor` is not a cursor this API returned".to_owned())
            })?,
    };
    let mut rows = state
        .store(move |store| store.events_page(since, after, limit + 1))
        .await?;
    let next = (rows.len() > limit).then(|| {
        rows.truncate(limit);
        rows.last()
            .map(|e| encode_cursor(&format!("seq:{}", e.seq)))
    });
    json(&json!({ "events": rows, "next_cursor": next.flatten() }))
}

async fn sources(Extract(state): Extract<Shared>) -> Result<Response, ApiError> {
    let mut rows = state.store(Store::sources).await?;
    for row in &mut rows {
        if let Some(object) = row.config.as_object_mut() {
            for key in ["password", "token", "secret"] {
                if object.contains_key(key) {
                    object.insert(key.into(), "***".into());
                }
            }
        }
    }
    json(&json!({ "sources": rows }))
}

async fn prometheus(Extract(state): Extract<Shared>) -> Result<Response, ApiError> {
    let (open, inventory) = state
        .store(|store| Ok((store.open_counts()?, store.inventory_counts()?)))
        .await?;
    let mut text = String::new();
    let mut emit = |name: &str, kind: &str, help: &str, samples: Vec<String>| {
        let _ = writeln!(text, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for sample in samples {
            let _ = writeln!(text, "{sample}");
        }
    };
    emit(
        "drydock_build_info",
        "gauge",
        "The drydock version serving.",
        vec![format!(
            "drydock_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        )],
    );
    let severities = ["critical", "high", "medium", "low", "negligible", "unknown"];
    emit(
        "drydock_open_findings",
        "gauge",
        "Open findings (image, vulnerability, package) by severity.",
        severities
            .iter()
            .map(|s| {
                format!(
                    "drydock_open_findings{{severity=\"{s}\"}} {}",
                    open.get(*s).copied().unwrap_or(0)
                )
            })
            .collect(),
    );
    emit(
        "drydock_open_findings_kev",
        "gauge",
        "Open findings of vulnerabilities in the CISA KEV catalog.",
        vec![format!(
            "drydock_open_findings_kev {}",
            open.get("kev").copied().unwrap_or(0)
        )],
    );
    emit(
        "drydock_open_vulnerabilities",
        "gauge",
        "Distinct vulnerabilities with an open finding.",
        vec![format!(
            "drydock_open_vulnerabilities {}",
            open.get("vulnerabilities").copied().unwrap_or(0)
        )],
    );
    let mut images = Vec::new();
    let mut sightings = Vec::new();
    for (key, count) in &inventory {
        let parts: Vec<&str> = key.split(':').collect();
        match parts.as_slice() {
            ["images", status, state] => images.push(format!(
                "drydock_images{{status=\"{status}\",state=\"{state}\"}} {count}"
            )),
            ["sightings", kind] => {
                sightings.push(format!("drydock_sightings{{kind=\"{kind}\"}} {count}"));
            }
            _ => {}
        }
    }
    emit(
        "drydock_images",
        "gauge",
        "Images (digests) by analysis status and whether they are still seen.",
        images,
    );
    emit(
        "drydock_sightings",
        "gauge",
        "Places (registry tags, Kubernetes containers) where images are seen now.",
        sightings,
    );
    let requests = state
        .requests
        .snapshot()
        .into_iter()
        .map(|((route, class), count)| {
            format!("drydock_http_requests_total{{route=\"{route}\",code=\"{class}xx\"}} {count}")
        })
        .collect();
    emit(
        "drydock_http_requests_total",
        "counter",
        "HTTP requests served, by route template and status class.",
        requests,
    );
    Ok(typed("text/plain; version=0.0.4; charset=utf-8", text))
}
