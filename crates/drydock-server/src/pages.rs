//! The dashboard's pages. Each reads what the API reads (the same store
//! calls), so a page and the API agree on every number.
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use axum::extract::{Path, State as Extract};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde_json::Value;

use crate::api::{self, Args, Params};
use crate::dashboard::{html_response, page, url_encode};
use crate::http::{ApiError, Shared};

const SEVERITIES: [&str; 6] = ["critical", "high", "medium", "low", "negligible", "unknown"];

/// An error as a page (same status as the API's).
fn error_page(error: ApiError) -> Response {
    let (status, text) = match &error {
        ApiError::BadRequest(message) | ApiError::NotFound(message) => {
            (error_status(&error), message.clone())
        }
        _ => return error.into_response(),
    };
    let mut response = html_response(page(
        "Not found",
        "",
        &html! { h1 { "Sorry" } p role="alert" { (text) } p { a href="/" { "Back to the overview" } } },
    ));
    *response.status_mut() = status;
    response
}

fn error_status(error: &ApiError) -> axum::http::StatusCode {
    match error {
        ApiError::BadRequest(_) => axum::http::StatusCode::BAD_REQUEST,
        _ => axum::http::StatusCode::NOT_FOUND,
    }
}

fn respond(result: Result<Markup, ApiError>) -> Response {
    match result {
        Ok(markup) => html_response(markup),
        Err(error) => error_page(error),
    }
}

/// `1d 4h`, `3h 20m`, `45s`.
fn duration(seconds: Option<i64>) -> String {
    let Some(seconds) = seconds else {
        return "–".to_owned();
    };
    let (days, hours, minutes) = (
        seconds / 86_400,
        seconds % 86_400 / 3600,
        seconds % 3600 / 60,
    );
    if days > 0 {
        format!("{days}d {hours}h")
    } else if hours > 0 {
        format!("{hours}h {minutes}m")
    } else if minutes > 0 {
        format!("{minutes}m")
    } else {
        format!("{seconds}s")
    }
}

fn severity_badge(severity: &str) -> Markup {
    html! { span class={"sev sev-" (severity)} { (severity) } }
}

fn kev_badge(kev: bool) -> Markup {
    html! { @if kev { span.kev title="In the CISA Known Exploited Vulnerabilities catalog" { "KEV" } } }
}

fn short_digest(digest: &str) -> String {
    let hex = digest.split_once(':').map_or(digest, |(_, hex)| hex);
    format!("{}…", hex.get(..12).unwrap_or(hex))
}

fn image_link(digest: &str) -> Markup {
    html! { a.digest href={"/images/" (digest)} title=(digest) { code { (short_digest(digest)) } } }
}

fn vuln_link(id: &str) -> Markup {
    html! { a href={"/vulnerabilities/" (url_encode(id))} { (id) } }
}

/// The open-findings line over time, as SVG (no script).
fn trend_chart(days: &[drydock_store::TrendDay], today: i64) -> Markup {
    let mut open = 0i64;
    let mut series: Vec<(i64, i64)> = days
        .iter()
        .map(|d| {
            open += d.opened - d.resolved;
            (d.day, open)
        })
        .collect();
    if series.is_empty() {
        return html! { p { "No findings recorded yet." } };
    }
    // The line runs on to today at the current count.
    if let Some(&(day, value)) = series.last()
        && today > day
    {
        series.push((today, value));
    }
    let (width, height, pad) = (640.0, 180.0, 30.0);
    let first = series.first().map_or(0, |p| p.0);
    let last = series.last().map_or(0, |p| p.0);
    let max = series.iter().map(|p| p.1).max().unwrap_or(0).max(1);
    let span = (last - first).max(1) as f64;
    let x = |day: i64| pad + (day - first) as f64 / span * (width - 2.0 * pad);
    let y = |value: i64| height - pad - value as f64 / max as f64 * (height - 2.0 * pad);
    let mut points = String::new();
    for (index, (day, value)) in series.iter().enumerate() {
        if index > 0 {
            // A step: the count holds until the next day with events.
            let previous = series.get(index - 1).map_or(0, |p| p.1);
            let _ = write!(points, "{:.1},{:.1} ", x(*day), y(previous));
        }
        let _ = write!(points, "{:.1},{:.1} ", x(*day), y(*value));
    }
    let date = |day: i64| {
        drydock_store::rfc3339(day * 86_400)
            .chars()
            .take(10)
            .collect::<String>()
    };
    let now = series.last().map_or(0, |p| p.1);
    html! {
        figure.chart {
            svg viewBox={"0 0 " (width) " " (height)} role="img"
                aria-label={"Open findings over time: " (now) " now, at most " (max)} {
                title { "Open findings over time" }
                line x1=(pad) y1=(height - pad) x2=(width - pad) y2=(height - pad) class="axis" {}
                line x1=(pad) y1=(pad) x2=(pad) y2=(height - pad) class="axis" {}
                polyline points=(points.trim_end()) class="series" {}
                text x=(pad) y=(height - 8.0) class="label" { (date(first)) }
                text x=(width - pad) y=(height - 8.0) class="label end" { (date(last)) }
                text x=(pad - 4.0) y=(pad + 4.0) class="label end" { (max) }
                text x=(pad - 4.0) y=(height - pad) class="label end" { "0" }
            }
            figcaption { "Open findings per day (opened − resolved, from the event log)" }
        }
    }
}

