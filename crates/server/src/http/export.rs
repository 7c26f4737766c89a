//! The HTTP face of `crate::export`: `GET /api/v1/exports/households.csv`,
//! `GET /api/v1/exports/households.geojson`, `GET /api/v1/exports/visits.csv`,
//! `GET /api/v1/exports/visits.geojson`.

use crate::export::{ExportSpec, Format, What, run};
use crate::filter::RowQuery;
use crate::http::extract::{Query, ReqLang, Staff};
use crate::http::filter::FilterQuery;
use crate::http::filter::parse_filter;
use crate::http::{ApiError, AppState, scoped_area};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use doorstep_domain::protocol::ErrorResponse;
use serde::Deserialize;
use tokio::sync::mpsc;

/// Exports running at once in this process: each holds a database connection (and, on SQLite, a
/// thread) for as long as its download lasts. One more is answered 503, to try again.
const MAX_RUNNING: usize = 4;
static RUNNING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(MAX_RUNNING);

/// What every export handler takes, in the order its checks run: staff only (403), the export's
/// query and the filter's (400), then the area's scope (404, 403).
type ExportRequest = (State<AppState>, ReqLang, Staff, Query<ExportQuery>, Query<FilterQuery>);

async fn export_response(
    (State(st), ReqLang(lang), caller, Query(q), Query(mut fq)): ExportRequest, what: What, format: Format,
) -> Result<Response, ApiError> {
    let (area, path) = scoped_area(&st, &caller.0, &q.area, "area", lang).await?;
    let date = q.date.as_deref().map(str::trim).filter(|d| !d.is_empty());
    if let Some(d) = date {
        fq.from = Some(d.to_string());
        fq.to = Some(d.to_string());
    }
    let filter = parse_filter(&st, &caller.0, &fq, lang).await?;
    let permit = RUNNING.try_acquire().map_err(|_| {
        ApiError::of(axum::http::StatusCode::SERVICE_UNAVAILABLE, "exports_busy", lang).messages(
            doorstep_domain::Messages {
                vi: "Máy chủ đang xuất nhiều tệp dữ liệu; hãy thử lại sau ít phút.".into(),
                en: "The server is making several exports; try again in a few minutes.".into(),
            },
        )
    })?;
    let spec = ExportSpec { query: RowQuery::subtree(&path, filter, None), what, format, lang };
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let (store, campaign) = (st.reads(), st.campaign.clone());
    tokio::spawn(async move {
        // Held until the download ends, however it ends.
        let _permit = permit;
        let (chunks, mut chunk_rx) = mpsc::channel::<Vec<u8>>(4);
        let forward = async {
            while let Some(c) = chunk_rx.recv().await {
                if tx.send(Ok(Bytes::from(c))).await.is_err() {
                    break;
                }
            }
        };
        let export = async move { run(store.as_ref(), &campaign, spec, &chunks).await };
        let (result, ()) = tokio::join!(export, forward);
        match result {
            Ok(rows) => tracing::debug!(rows, what = what.name(), "export sent"),
            Err(e) => {
                tracing::error!(error = %e, "export failed");
                // The body ends in an error, so the download is seen to have failed.
                let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
            }
        }
    });
    // Fused: the compression layer may poll once more after the end, which an unfused unfold
    // answers with a panic.
    let stream = futures_util::StreamExt::fuse(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }));
    let mut response = Body::from_stream(stream).into_response();
    let name = match date {
        Some(d) => format!("doorstep-{}-{area}-{d}.{}", what.name(), format.extension()),
        None => format!("doorstep-{}-{area}.{}", what.name(), format.extension()),
    };
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

/// One export handler: its path, its format's media type, and what it sends.
macro_rules! export_handler {
    ($(#[doc = $doc:literal])* $name:ident, $path:literal, $media:literal, $what:expr, $format:expr) => {
        $(#[doc = $doc])*
        #[utoipa::path(get, path = $path, params(ExportQuery, FilterQuery), responses(
            (status = 200, description = "The export, streamed", content_type = $media),
            (status = 400, body = ErrorResponse), (status = 403, body = ErrorResponse),
            (status = 404, body = ErrorResponse),
            (status = 503, description = "Too many exports running; try again", body = ErrorResponse)
        ))]
        pub async fn $name(
            st: State<AppState>,
            lang: ReqLang,
            caller: Staff,
            q: Query<ExportQuery>,
            fq: Query<FilterQuery>,
        ) -> Result<Response, ApiError> {
            export_response((st, lang, caller, q, fq), $what, $format).await
        }
    };
}

export_handler!(
    /// The households of an area (their latest visit's figures, under the filters) as CSV: UTF-8
    /// with a byte-order mark, a header row.
    households_csv, "/api/v1/exports/households.csv", "text/csv", What::Households, Format::Csv
);
export_handler!(
    /// The households of an area as a GeoJSON FeatureCollection of points (no geometry when
    /// unlocated).
    households_geojson, "/api/v1/exports/households.geojson", "application/geo+json", What::Households, Format::GeoJson
);
export_handler!(
    /// The visits of an area (by date, team and outcome), in receive order, as CSV: UTF-8 with a
    /// byte-order mark, a header row.
    visits_csv, "/api/v1/exports/visits.csv", "text/csv", What::Visits, Format::Csv
);
export_handler!(
    /// The visits of an area as a GeoJSON FeatureCollection of points (no geometry when
    /// unlocated).
    visits_geojson, "/api/v1/exports/visits.geojson", "application/geo+json", What::Visits, Format::GeoJson
);

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// The area (a GSO code); everything below it is exported.
    #[param(value_type = crate::http::params::AreaCode)]
    pub area: String,
    /// One day, `YYYY-MM-DD` on the phones' calendar (the same as `from` and `to` that day).
    #[param(value_type = crate::http::params::DayOrBlank, required = false)]
    pub date: Option<String>,
}
