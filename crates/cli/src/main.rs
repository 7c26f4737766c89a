//! `doorstep`: the one command. `serve` runs the server, `admin` changes its database,
//! `simulate` runs headless volunteers on the real device code.

mod admin;
mod adminsock;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use doorstep::{config, demo, simulate};
use doorstep_domain::Campaign;
use doorstep_server::AppState;
use serde::{Deserialize, Serialize};

#[derive(Parser)]
#[command(name = "doorstep", version, about = "Door-to-door campaign visits: field sync server, admin and simulator")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: the API and the dashboard.
    Serve(Box<ServeArgs>),
    /// The server's configuration file: `doorstep config check FILE`.
    Config(ConfigArgs),
    /// Change the server's database: areas, accounts, teams, campaign, base map, backups. While
    /// `doorstep serve` holds a SQLite file, the running server does it (its admin socket).
    Admin(admin::AdminArgs),
    /// Headless volunteers on the real device code: record visits offline, then sync.
    Simulate(simulate::SimulateArgs),
    /// Write the daily report of an area (an XLSX workbook: summary, units ranked, days, the
    /// day's visits), as the dashboard's download gives it; or, with --format csv or geojson,
    /// the area's households or visits.
    Export(ExportArgs),
}

/// Which database: `--db`, else the `db` of the server's configuration file, else the default.
#[derive(clap::Args, Serialize, Deserialize)]
struct DbArgs {
    /// Database: sqlite:PATH or postgres://... (default: the configuration file's, else
    /// sqlite:doorstep.db).
    #[arg(long, env = "DOORSTEP_DB", value_name = "URL")]
    db: Option<String>,
    /// The server's configuration file, to take its `db` (as the packaged server's
    /// /etc/doorstep/doorstep.toml).
    #[arg(long, env = "DOORSTEP_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
}

impl DbArgs {
    fn url(&self) -> Result<String> {
        if let Some(db) = &self.db {
            return Ok(db.clone());
        }
        let from_file = match &self.config {
            Some(path) => config::read_file(path)?.db,
            None => None,
        };
        Ok(from_file.unwrap_or_else(|| "sqlite:doorstep.db".into()))
    }
}

#[derive(clap::Args, Serialize, Deserialize)]
struct ExportArgs {
    #[command(flatten)]
    db: DbArgs,
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
    /// A configuration file (TOML) holding any of the options below, each keyed by its flag's
    /// name with underscores (`session_ttl_secs = 50400`); a flag or its DOORSTEP_* variable
    /// overrides the file. `doorstep config check FILE` checks one.
    #[arg(long, env = "DOORSTEP_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(flatten)]
    options: config::ServeOptions,
}

#[derive(clap::Args)]
struct ConfigArgs {
    #[command(subcommand)]
    command: ConfigCommand,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Check a configuration file for `doorstep serve --config`: every key known, every value of
    /// its type and within its bounds. Prints the settings it gives (defaults filled in) as TOML;
    /// exits non-zero naming each bad key, its value and what is allowed.
    Check {
        /// The file (TOML).
        file: PathBuf,
    },
}

fn tokio_postgres_cap() -> tracing_subscriber::filter::Directive {
    // A constant that parses; the fallback (everything at info) is only for the impossible case.
    "tokio_postgres=info".parse().unwrap_or_else(|_| tracing::Level::INFO.into())
}

fn init_logs(format: config::LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info".into())
        // tokio-postgres logs every query's parameters at debug level (addresses, notes, token
        // hashes): never below info, whatever RUST_LOG asks.
        .add_directive(tokio_postgres_cap());
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        // One object per line, with the request's span (its id) on every line written for it.
        config::LogFormat::Json => logs.json().with_current_span(true).with_span_list(false).init(),
        config::LogFormat::Text => logs.init(),
    }
}

/// The settings `doorstep serve` runs with: defaults, the file, then variables and flags.
fn serve_settings(args: &ServeArgs) -> Result<config::Settings> {
    let file = match &args.config {
        Some(path) => config::read_file(path)?,
        None => config::ServeOptions::default(),
    };
    let from = args.config.as_ref().map(|p| format!(" (from the flags, the environment and {})", p.display()));
    args.options.clone().over(file).settle().map_err(|bad| {
        anyhow::anyhow!("the server's settings are refused{}:\n  {}", from.unwrap_or_default(), bad.join("\n  "))
    })
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let settings = match &cli.command {
        Command::Serve(args) => Some(serve_settings(args)?),
        _ => None,
    };
    init_logs(settings.as_ref().map(|s| s.log_format).unwrap_or_default());
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve(_) => match settings {
                Some(settings) => serve(settings).await,
                None => anyhow::bail!("no settings"),
            },
            Command::Config(ConfigArgs { command: ConfigCommand::Check { file } }) => config_check(&file),
            Command::Admin(args) => admin::admin(args).await,
            Command::Simulate(args) => simulate::run(args).await,
            Command::Export(args) => export(args).await,
        }
    })
}

