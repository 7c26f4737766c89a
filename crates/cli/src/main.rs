//! `doorstep`: the one command. `serve` runs the server, `admin` changes its database,
//! `simulate` runs headless volunteers on the real device code.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use doorstep::{demo, simulate};
use doorstep_domain::Campaign;
use doorstep_server::manage::Actor;
use doorstep_server::{AppState, Limits};

#[derive(Parser)]
#[command(name = "doorstep", version, about = "Door-to-door campaign visits: field sync server, admin and simulator")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (API and, later, the dashboard).
    Serve(ServeArgs),
    /// Change the server's database: import areas, and more as it comes.
    Admin(AdminArgs),
    /// Headless volunteers on the real device code: record visits offline, then sync.
    Simulate(simulate::SimulateArgs),
    /// Write the daily report of an area (an XLSX workbook: summary, units ranked, days, the
    /// day's visits), as the dashboard's download gives it; or, with --format csv or geojson,
    /// the area's households or visits.
    Export(ExportArgs),
}

#[derive(clap::Args)]
struct ExportArgs {
    /// Database: sqlite:PATH or postgres://...
    #[arg(long, default_value = "sqlite:doorstep.db", env = "DOORSTEP_DB")]
    db: String,
    /// The area (a GSO code).
    #[arg(long)]
    area: String,
    /// The day, YYYY-MM-DD (default: today in the campaign's time zone). For csv and geojson:
    /// only that day's visits (households: those visited that day); default every day.
    #[arg(long)]
    date: Option<String>,
    /// Language of the labels: vi or en.
    #[arg(long, default_value = "vi")]
    lang: String,
    /// Where to write the file; must not exist.
    #[arg(long)]
    out: PathBuf,
    /// xlsx (the daily report), csv (UTF-8 with a BOM, for Excel) or geojson.
    #[arg(long, default_value = "xlsx", value_parser = ["xlsx", "csv", "geojson"])]
    format: String,
    /// For csv and geojson: households (with their latest visit's figures) or visits.
    #[arg(long, default_value = "households", value_parser = ["households", "visits"])]
    what: String,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Database: sqlite:PATH.
    #[arg(long, default_value = "sqlite:doorstep.db", env = "DOORSTEP_DB")]
    db: String,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", env = "DOORSTEP_LISTEN")]
    listen: SocketAddr,
    /// Load the demo campaign on Hà Tĩnh (areas, households, visits from simulated volunteers).
    #[arg(long)]
    demo: bool,
    /// Serve area and hexagon figures without a login at /api/v1/public/ (no points, no ids;
    /// groups of fewer than --public-k households hidden). Off by default.
    #[arg(long, env = "DOORSTEP_PUBLIC_AGGREGATES")]
    public_aggregates: bool,
    /// The least households a public figure may describe.
    #[arg(long, default_value_t = doorstep_server::public::DEFAULT_K, env = "DOORSTEP_PUBLIC_K",
        value_parser = clap::value_parser!(i64).range(2..))]
    public_k: i64,
    /// Reverse proxies in front of the server (CIDR blocks or addresses, comma-separated): only
    /// for a connection from one of them is the client's address read from its Forwarded or
    /// X-Forwarded-For header, for the sign-in and enrolment throttles. None by default: the
    /// connecting address is the client (a header sent by anyone else is never read).
    #[arg(long, env = "DOORSTEP_TRUSTED_PROXIES", value_name = "CIDR[,CIDR...]", default_value = "",
        hide_default_value = true, value_parser = doorstep_server::auth::TrustedProxies::parse)]
    trusted_proxies: doorstep_server::auth::TrustedProxies,
    /// Seconds a connection may take to send a request's headers (from when it opens, or from
    /// its first byte after an idle wait).
    #[arg(long, default_value_t = 10, env = "DOORSTEP_HEADER_READ_TIMEOUT", value_name = "SECS",
        value_parser = clap::value_parser!(u64).range(1..))]
    header_read_timeout: u64,
    /// Seconds a connection may stay open idle between requests.
    #[arg(long, default_value_t = 30, env = "DOORSTEP_KEEP_ALIVE_TIMEOUT", value_name = "SECS",
        value_parser = clap::value_parser!(u64).range(1..))]
    keep_alive_timeout: u64,
    /// Connections open at once; further ones wait to be accepted until one closes (logged).
    #[arg(long, default_value_t = 512, env = "DOORSTEP_MAX_CONNECTIONS", value_name = "N",
        value_parser = clap::value_parser!(u64).range(1..))]
    max_connections: u64,
}

