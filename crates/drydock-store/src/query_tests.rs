//! Findings pages against an order computed here from the rows inserted:
//! every filter path (match by match, one sorted query), paged with the
//! cursor at several page sizes, gives exactly the unpaged list, and the
//! count is right; on SQLite and PostgreSQL.
use std::cmp::Reverse;

use drydock_vuln::SeverityLevel;

use super::{FindingFilter, PLAN_IMAGES};
use crate::{Store, StoreUrl, params};

/// xorshift64*: reproducible.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

struct Image {
    id: i64,
    digest: String,
    namespace: String,
    pod: String,
}
struct Package {
    id: i64,
    name: String,
    version: String,
    purl: String,
}
struct Match {
    id: i64,
    package: usize,
    vuln: String,
    alias: String,
    kev: i64,
    rank: i64,
    epss: Option<f64>,
    fixable: i64,
    /// The stored scan finding.
    detail: String,
}
struct Finding {
    id: i64,
    image: usize,
    matched: usize,
    open: bool,
    first_seen: i64,
}
struct Fleet {
    images: Vec<Image>,
    packages: Vec<Package>,
    matches: Vec<Match>,
    findings: Vec<Finding>,
}

/// A small fleet with ties everywhere: packages sharing name, version and
/// purl (two identities), matches sharing every key but the id, EPSS
/// unknown or equal, resolved findings, images found by free text.
fn fill(store: &mut Store) -> Fleet {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let conn = store.conn();
    let mut fleet = Fleet {
        images: Vec::new(),
        packages: Vec::new(),
        matches: Vec::new(),
        findings: Vec::new(),
    };
    for n in 0..40 {
        let digest = format!("sha256:{:064x}", (n * 7919 + 13) % 1000);
        conn.execute(
            "INSERT INTO images (digest, status, first_seen, last_seen, group_key, layer_count, \
             package_count) VALUES ($1, 'analysed', 0, 0, 'g', 1, 1)",
            &params![digest.as_str()],
        )
        .unwrap();
        let id = conn
            .query_one(
                "SELECT id FROM images WHERE digest = $1",
                &params![digest.as_str()],
            )
            .unwrap()
            .unwrap()
            .int(0);
        let namespace = format!("ns{}", n % 3);
        let pod = format!(
            "pod-{}-{}",
            ["web", "db", "queue", "batch"][n as usize % 4],
            n
        );
        conn.execute(
            "INSERT INTO sightings (source, key, image_id, kind, reference, cluster, namespace, \
             workload, pod, first_seen, last_seen) VALUES ('k', $1, $2, 'kubernetes', $3, 'c', $4, \
             $5, $6, 0, 0)",
            &params![
                format!("key{n}"),
                id,
                format!("registry.test/app{n}:1"),
                namespace.as_str(),
                format!("w{n}"),
                pod.as_str()
            ],
        )
        .unwrap();
        fleet.images.push(Image {
            id,
            digest,
            namespace,
            pod,
        });
    }
    let names = ["alpha", "Beta", "gamma-lib", "libalpha", "zeta"];
    for n in 0..12 {
        let name = names[n % names.len()];
        // Identities 0 and 5, 1 and 6 share name, version and purl.
        let version = format!("1.{}", n % 5 % 3);
        let purl = format!("pkg:generic/{name}@{version}");
        conn.execute(
            "INSERT INTO packages (identity, kind, name, version, purl) VALUES ($1, 'generic', $2, $3, $4)",
            &params![format!("identity{n}"), name, version.as_str(), purl.as_str()],
        )
        .unwrap();
        let id = conn
            .query_one(
                "SELECT id FROM packages WHERE identity = $1",
                &params![format!("identity{n}")],
            )
            .unwrap()
            .unwrap()
            .int(0);
        fleet.packages.push(Package {
            id,
            name: name.to_owned(),
            version,
            purl,
        });
    }
    let epss_values = [None, Some(0.5), Some(0.25), Some(0.5), Some(0.0)];
    for n in 0..60 {
        let package = rng.below(fleet.packages.len() as u64) as usize;
        let vuln = format!("CVE-2024-{:04}", rng.below(8));
        let group = format!("g{}", n % 2);
        let kev = i64::from(rng.below(4) == 0);
        let rank = rng.below(3) as i64 + 3;
        let epss = epss_values[rng.below(epss_values.len() as u64) as usize];
        let fixable = rng.below(2) as i64;
        let stored = detail(&vuln, &fleet.packages[package].name, n);
        let done = conn
            .execute(
                "INSERT INTO matches (group_key, package_id, vuln_id, active, severity, severity_rank, \
                 kev, epss, fixable, fixed, detail, detail_hash, updated_at) VALUES ($1, $2, $3, 1, \
                 'high', $4, $5, $6, $7, '', $8, '', 0) ON CONFLICT DO NOTHING",
                &params![
                    group.as_str(),
                    fleet.packages[package].id,
                    vuln.as_str(),
                    rank,
                    kev,
                    epss,
                    fixable,
                    stored.as_str()
                ],
            )
            .unwrap();
        if done == 0 {
            continue;
        }
        let id = conn
            .query_one(
                "SELECT id FROM matches WHERE group_key = $1 AND package_id = $2 AND vuln_id = $3",
                &params![group.as_str(), fleet.packages[package].id, vuln.as_str()],
            )
            .unwrap()
            .unwrap()
            .int(0);
        let alias = format!("GHSA-{}", &vuln[9..]);
        for vid in [vuln.as_str(), alias.as_str()] {
            conn.execute(
                "INSERT INTO match_ids (vid, match_id) VALUES ($1, $2)",
                &params![vid, id],
            )
            .unwrap();
        }
        fleet.matches.push(Match {
            id,
            package,
            vuln,
            alias,
            kev,
            rank,
            epss,
            fixable,
            detail: stored,
        });
    }
    for (m, matched) in fleet.matches.iter().enumerate() {
        for (i, image) in fleet.images.iter().enumerate() {
            if rng.below(3) != 0 {
                continue;
            }
            let open = rng.below(5) != 0;
            let first_seen = 1_700_000_000 + rng.below(1_000_000) as i64;
            let (resolved_at, cause) = if open {
                (None, None)
            } else {
                (Some(first_seen + 86_400), Some(CAUSE))
            };
            conn.execute(
                "INSERT INTO findings (image_id, match_id, state, first_seen, resolved_at, cause) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &params![
                    image.id,
                    matched.id,
                    if open { "open" } else { "resolved" },
                    first_seen,
                    resolved_at,
                    cause
                ],
            )
            .unwrap();
            // The package's files in the image: none, one, or two (the
            // first in byte order is the finding's).
            let package = fleet.packages[matched.package].id;
            for location in package_files(i, matched.package) {
                conn.execute(
                    "INSERT INTO image_packages (image_id, package_id, location, layer, matchable) \
                     VALUES ($1, $2, $3, 0, 1) ON CONFLICT DO NOTHING",
                    &params![image.id, package, location.as_str()],
                )
                .unwrap();
            }
            let id = conn
                .query_one(
                    "SELECT id FROM findings WHERE image_id = $1 AND match_id = $2",
                    &params![image.id, matched.id],
                )
                .unwrap()
                .unwrap()
                .int(0);
            fleet.findings.push(Finding {
                id,
                image: i,
                matched: m,
                open,
                first_seen,
            });
        }
    }
    fleet
}