/// `doorstep export`: from the database, or through the running server that holds it.
async fn export(args: ExportArgs) -> Result<()> {
    anyhow::ensure!(!args.out.exists(), "{} exists already; choose another file", args.out.display());
    let db = args.db.url()?;
    let store = match doorstep_server::open_store(&db).await {
        Ok(store) => store,
        Err(doorstep_server::StoreError::InUse(file)) => {
            let input = admin::Input::default();
            return adminsock::forward(&file, adminsock::Forwarded::Export(args), input).await;
        }
        Err(e) => return Err(e).with_context(|| format!("opening {db}")),
    };
    let mut said = admin::Said::default();
    let done = run_export(store.as_ref(), &args, &mut said).await;
    said.print();
    done
}

/// Writes the export `args` asks for from an open store (the caller's, or the running server's).
async fn run_export(store: &dyn doorstep_server::Store, args: &ExportArgs, said: &mut admin::Said) -> Result<()> {
    let area = doorstep_domain::values::AreaCode::parse("area", &args.area)
        .map_err(|e| anyhow::anyhow!("{}", e.messages().en))?;
    let lang = match args.lang.as_str() {
        "vi" => doorstep_domain::Lang::Vi,
        "en" => doorstep_domain::Lang::En,
        other => anyhow::bail!("--lang is vi or en, not {other:?}"),
    };
    let campaign = doorstep_server::campaign::running_campaign(store).await?;
    let date = match &args.date {
        Some(d) => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .with_context(|| format!("--date {d:?} is not YYYY-MM-DD"))?,
        None => (chrono::Utc::now() + chrono::Duration::minutes(i64::from(campaign.utc_offset_minutes))).date_naive(),
    };
    if args.format != "xlsx" {
        return export_rows(store, &campaign, args, (&area, lang), said).await;
    }
    let report = doorstep_server::report::daily_report(store, &campaign, &area, date)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no area has the code {area}"))?;
    let bytes = doorstep_server::report::daily_workbook(&report, &campaign, lang)?;
    std::fs::write(&args.out, &bytes).with_context(|| format!("writing {}", args.out.display()))?;
    said.out(
        serde_json::json!({"out": args.out.display().to_string(), "bytes": bytes.len(), "visits": report.visits.len()})
            .to_string(),
    );
    Ok(())
}

/// `doorstep export --format csv|geojson`: the area's households or visits.
async fn export_rows(
    store: &dyn doorstep_server::Store, campaign: &Campaign, args: &ExportArgs,
    (area, lang): (&doorstep_domain::values::AreaCode, doorstep_domain::Lang), said: &mut admin::Said,
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
    said.out(serde_json::json!({"out": args.out.display().to_string(), "rows": rows, "bytes": bytes}).to_string());
    Ok(())
}

fn config_check(file: &std::path::Path) -> Result<()> {
    let options = config::read_file(file)?;
    match options.settle() {
        Ok(settings) => {
            print!("{}", settings.to_toml());
            eprintln!("{}: good", file.display());
            Ok(())
        }
        Err(bad) => anyhow::bail!("{}: {} bad setting(s):\n  {}", file.display(), bad.len(), bad.join("\n  ")),
    }
}

async fn serve(args: config::Settings) -> Result<()> {
    let store = doorstep_server::open_store(&args.db).await.with_context(|| format!("opening {}", args.db))?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let limits = args.limits();
    if !limits.trusted_proxies.is_empty() {
        tracing::info!(proxies = %limits.trusted_proxies, "client addresses read from these proxies' headers");
    }
    // The demo loads its campaign first, so the server starts with it.
    if args.demo {
        demo::prepare(store.as_ref()).await?;
    }
    let campaign = doorstep_server::campaign::running_campaign(store.as_ref()).await?;
    tracing::info!(campaign = %campaign.code, outcomes = campaign.outcomes.len(), "running campaign");
    let mut state = AppState::new(store.clone(), campaign, limits);
    if let Some(url) = &args.db_read {
        let standby = doorstep_server::postgres::PgStore::open_standby(url)
            .await
            .with_context(|| format!("opening the read replica {url}"))?;
        let replica = std::sync::Arc::new(doorstep_server::replica::ReadReplica::new(std::sync::Arc::new(standby)));
        let max_lag = std::time::Duration::from_secs(args.db_read_max_lag_secs);
        tokio::spawn(replica.clone().follow(store.clone(), max_lag));
        state.replica = Some(replica);
        tracing::info!(
            max_lag_secs = args.db_read_max_lag_secs,
            "the dashboard's reads go to the read replica while it keeps up"
        );
    }
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
    // On SQLite, `doorstep admin` and `doorstep export` reach this server through a socket beside
    // the file (only one process may hold it).
    let _admin_socket = match sqlite_file(&args.db) {
        Some(file) => Some(adminsock::listen(&file, state.store.clone())?),
        None => None,
    };
    doorstep_server::serve(listener, state, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// The file a `sqlite:` database URL names; `None` for PostgreSQL.
fn sqlite_file(url: &str) -> Option<PathBuf> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return None;
    }
    Some(PathBuf::from(url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url)))
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
