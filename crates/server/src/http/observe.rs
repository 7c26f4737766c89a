//! What every request leaves behind: a request id (taken from `x-request-id` or made, echoed on
//! the answer and carried by every log line written for it), one access-log line, and its
//! count and time in `/metrics`.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use super::AppState;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A caller's id is kept when it is short and plain (what proxies and tracing tools send), so it
/// can neither bloat nor forge a log line; otherwise the server makes one.
pub fn request_id(given: Option<&HeaderValue>) -> String {
    given
        .and_then(|v| v.to_str().ok())
        .filter(|v| (1..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b)))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::now_v7().simple().to_string())
}

/// The route's pattern for the figures: never the raw path, so a scanner's thousand paths make
/// one label value, not a thousand.
fn route_label(request: &Request) -> String {
    match request.extensions().get::<MatchedPath>() {
        Some(p) => p.as_str().to_string(),
        None if request.uri().path().starts_with("/api") => "unmatched".into(),
        None => "dashboard".into(),
    }
}

pub(crate) async fn observe(State(st): State<AppState>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id(request.headers().get(&REQUEST_ID));
    if let Ok(v) = HeaderValue::from_str(&id) {
        request.headers_mut().insert(REQUEST_ID, v);
    }
    let route = route_label(&request);
    let method = request.method().clone();
    // Any token is a method to HTTP: only the known ones become label values.
    let method_label = match method.as_str() {
        m @ ("GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS") => m,
        _ => "other",
    };
    let path = request.uri().path().to_string();
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| super::auth::client_ip(c.0.ip(), request.headers(), &st.limits.trusted_proxies).to_string())
        .unwrap_or_default();
    let span = tracing::info_span!("request", request_id = %id);
    let mut response = next.run(request).instrument(span.clone()).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, v);
    }
    let took = started.elapsed();
    let status = response.status();
    st.metrics.request(&route, method_label, status.as_u16(), took);
    let bytes = response.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).unwrap_or("-").to_string();
    span.in_scope(|| {
        tracing::info!(
            target: "doorstep::access",
            method = %method,
            path = %path,
            status = status.as_u16(),
            ms = took.as_secs_f64() * 1000.0,
            bytes = %bytes,
            client = %client,
            "request"
        );
    });
    response
}

/// `GET /metrics`: the server's figures in Prometheus's text format (`crate::metrics`).
#[utoipa::path(get, path = "/metrics", responses(
    (status = 200, description = "Prometheus text format, version 0.0.4", body = String, content_type = "text/plain"),
    (status = 503, description = "The database does not answer", body = super::ErrorResponse)
))]
pub(crate) async fn metrics(State(st): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    match st.metrics.render(&*st.store).await {
        Ok(text) => (StatusCode::OK, [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text).into_response(),
        Err(e) => super::ApiError::store(e, super::lang_of(&headers)).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_request_id_is_kept_and_anything_else_replaced() {
        let kept = HeaderValue::from_static("abc-123_x.y:z");
        assert_eq!(request_id(Some(&kept)), "abc-123_x.y:z");
        for bad in ["", "has space", "new\u{7f}line", &"x".repeat(65)] {
            let v = HeaderValue::from_str(bad).ok();
            let made = request_id(v.as_ref());
            assert_ne!(made, bad);
            assert_eq!(made.len(), 32, "{made}");
        }
        assert_eq!(request_id(None).len(), 32);
    }
}
