//! `drydock fleet notify …`: webhooks and tickets for fleet events.
//!
//! Delivery is an outbox in the store (see `drydock_store::NotifyTarget`):
//! events past a target's cursor that pass its filters become deliveries in
//! the transaction that advances the cursor; due deliveries are then sent
//! with retries and exponential backoff (bounded within a run), and a
//! delivery that still fails is kept with its error and retried by a later
//! run. A delivery is marked delivered only after a 2xx answer.
//!
//! `generic` and `slack` POST one JSON document per event. `github-issue`
//! and `jira` keep one ticket per (vulnerability, image digest): each event
//! delivery reconciles that ticket with the store (create it while a
//! finding is open, update its body when packages or locations change,
//! close it when none is open), and every run ends by refreshing the open
//! tickets' bodies (new tags or pods of the image).
use std::fmt::Write as _;
use std::time::Duration;

use drydock_store::{
    Delivery, DeliveryStats, EventRecord, FindingFilter, FindingRow, LocationRow, NotifyTarget,
    Store, StoreError, Ticket,
};
use drydock_vuln::SeverityLevel;
use hmac::Mac as _;
use sha2::Digest as _;

use super::{FleetError, FleetSettings, error_chain, now, open_store};

/// How long a claimed delivery is reserved for its sender (seconds): a
/// sender that dies leaves it to be retried after this.
const LEASE: i64 = 300;
/// The longest wait between two runs' attempts of one delivery (seconds).
const MAX_DELAY: i64 = 6 * 3600;
/// Response bodies read from receivers and ticket APIs.
const RESPONSE_LIMIT: u64 = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(transparent)]
    Fleet(#[from] FleetError),
    #[error("no notification target named `{0}` (see `drydock fleet notify list`)")]
    UnknownTarget(String),
    #[error("notification target `{name}`: {reason}")]
    Invalid { name: String, reason: String },
}

/// The payload a target receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyFormat {
    /// drydock's JSON document (event + finding summary), one per event.
    Generic,
    /// A Slack incoming-webhook message (`{"text": …}`).
    Slack,
    /// GitHub issues through the REST API (`URL` = `https://api.github.com/repos/OWNER/REPO`).
    GithubIssue,
    /// Jira issues through REST API v2 (`URL` = the Jira base URL).
    Jira,
}

impl NotifyFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyFormat::Generic => "generic",
            NotifyFormat::Slack => "slack",
            NotifyFormat::GithubIssue => "github-issue",
            NotifyFormat::Jira => "jira",
        }
    }

    pub fn parse(text: &str) -> Option<NotifyFormat> {
        [
            NotifyFormat::Generic,
            NotifyFormat::Slack,
            NotifyFormat::GithubIssue,
            NotifyFormat::Jira,
        ]
        .into_iter()
        .find(|f| f.as_str() == text)
    }
}

/// `drydock fleet notify add`.
#[derive(Debug, Clone)]
pub struct TargetSpec {
    pub name: String,
    /// The webhook URL, the GitHub repository API URL or the Jira base URL.
    pub url: String,
    /// Signs each body: `X-Drydock-Signature: sha256=HMAC-SHA256(secret, body)`.
    pub secret: Option<String>,
    /// `Authorization: Bearer TOKEN` (used verbatim when it starts with
    /// `Basic ` or `Bearer `).
    pub token: Option<String>,
    pub format: NotifyFormat,
    pub min_severity: Option<SeverityLevel>,
    pub kev_only: bool,
    /// Start at the beginning of the event log instead of its end.
    pub from_start: bool,
    /// Per-request timeout (default 10 s).
    pub timeout_ms: Option<u64>,
    pub labels: Vec<String>,
    pub jira_project: Option<String>,
    pub jira_issue_type: Option<String>,
    pub jira_close_transition: Option<String>,
}

/// One row of `drydock fleet notify list`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TargetSummary {
    #[serde(flatten)]
    pub target: NotifyTarget,
    pub signed: bool,
    pub deliveries: DeliveryStats,
}

/// How a run sends.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Only this target.
    pub only: Option<String>,
    /// Overrides every target's request timeout.
    pub timeout: Option<Duration>,
    /// Attempts per delivery within one run.
    pub attempts: u32,
    /// The wait before the second attempt; doubled for each further one.
    pub backoff: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            only: None,
            timeout: None,
            attempts: 3,
            backoff: Duration::from_millis(250),
        }
    }
}