#[derive(clap::Args)]
struct AdminArgs {
    /// Database: sqlite:PATH.
    #[arg(long, default_value = "sqlite:doorstep.db", env = "DOORSTEP_DB")]
    db: String,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Import an area tree: a GSO JSON tree (as in data/areas/) or a GeoJSON FeatureCollection
    /// with boundaries. All or nothing; importing the same file again changes nothing.
    ImportAreas {
        /// The file to import.
        file: PathBuf,
    },
    /// Create an account. The password is read from DOORSTEP_PASSWORD, or else from the first
    /// line of standard input, so it never appears in the process list or shell history.
    CreateUser {
        #[arg(long)]
        username: String,
        /// admin, committee, leader or volunteer.
        #[arg(long)]
        role: String,
        /// The area (GSO code) the role applies to, with everything below it.
        #[arg(long)]
        area: String,
    },
    /// Issue a one-time code with which a volunteer's phone enrols (valid 24 hours).
    EnrolCode {
        /// The volunteer's username.
        #[arg(long)]
        volunteer: String,
        /// Also write the code as a QR image (SVG) to this file.
        #[arg(long)]
        qr: Option<PathBuf>,
    },
    /// Create a team over an area, led by a team leader whose own area holds it.
    CreateTeam {
        #[arg(long)]
        name: String,
        /// The team's area (a GSO code).
        #[arg(long)]
        area: String,
        /// The leader's username.
        #[arg(long)]
        leader: String,
    },
    /// Put a volunteer in a team and assign them an area inside the team's. From then on the
    /// volunteer reads only their assigned areas, and visits outside them are flagged.
    Assign {
        #[arg(long)]
        team: String,
        #[arg(long)]
        volunteer: String,
        /// The assigned area (a GSO code).
        #[arg(long)]
        area: String,
    },
    /// Give a street of an area, or one household, to a volunteer; whoever held it is released
    /// (the hand-over). Phones see it at their next sync.
    GiveClaim {
        /// The volunteer's username.
        #[arg(long)]
        volunteer: String,
        /// The area of the street (a GSO code); with --street.
        #[arg(long, requires = "street", conflicts_with = "household")]
        area: Option<String>,
        /// The street or hamlet as addresses name it ("Trần Phú"; no house number needed).
        #[arg(long, requires = "area")]
        street: Option<String>,
        /// The household's UUID, instead of a street.
        #[arg(long)]
        household: Option<String>,
    },
    /// Release a claim: its doors are free again at the phones' next sync.
    ReleaseClaim {
        /// The claim's UUID.
        #[arg(long)]
        claim: String,
    },
    /// Revoke a lost phone: its token reads nothing any more; when it next reaches the server it
    /// uploads what it still holds, then erases its data and shows why.
    RevokeDevice {
        /// The device's UUID.
        #[arg(long)]
        device: String,
        /// Why, shown on the phone once it has erased itself (at most 200 characters).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Import targets per area from a table (CSV, or the first sheet of an .xlsx): an area code
    /// column and any of households, population, smartphone owners (Vietnamese or English
    /// headers). Every problem is reported by line; a file with any problem imports nothing.
    ImportTargets {
        /// The table.
        file: PathBuf,
    },
    /// Import enumerated buildings from GeoJSON (a FeatureCollection, or one feature per line as
    /// `osmium export` writes): footprints or points, each an expected household in the deepest
    /// area whose imported boundary holds it. Buildings outside every boundary, or where
    /// volunteers already found a household, are reported and left out; a malformed feature
    /// imports nothing. Importing the same file again adds nothing.
    ImportBuildings {
        /// The GeoJSON file.
        file: PathBuf,
    },
    /// The campaign the server runs: load one from a file, or show the one running.
    Campaign {
        #[command(subcommand)]
        action: CampaignAction,
    },
    /// The base map the dashboard and the phones draw under the households: a PMTiles file of
    /// the province's streets (README, "Base map", says how to cut one).
    Basemap {
        #[command(subcommand)]
        action: BasemapAction,
    },
    /// Show the audit log of administrative actions, newest first, as JSON lines.
    Audit {
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Write a consistent copy of a SQLite database to FILE while the server keeps running
    /// (SQLite's `VACUUM INTO`). For PostgreSQL use pg_dump (docs/DEPLOY.md).
    Backup {
        /// Where to write the copy; must not exist.
        file: PathBuf,
    },
    /// Copy a whole server state from a SQLite file to PostgreSQL (areas, households, visits,
    /// devices, cursors), then verify counts and checksums. Stop the server first. Running it
    /// again copies nothing more and verifies again.
    Migrate {
        /// The SQLite database: sqlite:PATH.
        #[arg(long)]
        from: String,
        /// The PostgreSQL database: postgres://USER@HOST:PORT/DB.
        #[arg(long)]
        to: String,
    },
}

#[derive(Subcommand)]
enum CampaignAction {
    /// Load a campaign definition (JSON, as data/campaigns/bluezone-2020.json): its target app
    /// and store links, its outcomes with their labels and rules, its thresholds. Checked whole
    /// first; a bad file changes nothing. Restart the server to run it.
    Load {
        /// The campaign file.
        file: PathBuf,
    },
    /// Print the campaign the server runs (the default when none was loaded), as JSON.
    Show,
}

#[derive(Subcommand)]
enum BasemapAction {
    /// Import a PMTiles (version 3) file as the base map, replacing the one held, all or
    /// nothing. Served at once to staff and enrolled phones (range requests); phones fetch it
    /// when they next sync.
    Import {
        /// The .pmtiles file.
        file: PathBuf,
        /// What to call it (default: the file's name).
        #[arg(long)]
        name: Option<String>,
    },
    /// Print the base map held (name, SHA-256, size, zooms, bounds) as JSON, or say there is none.
    Show,
}

fn tokio_postgres_cap() -> tracing_subscriber::filter::Directive {
    // A constant that parses; the fallback (everything at info) is only for the impossible case.
    "tokio_postgres=info".parse().unwrap_or_else(|_| tracing::Level::INFO.into())
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn".into())
                // tokio-postgres logs every query's parameters at debug level (addresses, notes,
                // token hashes): never below info, whatever RUST_LOG asks.
                .add_directive(tokio_postgres_cap()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve(args).await,
            Command::Admin(args) => admin(args).await,
            Command::Simulate(args) => simulate::run(args).await,
            Command::Export(args) => export(args).await,
        }
    })
}

