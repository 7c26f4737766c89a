//! The dashboard's files, embedded in the binary (no network, no files beside it at run time),
//! served at `/`: hashed assets cached for good, `index.html` for every page of the app.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

#[derive(rust_embed::RustEmbed)]
#[folder = "$DOORSTEP_DASHBOARD_DIR"]
struct Files;

/// Only the dashboard's own scripts, styles and workers (MapLibre's run from blob: URLs).
const CSP: &str = "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; \
    worker-src 'self' blob:; child-src blob:; connect-src 'self' blob: data:; frame-ancestors 'none'";

fn file(path: &str, immutable: bool) -> Option<Response> {
    let f = Files::get(path)?;
    let mime = f.metadata.mimetype().to_string();
    let mut response = Response::new(Body::from(f.data.into_owned()));
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&mime) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if immutable { "public, max-age=31536000, immutable" } else { "no-cache" }),
    );
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    Some(response)
}

/// Serves the dashboard for GET and HEAD outside `/api/`; everything else is the JSON 404.
pub async fn serve(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().trim_start_matches('/');
    if !(method == Method::GET || method == Method::HEAD) || path.starts_with("api/") || path == "api" {
        return crate::http::router::not_found(headers).await.into_response();
    }
    if let Some(asset) = path.strip_prefix("assets/") {
        return file(&format!("assets/{asset}"), true)
            .unwrap_or_else(|| (StatusCode::NOT_FOUND, "no such file").into_response());
    }
    if !path.is_empty()
        && let Some(r) = file(path, false)
    {
        return r;
    }
    // A page of the app (or the root): the app decides what to show.
    file("index.html", false).unwrap_or_else(|| (StatusCode::NOT_FOUND, "no dashboard").into_response())
}