/// The cause of every resolved finding (quoted, as JSON must escape).
const CAUSE: &str = "fixed \"by\" a new digest";

/// A stored scan finding (serde's compact form) or, for some matches, an
/// empty one.
fn detail(vuln: &str, package: &str, n: u64) -> String {
    if n % 4 == 3 {
        return "{}".to_owned();
    }
    // In the order of the scan's Finding fields: the package, then what
    // it was matched as.
    format!(
        "{{\"id\":\"{vuln}\",\"package\":{{\"name\":\"{package}\",\"version\":\"1\",\
         \"purl\":\"pkg:generic/{package}@1\"}},\"matched_via\":{{\"name\":\"{package}\"}},\
         \"severity\":\"high\"}}"
    )
}

/// The files of package `package` in image `image` (empty: no file).
fn package_files(image: usize, package: usize) -> Vec<String> {
    match (image + package) % 3 {
        0 => vec![String::new()],
        1 => vec![
            format!("/usr/lib/p{package}/b-{image}"),
            format!("/usr/lib/p{package}/a \"{image}\""),
        ],
        _ => vec![format!("/opt/p{package}/{image}.json")],
    }
}

/// The finding ids `filter` selects, in priority order, computed here.
fn expected(fleet: &Fleet, filter: &FindingFilter) -> Vec<i64> {
    let mut rows: Vec<_> = fleet
        .findings
        .iter()
        .filter(|f| {
            let m = &fleet.matches[f.matched];
            let p = &fleet.packages[m.package];
            let image = &fleet.images[f.image];
            (filter.include_resolved || f.open)
                && filter.vuln.as_ref().is_none_or(|v| {
                    let v = v.to_ascii_uppercase();
                    m.vuln == v || m.alias == v
                })
                && filter.severity.is_none_or(|s| m.rank >= s as i64)
                && (!filter.kev || m.kev == 1)
                && filter.package.as_ref().is_none_or(|n| &p.name == n)
                && filter
                    .namespace
                    .as_ref()
                    .is_none_or(|n| &image.namespace == n)
                && filter.q.as_ref().is_none_or(|q| {
                    let q = q.to_lowercase();
                    m.vuln.to_lowercase().contains(&q)
                        || m.alias.to_lowercase().contains(&q)
                        || p.name.to_lowercase().contains(&q)
                        || image.digest.contains(&q)
                        || image.pod.to_lowercase().contains(&q)
                        || format!("registry.test/app{}:1", f.image).contains(&q)
                        || format!("w{}", f.image).contains(&q)
                })
        })
        .collect();
    rows.sort_by(|a, b| {
        let key = |f: &Finding| {
            let m = &fleet.matches[f.matched];
            let p = &fleet.packages[m.package];
            (
                Reverse(m.kev),
                Reverse(m.rank),
                Reverse(ordered(m.epss.unwrap_or(-1.0))),
                Reverse(m.fixable),
                p.name.clone(),
                p.version.clone(),
                p.purl.clone(),
                m.vuln.clone(),
                f.id,
            )
        };
        key(a).cmp(&key(b))
    });
    rows.iter().map(|f| f.id).collect()
}