async fn export(args: ExportArgs) -> Result<()> {
    let area = doorstep_domain::values::AreaCode::parse("area", &args.area)
        .map_err(|e| anyhow::anyhow!("{}", e.messages().en))?;
    let lang = match args.lang.as_str() {
        "vi" => doorstep_domain::Lang::Vi,
        "en" => doorstep_domain::Lang::En,
        other => anyhow::bail!("--lang is vi or en, not {other:?}"),
    };
    anyhow::ensure!(!args.out.exists(), "{} exists already; choose another file", args.out.display());
    let store = doorstep_server::open_store(&args.db).await.with_context(|| format!("opening {}", args.db))?;
    let campaign = doorstep_server::campaign::running_campaign(store.as_ref()).await?;
    let date = match &args.date {
        Some(d) => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .with_context(|| format!("--date {d:?} is not YYYY-MM-DD"))?,
        None => (chrono::Utc::now() + chrono::Duration::minutes(i64::from(campaign.utc_offset_minutes))).date_naive(),
    };
    if args.format != "xlsx" {
        return export_rows(store.as_ref(), &campaign, &args, &area, lang).await;
    }
    let report = doorstep_server::report::daily_report(store.as_ref(), &campaign, &area, date)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no area has the code {area}"))?;
    let bytes = doorstep_server::report::daily_workbook(&report, &campaign, lang)?;
    std::fs::write(&args.out, &bytes).with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "{}",
        serde_json::json!({"out": args.out.display().to_string(), "bytes": bytes.len(), "visits": report.visits.len()})
    );
    Ok(())
}