pub(crate) async fn overview(Extract(state): Extract<Shared>) -> Response {
    respond(overview_page(state).await)
}

/// What the overview shows: fleet-wide aggregates, the costliest page.
pub(crate) struct Overview {
    now: i64,
    counts: BTreeMap<String, i64>,
    trend: Vec<drydock_store::TrendDay>,
    metrics: drydock_store::Metrics,
    inventory: BTreeMap<String, i64>,
}

/// The overview's aggregates, computed at most once per `--cache-seconds`
/// (one computation at a time; concurrent requests wait for it).
async fn overview_data(state: &Shared) -> Result<std::sync::Arc<Overview>, ApiError> {
    let mut slot = state.overview.lock().await;
    if let Some((at, data)) = slot.as_ref()
        && at.elapsed() < state.cache_ttl
    {
        return Ok(std::sync::Arc::clone(data));
    }
    let now = api::now()?;
    let deadlines = state.deadlines.clone();
    let data = state
        .store(move |store| {
            Ok(Overview {
                now,
                counts: store.open_counts()?,
                trend: store.finding_trend()?,
                metrics: store.metrics(&deadlines, now)?,
                inventory: store.inventory_counts()?,
            })
        })
        .await?;
    let data = std::sync::Arc::new(data);
    if !state.cache_ttl.is_zero() {
        *slot = Some((std::time::Instant::now(), std::sync::Arc::clone(&data)));
    }
    Ok(data)
}

