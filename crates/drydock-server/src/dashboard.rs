//! The web dashboard: server-rendered HTML (maud), one stylesheet and one
//! small script embedded in the binary, charts as SVG. Every page has a
//! stable URL whose query string holds its filters.
use axum::Router;
use axum::extract::{Form, Query, State as Extract};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{DOCTYPE, Markup, html};

use crate::http::{COOKIE, Shared, redirect, typed};

const STYLE: &str = include_str!("../assets/style.css");
const SCRIPT: &str = include_str!("../assets/app.js");
const ICON: &str = include_str!("../assets/favicon.svg");

pub(crate) fn open_routes() -> Router<Shared> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", axum::routing::post(logout))
        .route("/static/style.css", get(style))
        .route("/static/app.js", get(script))
        .route("/favicon.ico", get(icon))
        .route("/static/favicon.svg", get(icon))
}

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/", get(crate::pages::overview))
        .route("/clusters", get(crate::pages::clusters))
        .route("/clusters/{cluster}", get(crate::pages::cluster))
        .route(
            "/clusters/{cluster}/{namespace}",
            get(crate::pages::namespace),
        )
        .route("/images", get(crate::pages::images))
        .route("/images/{digest}", get(crate::pages::image))
        .route("/vulnerabilities", get(crate::pages::vulnerabilities))
        .route("/vulnerabilities/{id}", get(crate::pages::vulnerability))
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
pub(crate) fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            let _ = std::fmt::Write::write_fmt(&mut out, format_args!("%{byte:02X}"));
        }
    }
    out
}

fn cached(content_type: &'static str, body: &'static str) -> Response {
    let mut response = typed(content_type, body);
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}

async fn style() -> Response {
    cached("text/css; charset=utf-8", STYLE)
}

async fn icon() -> Response {
    cached("image/svg+xml", ICON)
}

async fn script() -> Response {
    cached("text/javascript; charset=utf-8", SCRIPT)
}

/// The page frame: header with navigation, main, the script.
pub(crate) fn page(title: &str, current: &str, body: &Markup) -> Markup {
    let nav = [
        ("/", "Overview"),
        ("/clusters", "Clusters"),
        ("/images", "Images"),
        ("/vulnerabilities", "Vulnerabilities"),
    ];
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · drydock" }
                link rel="icon" href="/static/favicon.svg" type="image/svg+xml";
                link rel="stylesheet" href="/static/style.css";
                script src="/static/app.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header {
                    nav aria-label="Main" {
                        span.brand { "drydock" }
                        ul {
                            @for (href, label) in nav {
                                li {
                                    @if href == current {
                                        a href=(href) aria-current="page" { (label) }
                                    } @else {
                                        a href=(href) { (label) }
                                    }
                                }
                            }
                        }
                    }
                }
                main #main { (body) }
                footer {
                    form method="post" action="/logout" {
                        button.link type="submit" { "Log out" }
                    }
                }
            }
        }
    }
}

pub(crate) fn html_response(markup: Markup) -> Response {
    typed("text/html; charset=utf-8", markup.into_string())
}

#[derive(serde::Deserialize)]
struct LoginQuery {
    next: Option<String>,
    failed: Option<String>,
}

/// Only a local path may be a redirect target (no `//host`, no scheme).
fn local_target(next: Option<&str>) -> String {
    match next {
        Some(next) if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') => {
            next.to_owned()
        }
        _ => "/".to_owned(),
    }
}

async fn login_page(Query(query): Query<LoginQuery>) -> Response {
    let next = local_target(query.next.as_deref());
    html_response(html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Log in · drydock" }
                link rel="icon" href="/static/favicon.svg" type="image/svg+xml";
                link rel="stylesheet" href="/static/style.css";
            }
            body {
                main #main .login {
                    h1 { "drydock" }
                    form method="post" action="/login" {
                        input type="hidden" name="next" value=(next);
                        label for="token" { "API token" }
                        input #token type="password" name="token" autocomplete="current-password" required;
                        @if query.failed.is_some() {
                            p.error role="alert" { "That token is not valid." }
                        }
                        button type="submit" { "Log in" }
                    }
                }
            }
        }
    })
}

#[derive(serde::Deserialize)]
struct LoginForm {
    token: String,
    next: Option<String>,
}

async fn login(Extract(state): Extract<Shared>, Form(form): Form<LoginForm>) -> Response {
    let next = local_target(form.next.as_deref());
    let valid = match &state.tokens {
        None => true,
        Some(tokens) => tokens.check(form.token.trim()).is_some(),
    };
    if !valid {
        return redirect(&format!("/login?failed=1&next={}", url_encode(&next)));
    }
    let mut response = redirect(&next);
    let secure = if state.secure_cookie { "; Secure" } else { "" };
    if state.tokens.is_some()
        && let Ok(value) = HeaderValue::from_str(&format!(
            "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict{secure}",
            form.token.trim()
        ))
    {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

async fn logout() -> Response {
    let mut response = redirect("/login");
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("drydock_token=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    response.into_response()
}