/// `doorstep export --format csv|geojson`: the area's households or visits.
async fn export_rows(
    store: &dyn doorstep_server::Store, campaign: &Campaign, args: &ExportArgs,
    area: &doorstep_domain::values::AreaCode, lang: doorstep_domain::Lang,
) -> Result<()> {
    use doorstep_server::export::{ExportSpec, Format, What};
    let path = doorstep_server::areas::area_path(store, area.as_str())
        .await?
        .ok_or_else(|| anyhow::anyhow!("no area has the code {area}"))?;
    let day = match &args.date {
        Some(d) => Some(doorstep_server::report::day_number(
            chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .with_context(|| format!("--date {d:?} is not YYYY-MM-DD"))?,
        )),
        None => None,
    };
    let filter = doorstep_server::filter::VisitFilter { from_day: day, to_day: day, ..Default::default() };
    let spec = ExportSpec {
        query: doorstep_server::filter::RowQuery::subtree(&path, filter, None),
        what: if args.what == "visits" { What::Visits } else { What::Households },
        format: if args.format == "geojson" { Format::GeoJson } else { Format::Csv },
        lang,
    };
    let (rows, bytes) = doorstep_server::export::write_file(store, campaign, spec, &args.out)
        .await
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!("{}", serde_json::json!({"out": args.out.display().to_string(), "rows": rows, "bytes": bytes}));
    Ok(())
}