/// An EPSS as an integer that sorts the same (they are in [-1, 1]).
fn ordered(epss: f64) -> i64 {
    (epss * 1e9) as i64
}

fn check(store: &mut Store, fleet: &Fleet, filter: &FindingFilter) {
    let want = expected(fleet, filter);
    let rows = store.findings(filter).unwrap();
    let all: Vec<i64> = rows.iter().map(|r| r.id).collect();
    assert_eq!(all, want, "unpaged, {filter:?}");
    for row in &rows {
        check_row(fleet, row);
    }
    assert_eq!(
        store.count_findings(filter).unwrap(),
        want.len() as i64,
        "{filter:?}"
    );
    // Every boundary on SQLite; on PostgreSQL, where each page is a few
    // round trips, every third and seventh (the test's slowest part).
    let limits = match store.backend() {
        crate::Backend::Sqlite => [1, 7, 50],
        crate::Backend::Postgres => [3, 7, 50],
    };
    for limit in limits {
        let mut paged = Vec::new();
        let mut page = FindingFilter {
            limit: Some(limit),
            ..filter.clone()
        };
        loop {
            let (rows, total) = store.findings_with_total(&page).unwrap();
            assert_eq!(total, want.len() as i64, "total, {page:?}");
            assert!(rows.len() <= limit);
            let Some(last) = rows.last() else { break };
            // Through JSON, as the API's cursor goes.
            let cursor = serde_json::to_string(&last.cursor()).unwrap();
            page.after = Some(serde_json::from_str(&cursor).unwrap());
            paged.extend(rows.iter().map(|r| r.id));
            assert!(paged.len() <= want.len(), "paging does not end, {filter:?}");
        }
        assert_eq!(paged, want, "paged by {limit}, {filter:?}");
    }
}