/// What a run did for one target.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct TargetRun {
    pub name: String,
    pub format: String,
    /// Events queued from the log this run.
    pub queued: usize,
    pub delivered: usize,
    /// Still pending after the run (failed, not yet due, or not reached).
    pub pending: i64,
    pub tickets_created: usize,
    pub tickets_updated: usize,
    pub tickets_closed: usize,
    /// Why the run stopped early for this target (the receiver failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `drydock fleet notify run`.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct NotifyReport {
    pub targets: Vec<TargetRun>,
}

impl NotifyReport {
    pub fn failed(&self) -> bool {
        self.targets.iter().any(|t| t.error.is_some())
    }
}

fn store_error(store: &Store) -> impl Fn(StoreError) -> NotifyError + '_ {
    move |source| {
        NotifyError::Fleet(FleetError::Store {
            url: store.url().to_owned(),
            source: Box::new(source),
        })
    }
}

/// `drydock fleet notify add`. Returns the event sequence number the target
/// starts after.
pub fn add(settings: &FleetSettings, spec: &TargetSpec) -> Result<i64, NotifyError> {
    let invalid = |reason: &str| NotifyError::Invalid {
        name: spec.name.clone(),
        reason: reason.to_owned(),
    };
    if spec.name.is_empty() {
        return Err(invalid("the name is empty"));
    }
    let Some(rest) = spec
        .url
        .strip_prefix("https://")
        .or_else(|| spec.url.strip_prefix("http://"))
    else {
        return Err(invalid(&format!(
            "`{}` is not an http:// or https:// URL",
            spec.url
        )));
    };
    if rest.is_empty() || rest.starts_with('/') {
        return Err(invalid(&format!("`{}` has no host", spec.url)));
    }
    let mut options = serde_json::Map::new();
    if let Some(ms) = spec.timeout_ms {
        if ms == 0 {
            return Err(invalid("`--timeout-ms` must be above 0"));
        }
        options.insert("timeout_ms".into(), ms.into());
    }
    if !spec.labels.is_empty() {
        options.insert("labels".into(), spec.labels.clone().into());
    }
    if spec.format == NotifyFormat::Jira {
        let project = spec
            .jira_project
            .clone()
            .ok_or_else(|| invalid("the `jira` format needs `--jira-project KEY`"))?;
        let transition = spec.jira_close_transition.clone().ok_or_else(|| {
            invalid("the `jira` format needs `--jira-close-transition ID` (the workflow transition that resolves an issue)")
        })?;
        options.insert("jira_project".into(), project.into());
        options.insert("jira_close_transition".into(), transition.into());
        options.insert(
            "jira_issue_type".into(),
            spec.jira_issue_type
                .clone()
                .unwrap_or_else(|| "Bug".to_owned())
                .into(),
        );
    } else if spec.jira_project.is_some()
        || spec.jira_close_transition.is_some()
        || spec.jira_issue_type.is_some()
    {
        return Err(invalid("`--jira-…` options need `--format jira`"));
    }
    let mut store = open_store(settings)?;
    let created_at = now()?;
    let target = NotifyTarget {
        name: spec.name.clone(),
        url: spec.url.trim_end_matches('/').to_owned(),
        secret: spec.secret.clone().filter(|s| !s.is_empty()),
        token: spec.token.clone().filter(|s| !s.is_empty()),
        format: spec.format.as_str().to_owned(),
        min_severity: spec
            .min_severity
            .unwrap_or(SeverityLevel::Unknown)
            .as_str()
            .to_owned(),
        kev_only: spec.kev_only,
        options: serde_json::Value::Object(options),
        created_at,
        cursor: 0,
    };
    store
        .add_notify_target(&target, spec.from_start)
        .map_err(store_error(&store))
}

/// `drydock fleet notify list`.
pub fn list(settings: &FleetSettings) -> Result<Vec<TargetSummary>, NotifyError> {
    let mut store = open_store(settings)?;
    let targets = store.notify_targets().map_err(store_error(&store))?;
    let mut out = Vec::with_capacity(targets.len());
    for target in targets {
        let deliveries = store
            .delivery_stats(&target.name)
            .map_err(store_error(&store))?;
        out.push(TargetSummary {
            signed: target.secret.is_some(),
            target,
            deliveries,
        });
    }
    Ok(out)
}