async fn serve(args: ServeArgs) -> Result<()> {
    let store = doorstep_server::open_store(&args.db).await.with_context(|| format!("opening {}", args.db))?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let mut limits = Limits::default();
    if let Some(secs) = std::env::var("DOORSTEP_SESSION_TTL_SECS").ok().and_then(|v| v.parse().ok()) {
        limits.session_ttl = std::time::Duration::from_secs(secs);
    }
    limits.trusted_proxies = args.trusted_proxies.clone();
    limits.header_read_timeout = std::time::Duration::from_secs(args.header_read_timeout);
    limits.keep_alive_timeout = std::time::Duration::from_secs(args.keep_alive_timeout);
    limits.max_connections = usize::try_from(args.max_connections).unwrap_or(usize::MAX);
    if !args.trusted_proxies.is_empty() {
        tracing::info!(proxies = %args.trusted_proxies, "client addresses read from these proxies' headers");
    }
    // The demo loads its campaign first, so the server starts with it.
    if args.demo {
        demo::prepare(store.as_ref()).await?;
    }
    let campaign = doorstep_server::campaign::running_campaign(store.as_ref()).await?;
    tracing::info!(campaign = %campaign.code, outcomes = campaign.outcomes.len(), "running campaign");
    let mut state = AppState::new(store.clone(), campaign, limits);
    if args.public_aggregates {
        state.public = Some(std::sync::Arc::new(doorstep_server::public::PublicView::new(args.public_k)));
        tracing::info!(k = args.public_k, "public aggregates on at /api/v1/public/");
    }
    // Tests and scripts read this line to learn the port.
    println!("doorstep listening on http://{addr}");
    if args.demo {
        demo::announce(addr);
        let url = format!("http://{addr}");
        let db = args.db.clone();
        tokio::spawn(async move {
            if let Err(e) = demo::volunteers(store, &url, &db).await {
                tracing::error!(error = %e, "demo volunteers stopped");
            }
        });
    }
    doorstep_server::serve(listener, state, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

async fn admin(args: AdminArgs) -> Result<()> {
    match &args.command {
        AdminCommand::Migrate { from, to } => return migrate(from, to).await,
        AdminCommand::Backup { file } => return backup(&args.db, file),
        _ => {}
    }
    let store = doorstep_server::open_store(&args.db).await.with_context(|| format!("opening {}", args.db))?;
    match args.command {
        AdminCommand::Campaign { action: CampaignAction::Load { file } } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let campaign = Campaign::parse_file(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}; the campaign was not changed", file.display()))?;
            doorstep_server::campaign::set_definition(
                &*store,
                serde_json::to_string(&campaign)?,
                chrono::Utc::now().timestamp_millis(),
            )
            .await?;
            doorstep_server::accounts::record_audit(
                &*store,
                doorstep_server::accounts::AuditEntry {
                    at_ms: chrono::Utc::now().timestamp_millis(),
                    actor: "cli".into(),
                    action: "load-campaign".into(),
                    detail: format!("{} ({} outcomes)", campaign.code, campaign.outcomes.len()),
                },
            )
            .await?;
            println!("{}", serde_json::json!({"campaign": campaign.code, "outcomes": campaign.outcomes.len()}));
            eprintln!("Loaded; restart the server (doorstep serve) to run it.");
        }
        AdminCommand::Basemap { action: BasemapAction::Import { file, name } } => {
            let name = name.unwrap_or_else(|| {
                file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "basemap".into())
            });
            let now = chrono::Utc::now().timestamp_millis();
            let info = doorstep_server::basemap::import(store.as_ref(), &name, &file, now)
                .await
                .map_err(|e| anyhow::anyhow!("{}: {e}; the base map was not changed", file.display()))?;
            doorstep_server::accounts::record_audit(
                &*store,
                doorstep_server::accounts::AuditEntry {
                    at_ms: now,
                    actor: "cli".into(),
                    action: "import-basemap".into(),
                    detail: format!("{} ({} bytes, {})", info.name, info.size, info.sha256),
                },
            )
            .await?;
            println!("{}", serde_json::to_string(&info)?);
        }
        AdminCommand::Basemap { action: BasemapAction::Show } => {
            match doorstep_server::basemap::info(store.as_ref()).await? {
                Some(info) => println!("{}", serde_json::to_string_pretty(&info)?),
                None => anyhow::bail!("no base map is loaded: `doorstep admin basemap import FILE.pmtiles`"),
            }
        }
        AdminCommand::Campaign { action: CampaignAction::Show } => {
            let campaign = doorstep_server::campaign::running_campaign(store.as_ref()).await?;
            println!("{}", serde_json::to_string_pretty(&campaign)?);
        }
        AdminCommand::ImportBuildings { file } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let campaign = doorstep_server::campaign::running_campaign(store.as_ref()).await?;
            let started = std::time::Instant::now();
            let report = doorstep_server::buildings::import(store.as_ref(), &text, campaign.match_enumerated_m)
                .await
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let took = started.elapsed();
            doorstep_server::accounts::record_audit(
                &*store,
                doorstep_server::accounts::AuditEntry {
                    at_ms: chrono::Utc::now().timestamp_millis(),
                    actor: "cli".into(),
                    action: "import-buildings".into(),
                    detail: format!(
                        "{}: {} read, {} added, {} outside",
                        file.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default(),
                        report.read,
                        report.added,
                        report.outside
                    ),
                },
            )
            .await?;
            println!("{}", serde_json::to_string(&report)?);
            if report.outside > 0 {
                eprintln!(
                    "{} building(s) lie inside no imported boundary and were left out; the first: {}",
                    report.outside,
                    report
                        .outside_examples
                        .iter()
                        .map(|o| format!("line {} (feature {}) at {}, {}", o.line, o.feature, o.lat, o.lon))
                        .collect::<Vec<_>>()
                        .join("; ")
                );
            }
            tracing::info!(
                read = report.read,
                added = report.added,
                seconds = took.as_secs_f64(),
                "buildings imported"
            );
        }
        AdminCommand::ImportTargets { file } => {
            let name = file.display().to_string();
            let rows = doorstep_server::targets::read_table(&file).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
            let refused = |lines: Vec<String>| {
                anyhow::anyhow!("{name}: {} problem(s); nothing was imported:\n{}", lines.len(), lines.join("\n"))
            };
            let targets = doorstep_domain::targets::parse_targets(rows)
                .map_err(|errors| refused(errors.iter().map(|e| e.to_string()).collect()))?;
            let unknown = doorstep_server::targets::unknown_areas(store.as_ref(), &targets).await?;
            if !unknown.is_empty() {
                return Err(refused(unknown));
            }
            let now = chrono::Utc::now().timestamp_millis();
            let n = doorstep_server::targets::import_targets(&*store, targets, now).await?;
            doorstep_server::accounts::record_audit(
                &*store,
                doorstep_server::accounts::AuditEntry {
                    at_ms: now,
                    actor: "cli".into(),
                    action: "import-targets".into(),
                    detail: format!(
                        "{}: {n} areas",
                        file.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default()
                    ),
                },
            )
            .await?;
            println!("{}", serde_json::json!({"areas": n}));
        }
        AdminCommand::ImportAreas { file } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let areas = doorstep_domain::area::parse_area_file(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}; nothing was imported", file.display()))?;
            let summary = store
                .import_areas(areas)
                .await
                .map_err(|e| anyhow::anyhow!("{}: {e}; nothing was imported", file.display()))?;
            if summary.inserted + summary.updated > 0 {
                doorstep_server::accounts::record_audit(
                    &*store,
                    doorstep_server::accounts::AuditEntry {
                        at_ms: chrono::Utc::now().timestamp_millis(),
                        actor: "cli".into(),
                        action: "import-areas".into(),
                        detail: format!(
                            "{}: {} new, {} changed",
                            file.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default(),
                            summary.inserted,
                            summary.updated
                        ),
                    },
                )
                .await?;
            }
            println!("{}", serde_json::to_string(&summary)?);
        }
        AdminCommand::CreateUser { username, role, area } => {
            let username = doorstep_domain::account::Username::parse("username", &username)
                .map_err(|e| anyhow::anyhow!("{}", e.messages().en))?;
            let role = doorstep_domain::account::Role::parse("role", &role)
                .map_err(|e| anyhow::anyhow!("{}", e.messages().en))?;
            let area_code = doorstep_domain::values::AreaCode::parse("area", &area)
                .map_err(|e| anyhow::anyhow!("{}", e.messages().en))?;
            let password = match std::env::var("DOORSTEP_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_string()
                }
            };
            doorstep_domain::account::check_new_password("password", &password)
                .map_err(|e| anyhow::anyhow!("{}", e.messages().en))?;
            let password_hash = doorstep_server::auth::hash_password(&password)?;
            let detail = format!("{} as {} of {}", username.as_str(), role.as_str(), area_code);
            doorstep_server::accounts::create_user(
                &*store,
                doorstep_server::accounts::NewUser {
                    id: uuid::Uuid::now_v7(),
                    username,
                    password_hash,
                    role,
                    area_code,
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            doorstep_server::accounts::record_audit(
                &*store,
                doorstep_server::accounts::AuditEntry {
                    at_ms: chrono::Utc::now().timestamp_millis(),
                    actor: "cli".into(),
                    action: "create-user".into(),
                    detail: detail.clone(),
                },
            )
            .await?;
            println!("{}", serde_json::json!({"created": detail}));
        }
        AdminCommand::EnrolCode { volunteer, qr } => {
            let name = doorstep_domain::account::Username::parse("volunteer", &volunteer)
                .map_err(|e| anyhow::anyhow!("{}", e.messages().en))?;
            let user = doorstep_server::accounts::user_by_username(&*store, &name)
                .await?
                .filter(|u| u.role == doorstep_domain::account::Role::Volunteer && !u.disabled)
                .ok_or_else(|| anyhow::anyhow!("no volunteer has the username {}", name.as_str()))?;
            let (code, hash) = doorstep_server::auth::new_enrolment_code();
            let now = chrono::Utc::now();
            let expires = now + chrono::Duration::hours(24);
            doorstep_server::devices::create_enrolment(
                &*store,
                hash,
                user.id,
                "cli",
                now.timestamp_millis(),
                expires.timestamp_millis(),
            )
            .await?;
            doorstep_server::accounts::record_audit(
                &*store,
                doorstep_server::accounts::AuditEntry {
                    at_ms: now.timestamp_millis(),
                    actor: "cli".into(),
                    action: "enrol-code".into(),
                    detail: format!("for {}", user.username),
                },
            )
            .await?;
            if let Some(path) = qr {
                let svg = doorstep_server::auth::enrolment_qr_svg(&code)
                    .ok_or_else(|| anyhow::anyhow!("cannot draw the QR image"))?;
                std::fs::write(&path, svg).with_context(|| format!("writing {}", path.display()))?;
            }
            println!(
                "{}",
                serde_json::json!({"code": code, "expires_at": expires.to_rfc3339(), "volunteer": user.username})
            );
        }
        AdminCommand::RevokeDevice { device, reason } => {
            let id = doorstep_domain::values::Id::parse("device", &device)
                .map_err(|e| anyhow::anyhow!("{}", e.messages().en))?;
            let reason = doorstep_server::auth::revoke_reason(reason.as_deref())
                .map_err(|e| anyhow::anyhow!("{}", e.messages().en))?;
            let now = chrono::Utc::now().timestamp_millis();
            let n = doorstep_server::devices::revoke_device(&*store, id.uuid(), now, reason).await?;
            anyhow::ensure!(n > 0, "no live device has the id {id}");
            doorstep_server::accounts::record_audit(
                &*store,
                doorstep_server::accounts::AuditEntry {
                    at_ms: now,
                    actor: "cli".into(),
                    action: "revoke-device".into(),
                    detail: id.to_string(),
                },
            )
            .await?;
            println!("{}", serde_json::json!({"revoked": id.to_string()}));
        }
        AdminCommand::CreateTeam { name, area, leader } => {
            let request = doorstep_domain::protocol::NewTeamRequest { name, area_code: area, leader: Some(leader) };
            let team = doorstep_server::manage::create_team(store.as_ref(), Actor::Cli, &request).await?;
            println!("{}", serde_json::to_string(&team)?);
        }
        AdminCommand::Assign { team, volunteer, area } => {
            let request = doorstep_domain::protocol::AssignmentRequest { team, volunteer, area_code: area };
            doorstep_server::manage::assign(store.as_ref(), Actor::Cli, &request).await?;
            println!(
                "{}",
                serde_json::json!({"assigned": request.volunteer, "area": request.area_code, "team": request.team})
            );
        }
        AdminCommand::GiveClaim { volunteer, area, street, household } => {
            let request = doorstep_domain::protocol::NewClaimRequest {
                volunteer,
                household_id: household,
                area_code: area,
                street,
            };
            let claim = doorstep_server::claims::give(store.as_ref(), Actor::Cli, &request).await?;
            println!("{}", serde_json::to_string(&claim)?);
        }
        AdminCommand::ReleaseClaim { claim } => {
            doorstep_server::claims::release(store.as_ref(), Actor::Cli, &claim).await?;
            println!("{}", serde_json::json!({"released": claim}));
        }
        AdminCommand::Audit { limit } => {
            for entry in doorstep_server::accounts::audit_log(&*store, limit).await? {
                println!("{}", serde_json::to_string(&entry)?);
            }
        }
        AdminCommand::Migrate { .. } | AdminCommand::Backup { .. } => {}
    }
    Ok(())
}