/// Every field of `row` is that of the finding inserted, and its JSON is
/// the stored detail with the fleet's fields.
fn check_row(fleet: &Fleet, row: &super::FindingRow) {
    let finding = fleet.findings.iter().find(|f| f.id == row.id).unwrap();
    let image = &fleet.images[finding.image];
    let matched = &fleet.matches[finding.matched];
    let package = &fleet.packages[matched.package];
    assert_eq!(row.digest, image.digest);
    assert_eq!(row.state, if finding.open { "open" } else { "resolved" });
    assert_eq!(row.first_seen, finding.first_seen);
    assert_eq!(
        row.resolved_at,
        (!finding.open).then_some(finding.first_seen + 86_400)
    );
    assert_eq!(row.cause.as_deref(), (!finding.open).then_some(CAUSE));
    assert_eq!(row.vuln_id, matched.vuln);
    assert_eq!(row.kev, matched.kev == 1);
    assert_eq!(row.severity_rank, matched.rank);
    assert_eq!(row.epss, matched.epss);
    assert_eq!(
        (&row.package, &row.version),
        (&package.name, &package.version)
    );
    assert_eq!(row.purl, package.purl);
    let file = package_files(finding.image, matched.package)
        .into_iter()
        .min()
        .filter(|f| !f.is_empty());
    assert_eq!(row.location, file, "{}", row.id);
    let pods: Vec<Option<&str>> = row.locations.iter().map(|l| l.pod.as_deref()).collect();
    assert_eq!(pods, [Some(image.pod.as_str())]);

    // The JSON: the fleet's fields, keys in byte order, then the stored
    // finding with the package's file.
    let text = row.to_json();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let head = serde_json::json!({
        "digest": row.digest,
        "status": row.state,
        "first_seen": crate::rfc3339(row.first_seen),
        "resolved_at": row.resolved_at.map(crate::rfc3339),
        "resolution": row.cause,
        "locations": row.locations.to_vec(),
    })
    .to_string();
    assert!(
        text.starts_with(head.strip_suffix('}').unwrap()),
        "{text}\n{head}"
    );
    let mut want: serde_json::Value = serde_json::from_str(&head).unwrap();
    let stored: serde_json::Value = serde_json::from_str(&matched.detail).unwrap();
    for (key, value) in stored.as_object().unwrap() {
        want[key] = value.clone();
    }
    if let (Some(file), Some(_)) = (&row.location, want.get("package")) {
        want["package"]["location"] = file.as_str().into();
    }
    assert_eq!(json, want, "{text}");
}

fn filters(fleet: &Fleet) -> Vec<FindingFilter> {
    let mut out = vec![
        FindingFilter::default(),
        FindingFilter {
            include_resolved: true,
            ..FindingFilter::default()
        },
        FindingFilter {
            severity: Some(SeverityLevel::High),
            ..FindingFilter::default()
        },
        FindingFilter {
            kev: true,
            namespace: Some("ns1".to_owned()),
            ..FindingFilter::default()
        },
    ];
    for vuln in [
        "cve-2024-0003",
        "ghsa-0005",
        "CVE-2024-0000",
        "CVE-1999-0000",
    ] {
        out.push(FindingFilter {
            vuln: Some(vuln.to_owned()),
            ..FindingFilter::default()
        });
        out.push(FindingFilter {
            vuln: Some(vuln.to_owned()),
            include_resolved: true,
            namespace: Some("ns2".to_owned()),
            ..FindingFilter::default()
        });
    }
    for q in [
        "alpha",
        "ALPHA",
        "web",
        "pod-db-1",
        "2024-0007",
        "ghsa",
        "nothing",
        "app3:",
        &fleet.images[3].digest[10..20],
        // Through the trigram index (SQLite), whatever the case.
        "APP1",
        "registry.test/app2",
        "pod-queue",
        "w12",
        // Shorter than a trigram: scanned.
        "db",
        "w3",
        "1:",
        // Could be in a digest: the algorithm, its end, across the colon.
        "sha256:000",
        "a25",
        "56:0000",
        "0000000000000000000000000000000000000000000000000000000000001",
        // Could not: digests are not scanned.
        "sha256:x",
        "2:0",
        "a-l",
        "\"quoted\"",
        "100%",
        "e_l",
    ] {
        out.push(FindingFilter {
            q: Some(q.to_owned()),
            ..FindingFilter::default()
        });
        out.push(FindingFilter {
            q: Some(q.to_owned()),
            severity: Some(SeverityLevel::High),
            include_resolved: true,
            ..FindingFilter::default()
        });
    }
    out.push(FindingFilter {
        package: Some("alpha".to_owned()),
        ..FindingFilter::default()
    });
    out.push(FindingFilter {
        package: Some("Beta".to_owned()),
        vuln: Some("CVE-2024-0001".to_owned()),
        kev: true,
        ..FindingFilter::default()
    });
    out
}