/// `drydock fleet notify remove NAME`.
pub fn remove(settings: &FleetSettings, name: &str) -> Result<(), NotifyError> {
    let mut store = open_store(settings)?;
    if store
        .remove_notify_target(name)
        .map_err(store_error(&store))?
    {
        Ok(())
    } else {
        Err(NotifyError::UnknownTarget(name.to_owned()))
    }
}

/// `drydock fleet notify run`.
pub fn run(settings: &FleetSettings, options: &RunOptions) -> Result<NotifyReport, NotifyError> {
    let mut store = open_store(settings)?;
    if let Some(name) = &options.only {
        let targets = store.notify_targets().map_err(store_error(&store))?;
        if !targets.iter().any(|t| &t.name == name) {
            return Err(NotifyError::UnknownTarget(name.clone()));
        }
    }
    run_store(&mut store, options)
}

/// After `fleet sync`, `fleet rematch` and the re-match of `db import`:
/// delivers what is due when targets exist (`None` when there are none).
pub fn after_change(settings: &FleetSettings) -> Option<Result<NotifyReport, NotifyError>> {
    let mut store = match open_store(settings) {
        Ok(store) => store,
        Err(error) => return Some(Err(error.into())),
    };
    deliver_if_targets(&mut store)
}

/// [`after_change`] on an open store.
pub fn deliver_if_targets(store: &mut Store) -> Option<Result<NotifyReport, NotifyError>> {
    match store.notify_targets() {
        Ok(targets) if targets.is_empty() => None,
        Ok(_) => Some(run_store(store, &RunOptions::default())),
        Err(error) => Some(Err(store_error(store)(error))),
    }
}

/// After a worker job that may have logged events: queue a `notify` job
/// for the workers when targets exist (a no-op run costs two queries).
pub(super) fn queue_delivery(store: &mut Store, now: i64) -> Result<(), String> {
    let targets = store.notify_targets().map_err(|e| error_chain(&e))?;
    if targets.is_empty() {
        return Ok(());
    }
    store
        .enqueue("notify", &serde_json::json!({}), None, now)
        .map(|_| ())
        .map_err(|e| error_chain(&e))
}

/// The `notify` job of `drydock worker`: one delivery run. A receiver's
/// failure is not the job's: the delivery is kept in the outbox.
pub(super) fn deliver_job(store: &mut Store) -> Result<(), String> {
    run_store(store, &RunOptions::default())
        .map(|_| ())
        .map_err(|e| error_chain(&e))
}

/// Queues and sends for every target (or `options.only`).
pub fn run_store(store: &mut Store, options: &RunOptions) -> Result<NotifyReport, NotifyError> {
    let now = now()?;
    let targets = store.notify_targets().map_err(store_error(store))?;
    let mut report = NotifyReport::default();
    for target in targets {
        if options
            .only
            .as_ref()
            .is_some_and(|name| name != &target.name)
        {
            continue;
        }
        let mut result = TargetRun {
            name: target.name.clone(),
            format: target.format.clone(),
            ..TargetRun::default()
        };
        result.queued = store
            .enqueue_deliveries(&target.name, now)
            .map_err(store_error(store))?;
        let mut sender = Sender::new(&target, options);
        let stopped = deliver_target(store, &mut sender, &mut result, now)?;
        if sender.format.is_ticket() && !stopped {
            refresh_tickets(store, &mut sender, &mut result, now)?;
        }
        result.pending = store
            .delivery_stats(&target.name)
            .map_err(store_error(store))?
            .pending;
        report.targets.push(result);
    }
    Ok(report)
}

impl NotifyFormat {
    fn is_ticket(self) -> bool {
        matches!(self, NotifyFormat::GithubIssue | NotifyFormat::Jira)
    }
}