fn backup(db: &str, file: &std::path::Path) -> Result<()> {
    let path = db.strip_prefix("sqlite://").or_else(|| db.strip_prefix("sqlite:"));
    let Some(path) = path else {
        anyhow::bail!("backup copies a SQLite database; for PostgreSQL use pg_dump (see docs/DEPLOY.md)");
    };
    anyhow::ensure!(!file.exists(), "{} exists already; choose a new file", file.display());
    let started = std::time::Instant::now();
    doorstep_server::sqlite::backup(std::path::Path::new(path), file)
        .with_context(|| format!("backing up {path} to {}", file.display()))?;
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    println!(
        "{}",
        serde_json::json!({"backup": file.display().to_string(), "bytes": size, "seconds": started.elapsed().as_secs_f64()})
    );
    Ok(())
}

async fn migrate(from: &str, to: &str) -> Result<()> {
    let path = from.strip_prefix("sqlite://").or_else(|| from.strip_prefix("sqlite:")).unwrap_or(from);
    anyhow::ensure!(to.starts_with("postgres://") || to.starts_with("postgresql://"), "--to must be a postgres:// URL");
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} ({per_sec}, {eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let report = doorstep_server::migrate::sqlite_to_postgres(std::path::Path::new(path), to, |table, done, total| {
        if bar.message() != table {
            bar.set_message(table.to_string());
            bar.set_length(total);
        }
        bar.set_position(done);
    })
    .await
    .with_context(|| format!("migrating {from} to PostgreSQL"))?;
    bar.finish_and_clear();
    println!("{}", serde_json::to_string(&report)?);
    let bad: Vec<_> = report.tables.iter().filter(|t| !t.checksum_match || t.source != t.target).collect();
    anyhow::ensure!(
        bad.is_empty(),
        "verification failed for: {}",
        bad.iter().map(|t| t.table).collect::<Vec<_>>().join(", ")
    );
    eprintln!("verified: every table has the same rows on both sides");
    Ok(())
}
