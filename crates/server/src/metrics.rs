//! What IT watches: the figures `/metrics` gives in Prometheus's text format, every name
//! `doorstep_*` (docs/metrics.md lists them, with a scrape config and a Grafana dashboard).
//!
//! Counted where they happen: requests by route and status (`http/observe.rs`), visits and
//! batches by the push's answer, commits by the store. The gauges that need the database (phones
//! gone quiet, corrections open) are read when scraped, at most once per [`DB_GAUGES_FOR`], so a
//! scraper polling hard costs one pair of counts.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use crate::db::Db;
use crate::store::StoreError;

/// How long the database's gauges are reused between scrapes.
pub const DB_GAUGES_FOR: Duration = Duration::from_secs(15);

/// A phone silent for longer than this is counted as gone quiet (the devices list's default).
pub const STALE_AFTER: Duration = Duration::from_secs(24 * 3600);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The route's pattern (`/api/v1/visits/{id}`), `dashboard` for its files, `unmatched` else:
    /// never the raw path, so the label's values stay few.
    pub route: String,
    pub method: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
    pub method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VisitLabels {
    /// `stored`, `duplicate` or `refused`.
    pub result: String,
    /// The refusal's error code (`""` unless refused).
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteOnly {
    pub route: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 1 ms to about 33 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// Every figure the server keeps, and the registry that prints them.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily<RouteLabels>,
    visits: Family<VisitLabels, Counter>,
    batch_size: Histogram,
    sign_in_failures: Counter,
    throttled: Family<RouteOnly, Counter>,
    /// The store's commit of a push (on SQLite, the writer's group commit).
    pub commit_seconds: Histogram,
    writer_queue: Gauge,
    pool_size: Gauge,
    pool_available: Gauge,
    pool_waiting: Gauge,
    pool_max: Gauge,
    phones_stale: Gauge,
    phones_live: Gauge,
    corrections_open: Gauge,
    db_gauges_read: Mutex<Option<Instant>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("doorstep");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests answered, by route, method and status", requests.clone());
        let latency: HistogramFamily<RouteLabels> = Family::new_with_constructor(latency_histogram);
        registry.register_with_unit(
            "http_request_duration",
            "Time from a request's headers to its answer's, by route",
            Unit::Seconds,
            latency.clone(),
        );
        let visits = Family::<VisitLabels, Counter>::default();
        registry.register(
            "visits",
            "Visit records pushed by phones, by result (stored, duplicate, refused) and refusal reason",
            visits.clone(),
        );
        let batch_size = Histogram::new(exponential_buckets(1.0, 2.0, 14));
        registry.register("push_batch_records", "Records per push batch", batch_size.clone());
        let sign_in_failures = Counter::default();
        registry.register(
            "sign_in_failures",
            "Sign-ins refused for a wrong username or password",
            sign_in_failures.clone(),
        );
        let throttled = Family::<RouteOnly, Counter>::default();
        registry.register(
            "throttled",
            "Requests refused by a throttle (too many attempts), by route",
            throttled.clone(),
        );
        let commit_seconds = latency_histogram();
        registry.register_with_unit(
            "store_commit_duration",
            "Time to store and commit one push transaction (on SQLite, one group commit)",
            Unit::Seconds,
            commit_seconds.clone(),
        );
        let gauge = |registry: &mut Registry, name: &str, help: &str| {
            let g = Gauge::default();
            registry.register(name, help, g.clone());
            g
        };
        let writer_queue =
            gauge(&mut registry, "sqlite_writer_queue", "Push batches waiting for the SQLite writer (0 on PostgreSQL)");
        let pool_size = gauge(&mut registry, "pg_pool_connections", "PostgreSQL connections open (0 on SQLite)");
        let pool_available =
            gauge(&mut registry, "pg_pool_idle", "PostgreSQL connections idle in the pool (0 on SQLite)");
        let pool_waiting =
            gauge(&mut registry, "pg_pool_waiting", "Requests waiting for a PostgreSQL connection (0 on SQLite)");
        let pool_max = gauge(&mut registry, "pg_pool_max", "The PostgreSQL pool's largest size (0 on SQLite)");
        let phones_stale = gauge(
            &mut registry,
            "phones_stale",
            "Enrolled phones, not revoked, that have not synced for 24 hours (or never)",
        );
        let phones_live = gauge(&mut registry, "phones_enrolled", "Enrolled phones not revoked");
        let corrections_open =
            gauge(&mut registry, "corrections_open", "Visits sent back to their volunteer and not yet answered");
        Metrics {
            registry,
            requests,
            latency,
            visits,
            batch_size,
            sign_in_failures,
            throttled,
            commit_seconds,
            writer_queue,
            pool_size,
            pool_available,
            pool_waiting,
            pool_max,
            phones_stale,
            phones_live,
            corrections_open,
            db_gauges_read: Mutex::new(None),
        }
    }

    /// One request answered. `route` is the matched pattern (or `dashboard` / `unmatched`).
    pub fn request(&self, route: &str, method: &str, status: u16, took: Duration) {
        self.requests.get_or_create(&RequestLabels { route: route.into(), method: method.into(), status }).inc();
        self.latency
            .get_or_create(&RouteLabels { route: route.into(), method: method.into() })
            .observe(took.as_secs_f64());
        if status == 429 {
            self.throttled.get_or_create(&RouteOnly { route: route.into() }).inc();
        }
        if status == 401 && route == "/api/v1/auth/login" {
            self.sign_in_failures.inc();
        }
    }

    /// A push answered: its receipts, counted by result.
    pub fn push(&self, receipts: &[doorstep_domain::protocol::Receipt]) {
        use doorstep_domain::protocol::ReceiptStatus;
        self.batch_size.observe(receipts.len() as f64);
        for r in receipts {
            let (result, reason) = match r.status {
                ReceiptStatus::Stored => ("stored", ""),
                ReceiptStatus::Duplicate => ("duplicate", ""),
                ReceiptStatus::Rejected => ("refused", r.error.as_ref().map_or("unknown", |e| e.code.as_str())),
            };
            self.visits.get_or_create(&VisitLabels { result: result.into(), reason: reason.into() }).inc();
        }
    }

    /// The figures in Prometheus's text format, the database's gauges read first (or reused).
    pub async fn render(&self, db: &dyn Db) -> Result<String, StoreError> {
        let load = db.load();
        self.writer_queue.set(load.writer_queue);
        self.pool_size.set(load.pool_size);
        self.pool_available.set(load.pool_idle);
        self.pool_waiting.set(load.pool_waiting);
        self.pool_max.set(load.pool_max);
        let due = {
            let read = self.db_gauges_read.lock().unwrap_or_else(|e| e.into_inner());
            read.is_none_or(|at| at.elapsed() >= DB_GAUGES_FOR)
        };
        if due {
            let now = chrono::Utc::now().timestamp_millis();
            let before = now - i64::try_from(STALE_AFTER.as_millis()).unwrap_or(i64::MAX);
            let (live, stale) = crate::volunteers::phones_quiet(db, before).await?;
            self.phones_live.set(live);
            self.phones_stale.set(stale);
            self.corrections_open.set(crate::corrections::open_count(db).await?);
            *self.db_gauges_read.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        }
        let mut out = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)
            .map_err(|e| StoreError::Task(format!("writing the metrics: {e}")))?;
        Ok(out)
    }
}

/// The `Content-Type` of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;