/// Sends due deliveries in event order; stops at the first one that still
/// fails after the run's attempts (the receiver is down: the rest wait for
/// the next run). Returns whether it stopped early.
fn deliver_target(
    store: &mut Store,
    sender: &mut Sender<'_>,
    result: &mut TargetRun,
    now: i64,
) -> Result<bool, NotifyError> {
    let name = sender.target.name.clone();
    loop {
        let due = store
            .due_deliveries(&name, now, 100)
            .map_err(store_error(store))?;
        if due.is_empty() {
            return Ok(false);
        }
        for delivery in due {
            if !store
                .claim_delivery(delivery.id, now, now + LEASE)
                .map_err(store_error(store))?
            {
                continue;
            }
            sender.attempts = delivery.attempts;
            let outcome = if sender.format.is_ticket() {
                match (&delivery.event.vulnerability, delivery.event.kind.as_str()) {
                    (Some(vuln), "finding-opened" | "finding-resolved") => reconcile_ticket(
                        store,
                        sender,
                        result,
                        vuln,
                        &delivery.event.digest,
                        &delivery.key,
                        now,
                    ),
                    _ => Ok(()),
                }
            } else {
                send_event(store, sender, &delivery)
            };
            match outcome {
                Ok(()) => {
                    store
                        .delivery_succeeded(delivery.id, sender.attempts, now)
                        .map_err(store_error(store))?;
                    result.delivered += 1;
                }
                Err(Failure::Store(error)) => {
                    // Release the claim: the next run tries again.
                    let _ = store.delivery_failed(
                        delivery.id,
                        sender.attempts,
                        &error.to_string(),
                        now,
                    );
                    return Err(store_error(store)(error));
                }
                Err(Failure::Send(reason)) => {
                    let next = now + retry_delay(sender.attempts);
                    store
                        .delivery_failed(delivery.id, sender.attempts, &reason, next)
                        .map_err(store_error(store))?;
                    result.error = Some(format!(
                        "event {} ({}): {reason}; kept, retried from {}",
                        delivery.event.seq,
                        delivery.event.kind,
                        drydock_store::rfc3339(next)
                    ));
                    return Ok(true);
                }
            }
        }
    }
}

/// The wait before the next run may try again: 15 s doubled per attempt
/// made so far, at most 6 hours.
fn retry_delay(attempts: i64) -> i64 {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    (15_i64 << doublings).min(MAX_DELAY)
}

enum Failure {
    Store(StoreError),
    Send(String),
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        Failure::Store(error)
    }
}

/// One target's HTTP side.
struct Sender<'a> {
    target: &'a NotifyTarget,
    format: NotifyFormat,
    agent: ureq::Agent,
    options: &'a RunOptions,
    /// Attempts of the current delivery, over all runs.
    attempts: i64,
}

struct Request<'a> {
    method: &'static str,
    url: String,
    body: Vec<u8>,
    key: &'a str,
    event: &'a str,
}

