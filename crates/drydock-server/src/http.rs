//! The router, its shared state, and the layers every response passes:
//! authentication, security headers, request counters.
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State as Extract};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use drydock_store::{Deadlines, Store, StoreError};

use crate::auth::{Scope, TokenFile};
use crate::pool::{Pool, PoolError};

/// The name of the login cookie (it holds the token itself: servers keep
/// no session state, so any replica accepts it).
pub(crate) const COOKIE: &str = "drydock_token";

pub(crate) struct State {
    pub(crate) pool: Arc<Pool>,
    pub(crate) tokens: Option<TokenFile>,
    pub(crate) deadlines: Deadlines,
    pub(crate) secure_cookie: bool,
    pub(crate) log: Arc<dyn Fn(&str) + Send + Sync>,
    pub(crate) requests: RequestCounters,
    /// The overview's aggregates and when they were computed.
    pub(crate) overview:
        tokio::sync::Mutex<Option<(std::time::Instant, Arc<crate::pages::Overview>)>>,
    pub(crate) cache_ttl: std::time::Duration,
}

pub(crate) type Shared = Arc<State>;

/// Requests served by route template and status class (bounded labels).
#[derive(Default)]
pub(crate) struct RequestCounters(Mutex<BTreeMap<(String, u16), u64>>);

impl RequestCounters {
    fn add(&self, route: &str, status: StatusCode) {
        if let Ok(mut map) = self.0.lock() {
            *map.entry((route.to_owned(), status.as_u16() / 100))
                .or_default() += 1;
        }
    }
    pub(crate) fn snapshot(&self) -> Vec<((String, u16), u64)> {
        self.0
            .lock()
            .map(|map| map.iter().map(|(k, v)| (k.clone(), *v)).collect())
            .unwrap_or_default()
    }
}

/// What a handler fails with. Bodies say what was wrong with the request,
/// never what the server knows (no SQL, no paths, no URLs).
#[derive(Debug)]
pub(crate) enum ApiError {
    BadRequest(String),
    NotFound(String),
    Unauthorized,
    Forbidden,
    Unavailable,
    Internal,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            ApiError::BadRequest(message) => (StatusCode::BAD_REQUEST, message),
            ApiError::NotFound(message) => (StatusCode::NOT_FOUND, message),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized".to_owned()),
            ApiError::Forbidden => (
                StatusCode::FORBIDDEN,
                "forbidden: this token's scope does not allow it".to_owned(),
            ),
            ApiError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "the store is unavailable".to_owned(),
            ),
            ApiError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error (see the server log)".to_owned(),
            ),
        };
        let body = serde_json::json!({ "error": message }).to_string();
        let mut response = (status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"drydock\""),
            );
        }
        response
    }
}

impl State {
    /// Runs a store call; a failure is logged (with its cause chain) and
    /// answered with a body that says nothing about it.
    pub(crate) async fn store<T, F>(self: &Arc<Self>, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    {
        match self.pool.run(work).await {
            Ok(value) => Ok(value),
            Err(PoolError::Store(error)) => {
                (self.log)(&format!("store: {}", chain(&error)));
                Err(ApiError::Internal)
            }
            Err(PoolError::Task) => Err(ApiError::Unavailable),
        }
    }
}

pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text.replace('\n', " ")
}

/// A JSON response from text already serialised.
pub(crate) fn json_text(text: String) -> Response {
    let mut response = (StatusCode::OK, text).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

pub(crate) fn json(value: &impl serde::Serialize) -> Result<Response, ApiError> {
    serde_json::to_string(value)
        .map(json_text)
        .map_err(|_| ApiError::Internal)
}

/// The scope the request was granted (an extension set by [`authenticate`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Granted(pub(crate) Scope);

/// The token a request carries: `Authorization: Bearer …`, else the login cookie.
pub(crate) fn presented_token(headers: &HeaderMap) -> Option<String> {
    if let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (scheme, token) = value.trim().split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_owned());
    }
    for value in headers.get_all(header::COOKIE) {
        let Ok(text) = value.to_str() else { continue };
        for pair in text.split(';') {
            if let Some((name, token)) = pair.trim().split_once('=')
                && name == COOKIE
                && !token.is_empty()
            {
                return Some(token.to_owned());
            }
        }
    }
    None
}

/// Every route but the health checks, the login page and the static files.
async fn authenticate(
    Extract(state): Extract<Shared>,
    mut request: Request,
    next: Next,
) -> Response {
    let granted = match &state.tokens {
        None => Some(Scope::Admin),
        Some(tokens) => presented_token(request.headers()).and_then(|t| tokens.check(&t)),
    };
    let Some(scope) = granted else {
        let path = request.uri().path();
        let wants_html = !path.starts_with("/api/") && path != "/metrics";
        if wants_html {
            let target = request
                .uri()
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_owned();
            return redirect(&format!(
                "/login?next={}",
                crate::dashboard::url_encode(&target)
            ));
        }
        return ApiError::Unauthorized.into_response();
    };
    request.extensions_mut().insert(Granted(scope));
    next.run(request).await
}

async fn require_admin(request: Request, next: Next) -> Response {
    match request.extensions().get::<Granted>() {
        Some(Granted(Scope::Admin)) => next.run(request).await,
        _ => ApiError::Forbidden.into_response(),
    }
}

pub(crate) fn redirect(to: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

async fn headers(Extract(state): Extract<Shared>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let mut response = next.run(request).await;
    state.requests.add(&route, response.status());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if state.secure_cookie {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such route".to_owned())
}

pub(crate) fn router(state: Shared) -> Router {
    let admin = crate::api::admin_routes().layer(middleware::from_fn(require_admin));
    let protected = crate::api::routes()
        .merge(admin)
        .merge(crate::dashboard::routes())
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            authenticate,
        ));
    Router::new()
        .merge(protected)
        .merge(crate::api::open_routes())
        .merge(crate::dashboard::open_routes())
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(Arc::clone(&state), headers))
        .with_state(state)
}

/// A response with a body and a content type.
pub(crate) fn typed(content_type: &'static str, body: impl Into<Body>) -> Response {
    let mut response = Response::new(body.into());
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
