//! The dashboard's files, embedded in the binary (no network, no files beside it at run time),
//! served at `/`: hashed assets cached for good, `index.html` for the root. The dashboard is one
//! page (its views are not paths), so any other path is a 404: a small page for a browser, the
//! JSON error for anything else.

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
    if path.is_empty() {
        return file("index.html", false).unwrap_or_else(|| (StatusCode::NOT_FOUND, "no dashboard").into_response());
    }
    if let Some(r) = file(path, false) {
        return r;
    }
    let wants_page = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"));
    if wants_page {
        return not_found_page();
    }
    crate::http::router::not_found(headers).await.into_response()
}

/// `/api/docs`: the OpenAPI document in Swagger UI, from files built beside the dashboard's
/// (`ui/apidocs`, Swagger UI from npm), so nothing is fetched from elsewhere.
pub async fn api_docs_page() -> Response {
    file("api-docs/index.html", false).unwrap_or_else(|| {
        (
            StatusCode::NOT_FOUND,
            "The API page is not built: run `npm run build:dashboard` in ui/, then build the server.",
        )
            .into_response()
    })
}

/// The API page's scripts and styles (`/api/docs/swagger-ui-bundle.js`, ...).
pub async fn api_docs_file(axum::extract::Path(name): axum::extract::Path<String>, headers: HeaderMap) -> Response {
    match file(&format!("api-docs/{name}"), false) {
        Some(r) if name != "index.html" => r,
        _ => crate::http::router::not_found(headers).await.into_response(),
    }
}

/// What a person who typed a wrong address sees: both languages, and the way back.
fn not_found_page() -> Response {
    const PAGE: &str = "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\">\
        <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>404</title></head>\
        <body style=\"font-family: system-ui, sans-serif; margin: 2rem; line-height: 1.5\">\
        <h1>Không có trang này</h1><p>Địa chỉ này không có trên máy chủ. <a href=\"/\">Về trang chính</a></p>\
        <p lang=\"en\">No such page on this server. <a href=\"/\">Go to the dashboard</a></p></body></html>";
    let mut response = (StatusCode::NOT_FOUND, PAGE).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