impl<'a> Sender<'a> {
    fn new(target: &'a NotifyTarget, options: &'a RunOptions) -> Sender<'a> {
        let timeout = options.timeout.unwrap_or_else(|| {
            Duration::from_millis(
                target
                    .options
                    .get("timeout_ms")
                    .and_then(serde_json::Value::as_u64)
                    .unwrap_or(10_000),
            )
        });
        Sender {
            target,
            format: NotifyFormat::parse(&target.format).unwrap_or(NotifyFormat::Generic),
            agent: drydock_registry::default_http_agent(timeout),
            options,
            attempts: 0,
        }
    }

    fn option(&self, name: &str) -> Option<&str> {
        self.target
            .options
            .get(name)
            .and_then(serde_json::Value::as_str)
    }

    fn labels(&self) -> Vec<String> {
        self.target
            .options
            .get("labels")
            .and_then(serde_json::Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Sends with the run's retries; the response body on a 2xx answer.
    fn send(&mut self, request: &Request<'_>) -> Result<String, Failure> {
        let mut last = String::new();
        for attempt in 0..self.options.attempts.max(1) {
            if attempt > 0 {
                std::thread::sleep(self.options.backoff * 2_u32.saturating_pow(attempt - 1));
            }
            self.attempts += 1;
            match self.send_once(request) {
                Ok((status, body)) if (200..300).contains(&status) => return Ok(body),
                Ok((status, body)) => {
                    let snippet: String = body.chars().take(200).collect();
                    last = format!(
                        "{} {}: HTTP {status} {}",
                        request.method,
                        request.url,
                        snippet.trim()
                    );
                    // Client errors other than timeouts and rate limits do
                    // not heal within a run.
                    if status < 500 && status != 408 && status != 429 {
                        break;
                    }
                }
                Err(error) => {
                    last = format!(
                        "{} {}: {}",
                        request.method,
                        request.url,
                        error_chain(&error)
                    );
                }
            }
        }
        Err(Failure::Send(last))
    }

    fn send_once(&self, request: &Request<'_>) -> Result<(u16, String), ureq::Error> {
        let builder = match request.method {
            "PATCH" => self.agent.patch(&request.url),
            "PUT" => self.agent.put(&request.url),
            _ => self.agent.post(&request.url),
        };
        let mut builder = builder
            .header("Content-Type", "application/json")
            .header("Idempotency-Key", request.key)
            .header("X-Drydock-Delivery", request.key)
            .header("X-Drydock-Event", request.event);
        if let Some(secret) = &self.target.secret {
            builder = builder.header(
                "X-Drydock-Signature",
                format!("sha256={}", sign(secret.as_bytes(), &request.body)),
            );
        }
        if let Some(token) = &self.target.token {
            let value = if token.starts_with("Bearer ") || token.starts_with("Basic ") {
                token.clone()
            } else {
                format!("Bearer {token}")
            };
            builder = builder.header("Authorization", value);
        }
        match self.format {
            NotifyFormat::GithubIssue => {
                builder = builder
                    .header("Accept", "application/vnd.github+json")
                    .header("X-GitHub-Api-Version", "2022-11-28");
            }
            NotifyFormat::Jira => builder = builder.header("Accept", "application/json"),
            NotifyFormat::Generic | NotifyFormat::Slack => {}
        }
        let mut response = builder.send(&request.body[..])?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(RESPONSE_LIMIT)
            .read_to_string()
            .unwrap_or_default();
        Ok((status, body))
    }
}

/// HMAC-SHA256 of `body` with `secret`, lowercase hex.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    // HMAC takes keys of any length.
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(body);
    hex(&mac.finalize().into_bytes())
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// The finding an event is about (open or resolved), if still stored.
fn finding_of(store: &mut Store, event: &EventRecord) -> Result<Option<FindingRow>, StoreError> {
    let (Some(vuln), Some(package)) = (&event.vulnerability, &event.package) else {
        return Ok(None);
    };
    let rows = store.findings(&FindingFilter {
        vuln: Some(vuln.clone()),
        image: Some(event.digest.clone()),
        include_resolved: true,
        ..FindingFilter::default()
    })?;
    Ok(rows
        .into_iter()
        .find(|row| &row.purl == package && &row.vuln_id == vuln && row.digest == event.digest))
}

/// The `generic` document: the event and a summary of its finding.
fn generic_body(
    target: &str,
    key: &str,
    event: &EventRecord,
    finding: Option<&FindingRow>,
    locations: &[LocationRow],
) -> serde_json::Value {
    let finding = finding.map(|row| {
        let detail: serde_json::Value =
            serde_json::from_str(&row.detail).unwrap_or(serde_json::Value::Null);
        serde_json::json!({
            "id": row.vuln_id,
            "aliases": detail.get("aliases").cloned().unwrap_or_else(|| serde_json::json!([])),
            "summary": detail.get("summary").cloned().unwrap_or(serde_json::Value::Null),
            "severity": row.severity,
            "kev": row.kev,
            "package": {
                "name": row.package,
                "version": row.version,
                "purl": row.purl,
                "location": row.location,
            },
            "fixed_versions": detail.get("fixed_versions").cloned().unwrap_or_else(|| serde_json::json!([])),
            "digest": row.digest,
            "status": row.state,
            "first_seen": drydock_store::rfc3339(row.first_seen),
            "resolved_at": row.resolved_at.map(drydock_store::rfc3339),
            "resolution": row.cause,
        })
    });
    serde_json::json!({
        "type": "drydock.fleet.notification",
        "version": 1,
        "target": target,
        "idempotency_key": key,
        "event": event,
        "finding": finding,
        "locations": locations,
    })
}

fn slack_body(
    event: &EventRecord,
    finding: Option<&FindingRow>,
    locations: &[LocationRow],
) -> serde_json::Value {
    let places: Vec<String> = locations
        .iter()
        .take(10)
        .map(|l| format!("`{}`", l.short()))
        .collect();
    let places = if places.is_empty() {
        "no longer seen anywhere".to_owned()
    } else {
        let more = locations.len().saturating_sub(places.len());
        let mut text = places.join(", ");
        if more > 0 {
            let _ = write!(text, " and {more} more");
        }
        text
    };
    let digest = short_digest(&event.digest);
    let text = match (event.kind.as_str(), &event.vulnerability) {
        (kind @ ("finding-opened" | "finding-resolved"), Some(vuln)) => {
            let verb = if kind == "finding-opened" {
                ":rotating_light: opened"
            } else {
                ":white_check_mark: resolved"
            };
            let severity = event.severity.as_deref().unwrap_or("unknown");
            let kev = if event.kev == Some(true) { ", KEV" } else { "" };
            let package = finding.map_or_else(
                || event.package.clone().unwrap_or_default(),
                |f| format!("{} {}", f.package, f.version),
            );
            let fixed = finding
                .filter(|f| !f.fixed.is_empty())
                .map(|f| format!("; fixed in {}", f.fixed))
                .unwrap_or_default();
            format!(
                "drydock: {verb} *{vuln}* ({severity}{kev}) in `{package}`{fixed}: image `{digest}` at {places} ({})",
                event.cause
            )
        }
        ("image-first-seen", _) => format!("drydock: image `{digest}` first seen at {places}"),
        ("image-gone", _) => format!("drydock: image `{digest}` is no longer seen anywhere"),
        (kind, _) => format!("drydock: {kind} `{digest}` ({})", event.cause),
    };
    serde_json::json!({ "text": text })
}

fn short_digest(digest: &str) -> String {
    digest.strip_prefix("sha256:").map_or_else(
        || digest.to_owned(),
        |hex| format!("sha256:{}", hex.get(..12).unwrap_or(hex)),
    )
}

fn send_event(
    store: &mut Store,
    sender: &mut Sender<'_>,
    delivery: &Delivery,
) -> Result<(), Failure> {
    let event = &delivery.event;
    let finding = finding_of(store, event)?;
    let locations = store.image_locations(&event.digest)?;
    let body = match sender.format {
        NotifyFormat::Slack => slack_body(event, finding.as_ref(), &locations),
        _ => generic_body(
            &sender.target.name,
            &delivery.key,
            event,
            finding.as_ref(),
            &locations,
        ),
    };
    let request = Request {
        method: "POST",
        url: sender.target.url.clone(),
        body: body.to_string().into_bytes(),
        key: &delivery.key,
        event: &event.kind,
    };
    sender.send(&request).map(|_| ())
}

/// What a ticket says about one (vulnerability, digest).
struct TicketContent {
    title: String,
    body: String,
    locations: i64,
    severity: String,
}

fn ticket_content(
    store: &mut Store,
    format: NotifyFormat,
    vuln: &str,
    digest: &str,
) -> Result<Option<TicketContent>, StoreError> {
    let rows: Vec<FindingRow> = store
        .findings(&FindingFilter {
            vuln: Some(vuln.to_owned()),
            image: Some(digest.to_owned()),
            ..FindingFilter::default()
        })?
        .into_iter()
        .filter(|row| row.vuln_id == vuln && row.digest == digest)
        .collect();
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let locations = store.image_locations(digest)?;
    let detail: serde_json::Value =
        serde_json::from_str(&first.detail).unwrap_or(serde_json::Value::Null);
    let aliases: Vec<&str> = detail
        .get("aliases")
        .and_then(serde_json::Value::as_array)
        .map(|list| list.iter().filter_map(serde_json::Value::as_str).collect())
        .unwrap_or_default();
    let summary = detail.get("summary").and_then(serde_json::Value::as_str);
    let code = |text: &str| match format {
        NotifyFormat::Jira => format!("{{{{{text}}}}}"),
        _ => format!("`{text}`"),
    };
    let mut packages: Vec<String> = rows.iter().map(|r| r.package.clone()).collect();
    packages.sort();
    packages.dedup();
    let image_name = locations
        .iter()
        .find_map(|l| l.repository.clone())
        .unwrap_or_else(|| short_digest(digest));
    let title = format!(
        "{vuln} ({}) in {} — {image_name}@{}",
        first.severity,
        packages.join(", "),
        short_digest(digest)
    );
    let mut body = String::new();
    let _ = writeln!(
        body,
        "drydock found {vuln}{} in image {}.",
        if aliases.is_empty() {
            String::new()
        } else {
            format!(" ({})", aliases.join(", "))
        },
        code(digest)
    );
    let _ = writeln!(body);
    let _ = writeln!(
        body,
        "Severity: {}. Known exploited (CISA KEV): {}.",
        first.severity,
        if first.kev { "yes" } else { "no" }
    );
    if let Some(summary) = summary {
        let _ = writeln!(body, "{summary}");
    }
    let _ = writeln!(body);
    let _ = writeln!(body, "Affected packages:");
    for row in &rows {
        let fixed = if row.fixed.is_empty() {
            "no fix known".to_owned()
        } else {
            format!("fixed in {}", row.fixed)
        };
        let path = row
            .location
            .as_deref()
            .map(|p| format!(" at {}", code(p)))
            .unwrap_or_default();
        let _ = writeln!(
            body,
            "- {} {} ({fixed}){path}",
            code(&row.package),
            code(&row.version)
        );
    }
    let _ = writeln!(body);
    let _ = writeln!(body, "Seen at:");
    if locations.is_empty() {
        let _ = writeln!(body, "- nowhere now");
    }
    for location in &locations {
        let _ = writeln!(body, "- {}", code(&location.short()));
    }
    let _ = writeln!(body);
    let _ = write!(
        body,
        "This issue is kept up to date by `drydock fleet notify` and closed when the finding is resolved."
    );
    Ok(Some(TicketContent {
        title,
        body,
        locations: i64::try_from(locations.len()).unwrap_or(i64::MAX),
        severity: first.severity.clone(),
    }))
}

fn sha256_hex(text: &str) -> String {
    hex(&sha2::Sha256::digest(text.as_bytes()))
}

/// Brings the ticket of (vulnerability, digest) in line with the store:
/// created (or reopened) while a finding is open, its body updated when it
/// changed, closed when none is open.
fn reconcile_ticket(
    store: &mut Store,
    sender: &mut Sender<'_>,
    result: &mut TargetRun,
    vuln: &str,
    digest: &str,
    key: &str,
    now: i64,
) -> Result<(), Failure> {
    let target = sender.target.name.clone();
    let ticket = store.ticket(&target, vuln, digest)?;
    let content = ticket_content(store, sender.format, vuln, digest)?;
    let base = sender.target.url.clone();
    match (content, ticket) {
        (None, Some(mut ticket)) if ticket.state == "open" => {
            let Some(id) = ticket.external_id.clone() else {
                return Ok(());
            };
            let request = match sender.format {
                NotifyFormat::Jira => {
                    let transition = sender.option("jira_close_transition").unwrap_or("");
                    Request {
                        method: "POST",
                        url: format!("{base}/rest/api/2/issue/{id}/transitions"),
                        body: serde_json::json!({ "transition": { "id": transition } })
                            .to_string()
                            .into_bytes(),
                        key,
                        event: "ticket-close",
                    }
                }
                _ => Request {
                    method: "PATCH",
                    url: format!("{base}/issues/{id}"),
                    body: serde_json::json!({ "state": "closed", "state_reason": "completed" })
                        .to_string()
                        .into_bytes(),
                    key,
                    event: "ticket-close",
                },
            };
            sender.send(&request)?;
            "closed".clone_into(&mut ticket.state);
            store.put_ticket(&ticket, now)?;
            result.tickets_closed += 1;
        }
        (None, _) => {}
        (Some(content), ticket) => {
            let sha = sha256_hex(&format!("{}\n{}", content.title, content.body));
            let open = ticket
                .as_ref()
                .filter(|t| t.state == "open" && t.external_id.is_some());
            if let Some(open) = open {
                if open.body_sha.as_deref() == Some(sha.as_str()) {
                    return Ok(());
                }
                let id = open.external_id.clone().unwrap_or_default();
                let request = match sender.format {
                    NotifyFormat::Jira => Request {
                        method: "PUT",
                        url: format!("{base}/rest/api/2/issue/{id}"),
                        body: serde_json::json!({
                            "fields": { "summary": content.title, "description": content.body }
                        })
                        .to_string()
                        .into_bytes(),
                        key,
                        event: "ticket-update",
                    },
                    _ => Request {
                        method: "PATCH",
                        url: format!("{base}/issues/{id}"),
                        body: serde_json::json!({ "title": content.title, "body": content.body })
                            .to_string()
                            .into_bytes(),
                        key,
                        event: "ticket-update",
                    },
                };
                sender.send(&request)?;
                store.put_ticket(
                    &Ticket {
                        locations: content.locations,
                        body_sha: Some(sha),
                        ..open.clone()
                    },
                    now,
                )?;
                result.tickets_updated += 1;
                return Ok(());
            }
            // No open ticket: a closed GitHub issue is reopened; otherwise
            // a new ticket is created.
            if sender.format == NotifyFormat::GithubIssue
                && let Some(closed) = ticket.as_ref().filter(|t| t.external_id.is_some())
            {
                let id = closed.external_id.clone().unwrap_or_default();
                sender.send(&Request {
                    method: "PATCH",
                    url: format!("{base}/issues/{id}"),
                    body: serde_json::json!({ "state": "open", "body": content.body })
                        .to_string()
                        .into_bytes(),
                    key,
                    event: "ticket-reopen",
                })?;
                store.put_ticket(
                    &Ticket {
                        state: "open".to_owned(),
                        locations: content.locations,
                        body_sha: Some(sha),
                        ..closed.clone()
                    },
                    now,
                )?;
                result.tickets_updated += 1;
                return Ok(());
            }
            let mut labels = vec!["drydock".to_owned(), content.severity.clone()];
            labels.extend(sender.labels());
            let (url, body) = match sender.format {
                NotifyFormat::Jira => (
                    format!("{base}/rest/api/2/issue"),
                    serde_json::json!({
                        "fields": {
                            "project": { "key": sender.option("jira_project").unwrap_or("") },
                            "summary": content.title,
                            "description": content.body,
                            "issuetype": { "name": sender.option("jira_issue_type").unwrap_or("Bug") },
                            "labels": labels,
                        }
                    }),
                ),
                _ => (
                    format!("{base}/issues"),
                    serde_json::json!({
                        "title": content.title,
                        "body": content.body,
                        "labels": labels,
                    }),
                ),
            };
            let response = sender.send(&Request {
                method: "POST",
                url,
                body: body.to_string().into_bytes(),
                key,
                event: "ticket-create",
            })?;
            let answer: serde_json::Value =
                serde_json::from_str(&response).unwrap_or(serde_json::Value::Null);
            let id = match sender.format {
                NotifyFormat::Jira => answer
                    .get("key")
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned),
                _ => answer
                    .get("number")
                    .and_then(serde_json::Value::as_i64)
                    .map(|n| n.to_string()),
            };
            let Some(id) = id else {
                return Err(Failure::Send(format!(
                    "the ticket API answered the creation without an issue {}: {}",
                    if sender.format == NotifyFormat::Jira {
                        "`key`"
                    } else {
                        "`number`"
                    },
                    response.chars().take(200).collect::<String>()
                )));
            };
            store.put_ticket(
                &Ticket {
                    target,
                    vuln_id: vuln.to_owned(),
                    digest: digest.to_owned(),
                    external_id: Some(id),
                    state: "open".to_owned(),
                    locations: content.locations,
                    body_sha: Some(sha),
                },
                now,
            )?;
            result.tickets_created += 1;
        }
    }
    Ok(())
}

