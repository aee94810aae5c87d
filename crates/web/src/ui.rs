//! The QA web UI: plain HTML, CSS and JavaScript modules from `crates/web/ui/`, embedded in the
//! binary so that it works offline with nothing to build or fetch. `/` and the UI's own page
//! paths (`/calls`, `/calls/{id}`, `/reports`, `/sign-in`) answer `index.html`, which routes on
//! the client; its files are under `/ui/`. Everything is answered with a strict
//! Content-Security-Policy (only this origin's scripts, styles, media and API) and an ETag, so a
//! browser revalidates instead of keeping a stale UI after an upgrade.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::error::ApiError;

/// Only this origin, no inline script or style, no framing.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     media-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// One embedded file.
struct Asset {
    /// Its name under `/ui/`.
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
    /// The bytes' FNV-1a hash, computed at compile time: the ETag.
    hash: u64,
}

impl Asset {
    /// The ETag header value, `"<hash in hex>"`.
    fn etag(&self) -> String {
        format!("\"{:016x}\"", self.hash)
    }
}

/// Embeds `crates/web/ui/$name` with its content type and ETag.
macro_rules! asset {
    ($name:literal, $type:expr) => {{
        const BODY: &[u8] = include_bytes!(concat!("../ui/", $name));
        const HASH: u64 = fnv1a(BODY);
        Asset {
            name: $name,
            content_type: $type,
            body: BODY,
            hash: HASH,
        }
    }};
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every file of the UI.
const ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("dom.js", JS),
    asset!("format.js", JS),
    asset!("charts.js", JS),
    asset!("waveform.js", JS),
    asset!("signin.js", JS),
    asset!("calls.js", JS),
    asset!("call.js", JS),
    asset!("reports.js", JS),
];

/// FNV-1a 64: a const fn, so every file's ETag is fixed at compile time.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

/// The UI's routes: its pages and its files (no sign-in: the API behind them checks that).
pub(crate) fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(index))
        .route("/sign-in", get(index))
        .route("/calls", get(index))
        .route("/calls/{id}", get(index))
        .route("/reports", get(index))
        .route("/ui/{*file}", get(file))
}

async fn index(request: HeaderMap) -> Response {
    serve(&ASSETS[0], &request)
}

async fn file(Path(name): Path<String>, request: HeaderMap) -> Response {
    match ASSETS.iter().find(|a| a.name == name) {
        Some(asset) => serve(asset, &request),
        None => ApiError::new(StatusCode::NOT_FOUND, "no such file of the web UI")
            .with_detail(json!({ "file": name }))
            .into_response(),
    }
}

/// The file, or 304 when the browser's copy (`If-None-Match`) is current.
fn serve(asset: &Asset, request: &HeaderMap) -> Response {
    let etag = asset.etag();
    let current = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag));
    let etag = HeaderValue::from_str(&etag).expect("hex in quotes");
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        ),
        (header::ETAG, etag),
        // Revalidate every time: the names carry no version, and a 304 is cheap.
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ),
    ];
    if current {
        (StatusCode::NOT_MODIFIED, headers).into_response()
    } else {
        (headers, asset.body).into_response()
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    use super::*;

    async fn get(path: &str, if_none_match: Option<&str>) -> Response {
        let mut request = Request::get(path);
        if let Some(tag) = if_none_match {
            request = request.header(header::IF_NONE_MATCH, tag);
        }
        router::<()>()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    fn text(asset: &Asset) -> &'static str {
        std::str::from_utf8(asset.body).unwrap()
    }

    #[tokio::test]
    async fn pages_answer_the_index_with_a_strict_policy() {
        for path in ["/", "/sign-in", "/calls", "/calls/0190abc", "/reports"] {
            let answer = get(path, None).await;
            assert_eq!(answer.status(), StatusCode::OK, "{path}");
            let h = answer.headers();
            assert_eq!(h[header::CONTENT_TYPE], "text/html; charset=utf-8");
            assert_eq!(h[header::CACHE_CONTROL], "no-cache");
            let csp = h[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
            assert!(csp.contains("script-src 'self';") && !csp.contains("unsafe"));
        }
    }

    #[tokio::test]
    async fn files_have_their_type_and_revalidate_with_the_etag() {
        let answer = get("/ui/app.js", None).await;
        assert_eq!(answer.status(), StatusCode::OK);
        assert_eq!(answer.headers()[header::CONTENT_TYPE], JS);
        let tag = answer.headers()[header::ETAG].to_str().unwrap().to_string();
        assert_eq!(tag.len(), 18);
        let again = get("/ui/app.js", Some(&tag)).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        let other = get("/ui/app.js", Some("\"0000000000000000\"")).await;
        assert_eq!(other.status(), StatusCode::OK);
        let css = get("/ui/style.css", None).await;
        assert_eq!(
            css.headers()[header::CONTENT_TYPE],
            "text/css; charset=utf-8"
        );
    }

    #[tokio::test]
    async fn an_unknown_file_is_a_json_404() {
        let answer = get("/ui/nope.js", None).await;
        assert_eq!(answer.status(), StatusCode::NOT_FOUND);
        assert_eq!(answer.headers()[header::CONTENT_TYPE], "application/json");
    }

    #[test]
    fn every_file_the_ui_refers_to_is_embedded() {
        let embedded = |name: &str| ASSETS.iter().any(|a| a.name == name);
        let mut referred = Vec::new();
        for asset in ASSETS {
            let body = text(asset);
            // `/ui/x` in the page, `from './x.js'` and `import('./x.js')` in modules.
            for (open, close) in [("/ui/", '"'), ("'./", '\'')] {
                for (at, _) in body.match_indices(open) {
                    let rest = &body[at + open.len()..];
                    referred.push(rest[..rest.find(close).unwrap()].to_string());
                }
            }
        }
        assert!(referred.iter().any(|r| r == "app.js"), "{referred:?}");
        for name in &referred {
            assert!(embedded(name), "{name} is referred to but not embedded");
        }
        let etags: std::collections::HashSet<_> = ASSETS.iter().map(|a| a.hash).collect();
        assert_eq!(etags.len(), ASSETS.len(), "every file has its own ETag");
    }
}