async fn overview_page(state: Shared) -> Result<Markup, ApiError> {
    let data = overview_data(&state).await?;
    let (now, counts, trend, metrics, inventory) = (
        data.now,
        &data.counts,
        &data.trend,
        &data.metrics,
        &data.inventory,
    );
    let count = |key: &str| counts.get(key).copied().unwrap_or(0);
    let images: i64 = inventory
        .iter()
        .filter(|(k, _)| k.starts_with("images:") && k.ends_with(":current"))
        .map(|(_, v)| *v)
        .sum();
    let mtt_keys: Vec<&str> = ["all", "kev", "critical", "high", "medium", "low"]
        .into_iter()
        .filter(|k| metrics.mtti.contains_key(*k) || metrics.mttr.contains_key(*k))
        .collect();
    Ok(page(
        "Overview",
        "/",
        &html! {
            h1 { "Fleet overview" }
            section aria-labelledby="open-title" {
                h2 #open-title { "Open findings" }
                ul.cards {
                    li { a href="/vulnerabilities" { span.number #open-total { (count("total")) } span { "open findings" } } }
                    li { a href="/vulnerabilities?kev=true" { span.number #open-kev { (count("kev")) } span { "KEV" } } }
                    @for severity in &SEVERITIES[..4] {
                        li { a href={"/vulnerabilities?severity=" (severity)} {
                            span.number id={"open-" (severity)} { (count(severity)) }
                            span { (severity) }
                        } }
                    }
                    li { div { span.number #open-vulnerabilities { (count("vulnerabilities")) } span { "vulnerabilities" } } }
                    li { a href="/images" { span.number #current-images { (images) } span { "images seen now" } } }
                }
                p.note { "Each severity card counts findings of exactly that severity; its link lists that severity and above." }
            }
            section aria-labelledby="trend-title" {
                h2 #trend-title { "Trend" }
                (trend_chart(trend, now.div_euclid(86_400)))
            }
            section aria-labelledby="mtt-title" {
                h2 #mtt-title { "Time to identify and to remediate" }
                @if mtt_keys.is_empty() {
                    p { "No findings yet." }
                } @else {
                    table {
                        thead { tr { th scope="col" { "" } th scope="col" { "MTTI median" } th scope="col" { "MTTI p90" } th scope="col" { "MTTR median" } th scope="col" { "MTTR p90" } th scope="col" { "remediated" } } }
                        tbody {
                            @for key in &mtt_keys {
                                @let identify = metrics.mtti.get(*key).cloned().unwrap_or_default();
                                @let remediate = metrics.mttr.get(*key).cloned().unwrap_or_default();
                                tr {
                                    th scope="row" { (key) }
                                    td { (duration(identify.median_seconds)) }
                                    td { (duration(identify.p90_seconds)) }
                                    td { (duration(remediate.median_seconds)) }
                                    td { (duration(remediate.p90_seconds)) }
                                    td { (remediate.count) }
                                }
                            }
                        }
                    }
                }
            }
            section aria-labelledby="overdue-title" {
                h2 #overdue-title { "Overdue " span.count #overdue-count { (metrics.overdue.len()) } }
                @if metrics.overdue.is_empty() {
                    p { "No open finding is past its deadline." }
                } @else {
                    div.scroll { table {
                        thead { tr { th scope="col" { "Vulnerability" } th scope="col" { "Severity" } th scope="col" { "Package" } th scope="col" { "Image" } th scope="col" { "Days over" } } }
                        tbody {
                            @for item in metrics.overdue.iter().take(50) {
                                tr {
                                    td { (vuln_link(&item.vulnerability)) " " (kev_badge(item.kev)) }
                                    td { (severity_badge(&item.severity)) }
                                    td { (item.package) }
                                    td { (image_link(&item.digest)) }
                                    td { (item.overdue_days) }
                                }
                            }
                        }
                    } }
                }
            }
        },
    ))
}

pub(crate) async fn clusters(Extract(state): Extract<Shared>) -> Response {
    respond(async {
        let placements = state.store(|store| store.placements(None, None)).await?;
        let rows = api::cluster_rows(placements);
        Ok(page("Clusters", "/clusters", &html! {
            h1 { "Clusters" }
            @if rows.is_empty() {
                p { "No Kubernetes cluster is inventoried (`drydock fleet add cluster`)." }
            } @else {
                div.scroll { table #clusters {
                    thead { tr { th scope="col" { "Cluster" } th scope="col" { "Namespaces" } th scope="col" { "Workloads" } th scope="col" { "Pods" } th scope="col" { "Containers" } th scope="col" { "Images" } } }
                    tbody { @for row in &rows {
                        @let name = row["name"].as_str().unwrap_or_default();
                        tr {
                            th scope="row" { a href={"/clusters/" (url_encode(name))} { (name) } }
                            td { (row["namespaces"]) } td { (row["workloads"]) } td { (row["pods"]) }
                            td { (row["containers"]) } td { (row["images"]) }
                        }
                    } }
                } }
            }
        }))
    }.await)
}

fn breadcrumb(parts: &[(String, Option<String>)]) -> Markup {
    html! {
        nav aria-label="Breadcrumb" { ol.crumbs {
            @for (label, href) in parts {
                li { @if let Some(href) = href { a href=(href) { (label) } } @else { span aria-current="page" { (label) } } }
            }
        } }
    }
}

pub(crate) async fn cluster(
    Extract(state): Extract<Shared>,
    Path(cluster): Path<String>,
) -> Response {
    respond(async {
        let name = cluster.clone();
        let placements = state.store(move |store| store.placements(Some(&name), None)).await?;
        let tree = api::tree(placements);
        let Some(namespaces) = tree.get(&cluster) else {
            return Err(ApiError::NotFound("no such cluster in the fleet".to_owned()));
        };
        Ok(page(&cluster, "/clusters", &html! {
            (breadcrumb(&[("Clusters".to_owned(), Some("/clusters".to_owned())), (cluster.clone(), None)]))
            h1 { "Cluster " (cluster) }
            div.scroll { table {
                thead { tr { th scope="col" { "Namespace" } th scope="col" { "Workloads" } th scope="col" { "Pods" } th scope="col" { "Images" } } }
                tbody { @for (namespace, workloads) in namespaces {
                    @let pods: usize = workloads.values().map(BTreeMap::len).sum();
                    @let images: BTreeSet<&str> = workloads.values().flat_map(|p| p.values().flatten().map(|c| c.digest.as_str())).collect();
                    tr {
                        th scope="row" { a href={"/clusters/" (url_encode(&cluster)) "/" (url_encode(namespace))} { (namespace) } }
                        td { (workloads.len()) } td { (pods) } td { (images.len()) }
                    }
                } }
            } }
        }))
    }.await)
}

pub(crate) async fn namespace(
    Extract(state): Extract<Shared>,
    Path((cluster, namespace)): Path<(String, String)>,
) -> Response {
    respond(async {
        let (c, n) = (cluster.clone(), namespace.clone());
        let placements = state.store(move |store| store.placements(Some(&c), Some(&n))).await?;
        let digests: BTreeSet<String> = placements.iter().map(|p| p.digest.clone()).collect();
        let tree = api::tree(placements);
        let Some(workloads) = tree.get(&cluster).and_then(|c| c.get(&namespace)) else {
            return Err(ApiError::NotFound("no such namespace in the fleet".to_owned()));
        };
        let counts = state
            .store(move |store| {
                let mut out = BTreeMap::new();
                for digest in digests {
                    if let Some(summary) = store.image_summary(&digest)? {
                        out.insert(digest, summary.findings);
                    }
                }
                Ok(out)
            })
            .await?;
        Ok(page(&format!("{cluster}/{namespace}"), "/clusters", &html! {
            (breadcrumb(&[
                ("Clusters".to_owned(), Some("/clusters".to_owned())),
                (cluster.clone(), Some(format!("/clusters/{}", url_encode(&cluster)))),
                (namespace.clone(), None),
            ]))
            h1 { "Namespace " (namespace) }
            @for ((kind, name), pods) in workloads {
                section.workload aria-label={(kind) " " (name)} {
                    h2 { span.kind { (kind) } " " (name) }
                    div.scroll { table {
                        thead { tr { th scope="col" { "Pod" } th scope="col" { "Container" } th scope="col" { "Image" } th scope="col" { "Digest" } th scope="col" { "Open findings" } } }
                        tbody { @for (pod, containers) in pods { @for container in containers {
                            @let findings = counts.get(&container.digest).cloned().unwrap_or_default();
                            @let total: i64 = SEVERITIES.iter().map(|s| findings.get(*s).copied().unwrap_or(0)).sum();
                            tr data-pod=(pod) {
                                td { (pod) }
                                td { (container.location.container.clone().unwrap_or_default())
                                     @if let Some(kind) = &container.location.container_kind { @if kind != "container" { " (" (kind) ")" } } }
                                td { code { (container.location.reference) } }
                                td { (image_link(&container.digest)) }
                                td { a href={"/vulnerabilities?image=" (url_encode(&container.digest))} { (total) } " " (kev_badge(findings.get("kev").copied().unwrap_or(0) > 0)) }
                            }
                        } } }
                    } }
                }
            }
        }))
    }.await)
}

pub(crate) async fn images(Extract(state): Extract<Shared>, query: Params) -> Response {
    respond(async {
        let args = Args::new(query);
        let after = args.text("after");
        let limit = 100;
        let after_db = after.clone();
        let mut rows = state.store(move |store| store.images_page(after_db.as_deref(), limit + 1)).await?;
        let more = rows.len() > limit;
        rows.truncate(limit);
        Ok(page("Images", "/images", &html! {
            h1 { "Images" }
            div.scroll { table #images {
                thead { tr { th scope="col" { "Digest" } th scope="col" { "Seen at" } th scope="col" { "Distro" } th scope="col" { "Packages" } th scope="col" { "Critical" } th scope="col" { "High" } th scope="col" { "KEV" } th scope="col" { "Status" } } }
                tbody { @for image in &rows {
                    tr {
                        td { (image_link(&image.digest)) }
                        td { @for location in image.locations.iter().take(3) { div { (location.short()) } } @if image.locations.len() > 3 { div { "+ " (image.locations.len() - 3) " more" } } }
                        td { (image.distro.clone().unwrap_or_default()) }
                        td { (image.packages) }
                        td { (image.findings.get("critical").copied().unwrap_or(0)) }
                        td { (image.findings.get("high").copied().unwrap_or(0)) }
                        td { (image.findings.get("kev").copied().unwrap_or(0)) }
                        td { (image.status) @if image.gone_at.is_some() { " (gone)" } }
                    }
                } }
            } }
            @if more { @if let Some(last) = rows.last() {
                p { a rel="next" href={"/images?after=" (url_encode(&last.digest))} { "Next page" } }
            } }
        }))
    }.await)
}

pub(crate) async fn image(
    Extract(state): Extract<Shared>,
    Path(digest): Path<String>,
    query: Params,
) -> Response {
    respond(async {
        let args = Args::new(query);
        let detail = api::image_detail(&state, digest.clone()).await?;
        let analysed = detail["status"] == "analysed";
        let (q, kind) = (args.text("q"), args.text("kind"));
        let packages = if analysed {
            api::package_list(&state, digest.clone(), q.clone(), kind.clone()).await?
        } else {
            Vec::new()
        };
        let filter = drydock_store::FindingFilter { image: Some(digest.clone()), ..Default::default() };
        let findings = api::finding_page(&state, filter, 200).await?;
        let kinds: Vec<String> = detail["package_kinds"].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
        let locations = detail["locations"].as_array().cloned().unwrap_or_default();
        Ok(page(&short_digest(&digest), "/images", &html! {
            (breadcrumb(&[("Images".to_owned(), Some("/images".to_owned())), (short_digest(&digest), None)]))
            h1 { "Image " code.wrap { (digest) } }
            dl.facts {
                dt { "Status" } dd { (detail["status"].as_str().unwrap_or_default()) @if let Some(reason) = detail["reason"].as_str() { " — " (reason) } }
                @if let Some(distro) = detail["distro"].as_str() { dt { "Distro" } dd { (distro) } }
                @if let Some(platform) = detail["platform"].as_str() { dt { "Platform" } dd { (platform) } }
                dt { "Packages" } dd #package-count { (detail["packages"]) }
                dt { "Layers" } dd { (detail["layers"].as_array().map_or(0, Vec::len)) }
                dt { "Open findings" } dd #image-findings { (findings.total) }
                dt { "First seen" } dd { (detail["first_seen"].as_str().unwrap_or_default()) }
            }
            @if analysed {
                p.downloads {
                    "SBOM: "
                    a #sbom-cyclonedx href={"/api/v1/images/" (digest) "/sbom?format=cyclonedx-json"} download { "CycloneDX JSON" }
                    " · "
                    a #sbom-spdx href={"/api/v1/images/" (digest) "/sbom?format=spdx-json"} download { "SPDX JSON" }
                }
            }
            section aria-labelledby="where-title" {
                h2 #where-title { "Where it runs" }
                @if locations.is_empty() { p { "Not seen anywhere now." } } @else {
                    ul.places { @for location in &locations {
                        li {
                            @if location["kind"] == "kubernetes" {
                                @let cluster = location["cluster"].as_str().unwrap_or_default();
                                @let namespace = location["namespace"].as_str().unwrap_or_default();
                                a href={"/clusters/" (url_encode(cluster)) "/" (url_encode(namespace))} { (cluster) "/" (namespace) }
                                " " (location["workload_kind"].as_str().unwrap_or("Pod")) " " (location["workload"].as_str().unwrap_or_default())
                                " pod " span.pod { (location["pod"].as_str().unwrap_or_default()) }
                                " container " (location["container"].as_str().unwrap_or_default())
                            } @else {
                                "registry " code { (location["reference"].as_str().unwrap_or_default()) }
                            }
                        }
                    } }
                }
            }
            section aria-labelledby="findings-title" {
                h2 #findings-title { "Findings" }
                (finding_table(&findings.rows))
                @if findings.next.is_some() { p { a href={"/vulnerabilities?image=" (url_encode(&digest))} { "All findings of this image" } } }
            }
            @if analysed {
                section aria-labelledby="packages-title" {
                    h2 #packages-title { "Packages" }
                    form.filters method="get" action={"/images/" (digest)} role="search" {
                        label for="package-q" { "Name contains" }
                        input #package-q type="search" name="q" value=(q.clone().unwrap_or_default());
                        label for="package-kind" { "Kind" }
                        select #package-kind name="kind" data-autosubmit {
                            option value="" { "any" }
                            @for k in &kinds { option value=(k) selected[kind.as_deref() == Some(k.as_str())] { (k) } }
                        }
                        button type="submit" { "Filter" }
                    }
                    p { span #package-shown { (packages.len()) } " packages shown" }
                    div.scroll { table #packages {
                        thead { tr { th scope="col" { "Name" } th scope="col" { "Version" } th scope="col" { "Kind" } th scope="col" { "Licenses" } th scope="col" { "Layer" } } }
                        tbody { @for package in &packages {
                            tr {
                                td { (package["name"].as_str().unwrap_or_default()) }
                                td { (package["version"].as_str().unwrap_or_default()) }
                                td { (package["kind"].as_str().unwrap_or_default()) }
                                td { @if let Some(list) = package["licenses"].as_array() { (list.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")) } }
                                td { (package["layer"]) }
                            }
                        } }
                    } }
                }
            }
        }))
    }.await)
}

/// `registry host/repo:tag` or `cluster/namespace pod/container`.
fn place(location: &Value) -> String {
    let text = |key: &str| location[key].as_str().unwrap_or_default().to_owned();
    if location["kind"] == "kubernetes" {
        format!(
            "{}/{} pod {} container {}",
            text("cluster"),
            text("namespace"),
            text("pod"),
            text("container")
        )
    } else {
        format!("registry {}", text("reference"))
    }
}

fn finding_table(rows: &[drydock_store::FindingRow]) -> Markup {
    html! {
        @if rows.is_empty() { p { "No open findings." } } @else {
            div.scroll { table.findings {
                thead { tr { th scope="col" { "Vulnerability" } th scope="col" { "Severity" } th scope="col" { "EPSS" } th scope="col" { "Package" } th scope="col" { "Fixed in" } } }
                tbody { @for row in rows {
                    tr {
                        td { (vuln_link(&row.vuln_id)) " " (kev_badge(row.kev)) }
                        td { (severity_badge(&row.severity)) }
                        td { @if let Some(epss) = row.epss { (format!("{epss:.3}")) } }
                        td { (row.package) " " (row.version) }
                        td { (row.fixed) }
                    }
                } }
            } }
        }
    }
}

/// The query string of `args`' filters (for links that keep them).
fn filter_query(args: &Args, extra: &[(&str, String)]) -> String {
    let mut parts = Vec::new();
    for name in [
        "q",
        "severity",
        "kev",
        "fixable",
        "cluster",
        "namespace",
        "image",
        "package",
        "status",
    ] {
        if let Some(value) = args.text(name) {
            parts.push(format!("{name}={}", url_encode(&value)));
        }
    }
    for (name, value) in extra {
        parts.push(format!("{name}={}", url_encode(value)));
    }
    parts.join("&")
}

pub(crate) async fn vulnerabilities(Extract(state): Extract<Shared>, query: Params) -> Response {
    respond(async {
        let args = Args::new(query);
        let filter = args.filter()?;
        let offset = api::offset_cursor(&args)?;
        let (rows, total, next) = api::vulnerability_page(&state, filter.clone(), offset, 50).await?;
        let text = |name: &str| args.text(name).unwrap_or_default();
        let severity = args.text("severity");
        let export = filter_query(&args, &[]);
        Ok(page("Vulnerabilities", "/vulnerabilities", &html! {
            h1 { "Vulnerabilities" }
            form.filters method="get" action="/vulnerabilities" role="search" aria-label="Filter vulnerabilities" {
                label for="q" { "Search" }
                input #q type="search" name="q" value=(text("q")) placeholder="CVE, GHSA, package, image, pod";
                label for="severity" { "Severity at least" }
                select #severity name="severity" data-autosubmit {
                    option value="" { "any" }
                    @for s in ["critical", "high", "medium", "low", "negligible"] { option value=(s) selected[severity.as_deref() == Some(s)] { (s) } }
                }
                label.check { input #kev type="checkbox" name="kev" value="true" checked[filter.kev] data-autosubmit; " KEV only" }
                label.check { input #fixable type="checkbox" name="fixable" value="true" checked[filter.fixable] data-autosubmit; " fixable only" }
                details open[filter.cluster.is_some() || filter.namespace.is_some() || filter.image.is_some() || filter.package.is_some()] {
                    summary { "More filters" }
                    label for="cluster" { "Cluster" } input #cluster type="text" name="cluster" value=(text("cluster"));
                    label for="namespace" { "Namespace" } input #namespace type="text" name="namespace" value=(text("namespace"));
                    label for="image" { "Image" } input #image type="text" name="image" value=(text("image"));
                    label for="package" { "Package" } input #package type="text" name="package" value=(text("package"));
                }
                button type="submit" { "Apply" }
            }
            p {
                span #vuln-total { (total) } " vulnerabilities, highest priority first (KEV, severity, EPSS, fix available). Export: "
                a #export-csv href={"/api/v1/vulnerabilities?" (export) "&format=csv&limit=10000"} { "CSV" } " · "
                a #export-json href={"/api/v1/vulnerabilities?" (export) "&limit=500"} { "JSON" } " · "
                a href={"/api/v1/findings?" (export) "&format=csv&limit=10000"} { "findings CSV" }
            }
            div.scroll { table #vulnerabilities {
                thead { tr { th scope="col" { "Vulnerability" } th scope="col" { "Severity" } th scope="col" { "EPSS" } th scope="col" { "Fix" } th scope="col" { "Images" } th scope="col" { "Findings" } th scope="col" { "Packages" } } }
                tbody { @for row in &rows {
                    tr {
                        td { (vuln_link(&row.id)) " " (kev_badge(row.kev)) }
                        td { (severity_badge(&row.severity)) }
                        td { @if let Some(epss) = row.epss { (format!("{epss:.3}")) } }
                        td { @if row.fixable { "yes" } @else { "no" } }
                        td { (row.images) }
                        td { (row.findings) }
                        td { (row.packages.join(", ")) }
                    }
                } }
            } }
            @if let Some(next) = next {
                p { a rel="next" href={"/vulnerabilities?" (filter_query(&args, &[("cursor", next)]))} { "Next page" } }
            }
        }))
    }.await)
}

pub(crate) async fn vulnerability(
    Extract(state): Extract<Shared>,
    Path(id): Path<String>,
) -> Response {
    respond(async {
        let detail = api::vulnerability_detail(&state, id).await?;
        let advisory = &detail["advisory"];
        let id = detail["id"].as_str().unwrap_or_default().to_owned();
        let strings = |value: &Value| -> Vec<String> {
            value.as_array().map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()).unwrap_or_default()
        };
        Ok(page(&id, "/vulnerabilities", &html! {
            (breadcrumb(&[("Vulnerabilities".to_owned(), Some("/vulnerabilities".to_owned())), (id.clone(), None)]))
            h1 { (id) " " (severity_badge(detail["severity"].as_str().unwrap_or("unknown"))) " " (kev_badge(detail["kev"] == true)) }
            @let aliases = strings(&advisory["aliases"]);
            @if !aliases.is_empty() { p { "Also known as " (aliases.join(", ")) } }
            @if let Some(summary) = advisory["summary"].as_str() { p.summary { (summary) } }
            dl.facts {
                dt { "Severity" } dd { (detail["severity"].as_str().unwrap_or_default()) @if let Some(source) = advisory["severity_source"].as_str() { " (" (source) ")" } }
                @if let Some(vector) = advisory["cvss"]["vector"].as_str() { dt { "CVSS" } dd { code { (vector) } @if let Some(score) = advisory["cvss"]["score"].as_f64() { " " (score) } } }
                @for vector in advisory["cvss_vectors"].as_array().into_iter().flatten() {
                    @if let Some(text) = vector["vector"].as_str().filter(|v| Some(*v) != advisory["cvss"]["vector"].as_str()) { dt { "Vector" } dd { code { (text) } @if let Some(by) = vector["provider"].as_str() { " by " (by) } } }
                }
                dt { "KEV" } dd { @if detail["kev"] == true { "yes" @if let Some(added) = advisory["kev"]["date_added"].as_str() { ", added " (added) } } @else { "no" } }
                dt { "EPSS" } dd { @if let Some(score) = detail["epss"].as_f64() { (format!("{score:.4}")) } @else { "–" } }
                @if let Some(published) = advisory["published"].as_str() { dt { "Published" } dd { (published) } }
                dt { "Open findings" } dd #vuln-open { (detail["open_findings"]) }
                dt { "Pods" } dd #vuln-pods { (detail["pods"]) }
            }
            section aria-labelledby="packages-title" {
                h2 #packages-title { "Affected packages" }
                div.scroll { table {
                    thead { tr { th scope="col" { "Package" } th scope="col" { "Version" } th scope="col" { "Fixed versions" } } }
                    tbody { @for package in detail["packages"].as_array().into_iter().flatten() {
                        tr {
                            td { (package["name"].as_str().unwrap_or_default()) }
                            td { (package["version"].as_str().unwrap_or_default()) }
                            td { @let fixed = strings(&package["fixed_versions"]); @if fixed.is_empty() { "none known" } @else { (fixed.join(", ")) } }
                        }
                    } }
                } }
            }
            section aria-labelledby="runs-title" {
                h2 #runs-title { "Where it runs" }
                @let workloads = detail["workloads"].as_array().cloned().unwrap_or_default();
                @if !workloads.is_empty() {
                    div.scroll { table #workloads {
                        thead { tr { th scope="col" { "Cluster / namespace" } th scope="col" { "Workload" } th scope="col" { "Pods" } } }
                        tbody { @for workload in &workloads {
                            @let cluster = workload["cluster"].as_str().unwrap_or_default();
                            @let namespace = workload["namespace"].as_str().unwrap_or_default();
                            tr {
                                td { a href={"/clusters/" (url_encode(cluster)) "/" (url_encode(namespace))} { (cluster) "/" (namespace) } }
                                td { (workload["kind"].as_str().unwrap_or_default()) " " (workload["name"].as_str().unwrap_or_default()) }
                                td { @for pod in strings(&workload["pods"]) { a.pod href={"/clusters/" (url_encode(cluster)) "/" (url_encode(namespace)) "#pod-" (pod)} { (pod) } " " } }
                            }
                        } }
                    } }
                }
                div.scroll { table #affected-images {
                    thead { tr { th scope="col" { "Image" } th scope="col" { "Status" } th scope="col" { "Packages" } th scope="col" { "Seen at" } } }
                    tbody { @for image in detail["images"].as_array().into_iter().flatten() {
                        tr {
                            td { (image_link(image["digest"].as_str().unwrap_or_default())) }
                            td { (image["status"].as_str().unwrap_or_default()) }
                            td { (strings(&image["packages"]).join(", ")) }
                            td { @for location in image["locations"].as_array().into_iter().flatten() { div { (place(location)) } } }
                        }
                    } }
                } }
            }
            @let references = strings(&advisory["references"]);
            @if !references.is_empty() {
                section aria-labelledby="refs-title" {
                    h2 #refs-title { "References" }
                    ul { @for reference in references.iter().take(20) { li { a href=(reference) rel="noreferrer noopener" { (reference) } } } }
                }
            }
        }))
    }.await)
}