/// Updates open tickets whose content changed without an event (a new tag
/// or pod of the image), and closes those with nothing open any more.
fn refresh_tickets(
    store: &mut Store,
    sender: &mut Sender<'_>,
    result: &mut TargetRun,
    now: i64,
) -> Result<(), NotifyError> {
    let tickets = store
        .open_tickets(&sender.target.name)
        .map_err(store_error(store))?;
    for ticket in tickets {
        sender.attempts = 0;
        let key = sha256_hex(&format!(
            "{}\0{}\0{}\0refresh\0{}",
            ticket.target,
            ticket.vuln_id,
            ticket.digest,
            ticket.body_sha.as_deref().unwrap_or("")
        ));
        match reconcile_ticket(
            store,
            sender,
            result,
            &ticket.vuln_id,
            &ticket.digest,
            &key,
            now,
        ) {
            Ok(()) => {}
            Err(Failure::Store(error)) => return Err(store_error(store)(error)),
            Err(Failure::Send(reason)) => {
                // Nothing is lost: the ticket still differs from the store
                // and the next run compares again.
                result.error = Some(format!(
                    "ticket {} for {} in {}: {reason}",
                    ticket.external_id.as_deref().unwrap_or("?"),
                    ticket.vuln_id,
                    short_digest(&ticket.digest)
                ));
                break;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn retry_delay_doubles_and_is_bounded() {
        assert_eq!(retry_delay(1), 15);
        assert_eq!(retry_delay(3), 60);
        assert_eq!(retry_delay(4), 120);
        assert_eq!(retry_delay(60), MAX_DELAY);
    }
}