fn check_all(store: &mut Store) {
    let mut fleet = fill(store);
    assert!(fleet.images.len() < PLAN_IMAGES);
    for filter in filters(&fleet) {
        check(store, &fleet, &filter);
    }
    // Findings resolve, reopen and go; a pod is renamed: the kept counts
    // and the text index follow.
    let conn = store.conn();
    let mut gone = Vec::new();
    for (index, finding) in fleet.findings.iter_mut().enumerate() {
        if index % 11 == 0 {
            conn.execute("DELETE FROM findings WHERE id = $1", &params![finding.id])
                .unwrap();
            gone.push(index);
        } else if index % 7 == 0 {
            finding.open = !finding.open;
            let (resolved_at, cause) = if finding.open {
                (None, None)
            } else {
                (Some(finding.first_seen + 86_400), Some(CAUSE))
            };
            conn.execute(
                "UPDATE findings SET state = $1, resolved_at = $2, cause = $3 WHERE id = $4",
                &params![
                    if finding.open { "open" } else { "resolved" },
                    resolved_at,
                    cause,
                    finding.id
                ],
            )
            .unwrap();
        }
    }
    for index in gone.into_iter().rev() {
        fleet.findings.remove(index);
    }
    fleet.images[5].pod = "pod-renamed-5".to_owned();
    conn.execute(
        "UPDATE sightings SET pod = 'pod-renamed-5' WHERE image_id = $1",
        &params![fleet.images[5].id],
    )
    .unwrap();
    let mut after = filters(&fleet);
    for q in ["renamed", "pod-db-5", "pod-web-4"] {
        after.push(FindingFilter {
            q: Some(q.to_owned()),
            ..FindingFilter::default()
        });
    }
    for filter in &after {
        check(store, &fleet, filter);
    }
    if store.backend() == crate::Backend::Sqlite {
        // The kept counts are the counted ones.
        let wrong = store
            .conn()
            .query_one(
                "SELECT COUNT(*) FROM matches m WHERE open_findings <> \
                 (SELECT COUNT(*) FROM findings f WHERE f.match_id = m.id AND f.state = 'open')",
                &[],
            )
            .unwrap()
            .unwrap()
            .int(0);
        assert_eq!(wrong, 0);
    }
    // The vulnerability, free-text and package filters page match by match.
    for filter in filters(&fleet) {
        let narrow = filter.vuln.is_some() || filter.q.is_some() || filter.package.is_some();
        assert_eq!(
            store.finding_plan(&filter).unwrap().is_some(),
            narrow,
            "{filter:?}"
        );
    }
}

#[test]
fn findings_pages_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = StoreUrl::parse(&format!("sqlite:{}", dir.path().join("s.db").display())).unwrap();
    let mut store = Store::open(&url).unwrap();
    check_all(&mut store);
}

#[test]
fn findings_pages_postgres() {
    // A loud skip locally, a failure under CI, when PostgreSQL is missing.
    let Some(postgres) = drydock_test::Postgres::start() else {
        return;
    };
    let url = StoreUrl::parse(&postgres.database("pages")).unwrap();
    let mut store = Store::open(&url).unwrap();
    // Where the server ships `pg_trgm`, migration 7 indexes sightings' text.
    let conn = store.conn();
    let available = conn
        .query_one(
            "SELECT COUNT(*) FROM pg_available_extensions WHERE name = 'pg_trgm'",
            &[],
        )
        .unwrap()
        .unwrap()
        .int(0);
    let indexed = conn
        .query_one(
            "SELECT COUNT(*) FROM pg_indexes WHERE tablename = 'sightings' AND indexname LIKE '%_trgm'",
            &[],
        )
        .unwrap()
        .unwrap()
        .int(0);
    assert_eq!(indexed, if available > 0 { 3 } else { 0 });
    check_all(&mut store);
}

#[test]
fn digest_alphabet() {
    use super::may_occur_in_digest as may;
    let digest = format!("sha512:{}", "0123456789abcdef".repeat(8));
    for text in [
        "s", "sha", "sha256", "256", "ha512:", "6:", ":", ":0a", "2:ff", "abc", "sha256:",
    ] {
        assert!(may(text), "{text}");
    }
    for text in [
        "x", "sha1", "sha256:x", "1:", "5:0", "a:b:c", "sha256::", "abc:", "g", "-",
    ] {
        assert!(!may(text), "{text}");
    }
    // Every substring of a digest passes.
    for start in 0..digest.len() {
        for end in start + 1..=digest.len().min(start + 12) {
            assert!(may(&digest[start..end]), "{}", &digest[start..end]);
        }
    }
}
