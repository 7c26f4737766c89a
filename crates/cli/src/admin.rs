//! `doorstep admin`: its commands, run on the database directly, or, while `doorstep serve` holds
//! the SQLite file, by that server through its admin socket (`crate::adminsock`). Either way the
//! same `run` does the work and says what it did through [`Said`].

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use doorstep_domain::Campaign;
use doorstep_server::manage::Actor;
use serde::{Deserialize, Serialize};

use crate::DbArgs;

#[derive(clap::Args)]
pub struct AdminArgs {
    #[command(flatten)]
    pub db: DbArgs,
    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(Subcommand, Serialize, Deserialize)]
pub enum AdminCommand {
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
        #[arg(required_unless_present = "into", conflicts_with = "into")]
        file: Option<PathBuf>,
        /// Instead of FILE: a new copy in this folder, named by the time
        /// (doorstep-YYYYMMDD-HHMMSS.db), as the packaged daily timer does.
        #[arg(long, value_name = "DIR")]
        into: Option<PathBuf>,
        /// With --into: then delete the oldest copies in the folder beyond this many.
        #[arg(long, requires = "into", value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        keep: Option<u32>,
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

#[derive(Subcommand, Serialize, Deserialize)]
pub enum CampaignAction {
    /// Load a campaign definition (JSON, as data/campaigns/bluezone-2020.json): its target app
    /// and store links, its outcomes with their labels and rules, its thresholds. Checked whole
    /// first; a bad file changes nothing. A running server runs it within a few seconds.
    Load {
        /// The campaign file.
        file: PathBuf,
    },
    /// Print the campaign the server runs (the default when none was loaded), as JSON.
    Show,
}

#[derive(Subcommand, Serialize, Deserialize)]
pub enum BasemapAction {
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

/// What a command says: its answer (standard output) and its notes (standard error), kept so
/// that a command run by the server through the admin socket says the same to the caller.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Said {
    pub stdout: String,
    pub stderr: String,
}

impl Said {
    pub fn out(&mut self, line: String) {
        self.stdout.push_str(&line);
        self.stdout.push('\n');
    }

    pub fn err(&mut self, line: String) {
        self.stderr.push_str(&line);
        self.stderr.push('\n');
    }

    pub fn print(&self) {
        print!("{}", self.stdout);
        eprint!("{}", self.stderr);
    }
}

/// What a command reads from the person running it, read where they are (a password is never
/// an argument, and never read by the server from its own terminal).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Input {
    pub password: Option<String>,
}

impl Input {
    pub fn read(command: &AdminCommand) -> Result<Input> {
        let AdminCommand::CreateUser { .. } = command else { return Ok(Input::default()) };
        let password = match std::env::var("DOORSTEP_PASSWORD") {
            Ok(p) => p,
            Err(_) => {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                line.trim_end_matches(['\r', '\n']).to_string()
            }
        };
        Ok(Input { password: Some(password) })
    }
}

impl AdminCommand {
    /// The files the command reads, so they can travel to a running server.
    pub fn input_files(&mut self) -> Vec<&mut PathBuf> {
        match self {
            AdminCommand::ImportAreas { file }
            | AdminCommand::ImportTargets { file }
            | AdminCommand::ImportBuildings { file }
            | AdminCommand::Campaign { action: CampaignAction::Load { file } }
            | AdminCommand::Basemap { action: BasemapAction::Import { file, .. } } => vec![file],
            _ => Vec::new(),
        }
    }

    /// The files the command writes, so they can come back from a running server.
    pub fn output_files(&mut self) -> Vec<&mut PathBuf> {
        match self {
            AdminCommand::EnrolCode { qr: Some(file), .. } => vec![file],
            _ => Vec::new(),
        }
    }

    /// What must be decided where the command was typed before it travels (a base map's name
    /// is its file's, not the copy's).
    pub fn settle_names(&mut self) {
        if let AdminCommand::Basemap { action: BasemapAction::Import { file, name } } = self
            && name.is_none()
        {
            *name =
                Some(file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "basemap".into()));
        }
    }
}

/// `doorstep admin`: backups and the move to PostgreSQL work on the files themselves; the rest
/// opens the database, or goes through the running server that holds it.
pub async fn admin(args: AdminArgs) -> Result<()> {
    let db = args.db.url()?;
    match &args.command {
        AdminCommand::Migrate { from, to } => return migrate(from, to).await,
        AdminCommand::Backup { file: Some(file), .. } => return backup(&db, file),
        AdminCommand::Backup { into: Some(dir), keep, .. } => return backup_into(&db, dir, *keep),
        _ => {}
    }
    let input = Input::read(&args.command)?;
    let store = match doorstep_server::open_store(&db).await {
        Ok(store) => store,
        Err(doorstep_server::StoreError::InUse(file)) => {
            return crate::adminsock::forward(&file, crate::adminsock::Forwarded::Admin(args.command), input).await;
        }
        Err(e) => return Err(e).with_context(|| format!("opening {db}")),
    };
    let mut said = Said::default();
    let done = run(store.as_ref(), args.command, &input, &mut said).await;
    said.print();
    done
}

/// Runs one command on an open store (the caller's, or the running server's).
pub async fn run(
    store: &dyn doorstep_server::Store, command: AdminCommand, input: &Input, said: &mut Said,
) -> Result<()> {
    match command {
        AdminCommand::Campaign { action: CampaignAction::Load { file } } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let campaign = Campaign::parse_file(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}; the campaign was not changed", file.display()))?;
            doorstep_server::campaign::set_definition(
                store,
                serde_json::to_string(&campaign)?,
                chrono::Utc::now().timestamp_millis(),
            )
            .await?;
            doorstep_server::accounts::record_audit(
                store,
                doorstep_server::accounts::AuditEntry {
                    at_ms: chrono::Utc::now().timestamp_millis(),
                    actor: "cli".into(),
                    action: "load-campaign".into(),
                    detail: format!("{} ({} outcomes)", campaign.code, campaign.outcomes.len()),
                },
            )
            .await?;
            said.out(format!(
                "{}",
                serde_json::json!({"campaign": campaign.code, "outcomes": campaign.outcomes.len()})
            ));
            said.err("Loaded; a running server runs it within a few seconds.".into());
        }
        AdminCommand::Basemap { action: BasemapAction::Import { file, name } } => {
            let name = name.unwrap_or_else(|| {
                file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "basemap".into())
            });
            let now = chrono::Utc::now().timestamp_millis();
            let info = doorstep_server::basemap::import(store, &name, &file, now)
                .await
                .map_err(|e| anyhow::anyhow!("{}: {e}; the base map was not changed", file.display()))?;
            doorstep_server::accounts::record_audit(
                store,
                doorstep_server::accounts::AuditEntry {
                    at_ms: now,
                    actor: "cli".into(),
                    action: "import-basemap".into(),
                    detail: format!("{} ({} bytes, {})", info.name, info.size, info.sha256),
                },
            )
            .await?;
            said.out(serde_json::to_string(&info)?);
        }
        AdminCommand::Basemap { action: BasemapAction::Show } => match doorstep_server::basemap::info(store).await? {
            Some(info) => said.out(serde_json::to_string_pretty(&info)?),
            None => anyhow::bail!("no base map is loaded: `doorstep admin basemap import FILE.pmtiles`"),
        },
        AdminCommand::Campaign { action: CampaignAction::Show } => {
            let campaign = doorstep_server::campaign::running_campaign(store).await?;
            said.out(serde_json::to_string_pretty(&campaign)?);
        }
        AdminCommand::ImportBuildings { file } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let campaign = doorstep_server::campaign::running_campaign(store).await?;
            let started = std::time::Instant::now();
            let report = doorstep_server::buildings::import(store, &text, campaign.match_enumerated_m)
                .await
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let took = started.elapsed();
            doorstep_server::accounts::record_audit(
                store,
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
            said.out(serde_json::to_string(&report)?);
            if report.outside > 0 {
                said.err(format!(
                    "{} building(s) lie inside no imported boundary and were left out; the first: {}",
                    report.outside,
                    report
                        .outside_examples
                        .iter()
                        .map(|o| format!("line {} (feature {}) at {}, {}", o.line, o.feature, o.lat, o.lon))
                        .collect::<Vec<_>>()
                        .join("; ")
                ));
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
            let unknown = doorstep_server::targets::unknown_areas(store, &targets).await?;
            if !unknown.is_empty() {
                return Err(refused(unknown));
            }
            let now = chrono::Utc::now().timestamp_millis();
            let n = doorstep_server::targets::import_targets(store, targets, now).await?;
            doorstep_server::accounts::record_audit(
                store,
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
            said.out(serde_json::json!({"areas": n}).to_string());
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
                    store,
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
            said.out(serde_json::to_string(&summary)?);
        }
        AdminCommand::CreateUser { username, role, area } => {
            let username = doorstep_domain::account::Username::parse("username", &username)
                .map_err(|e| anyhow::anyhow!("{}", e.messages().en))?;
            let role = doorstep_domain::account::Role::parse("role", &role)
                .map_err(|e| anyhow::anyhow!("{}", e.messages().en))?;
            let area_code = doorstep_domain::values::AreaCode::parse("area", &area)
                .map_err(|e| anyhow::anyhow!("{}", e.messages().en))?;
            let password = input.password.clone().unwrap_or_default();
            doorstep_domain::account::check_new_password("password", &password)
                .map_err(|e| anyhow::anyhow!("{}", e.messages().en))?;
            let password_hash = doorstep_server::auth::hash_password(&password)?;
            let detail = format!("{} as {} of {}", username.as_str(), role.as_str(), area_code);
            doorstep_server::accounts::create_user(
                store,
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
                store,
                doorstep_server::accounts::AuditEntry {
                    at_ms: chrono::Utc::now().timestamp_millis(),
                    actor: "cli".into(),
                    action: "create-user".into(),
                    detail: detail.clone(),
                },
            )
            .await?;
            said.out(serde_json::json!({"created": detail}).to_string());
        }
        AdminCommand::EnrolCode { volunteer, qr } => {
            let name = doorstep_domain::account::Username::parse("volunteer", &volunteer)
                .map_err(|e| anyhow::anyhow!("{}", e.messages().en))?;
            let user = doorstep_server::accounts::user_by_username(store, &name)
                .await?
                .filter(|u| u.role == doorstep_domain::account::Role::Volunteer && !u.disabled)
                .ok_or_else(|| anyhow::anyhow!("no volunteer has the username {}", name.as_str()))?;
            let (code, hash) = doorstep_server::auth::new_enrolment_code();
            let now = chrono::Utc::now();
            let expires = now + chrono::Duration::hours(24);
            doorstep_server::devices::create_enrolment(
                store,
                hash,
                user.id,
                "cli",
                now.timestamp_millis(),
                expires.timestamp_millis(),
            )
            .await?;
            doorstep_server::accounts::record_audit(
                store,
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
            said.out(format!(
                "{}",
                serde_json::json!({"code": code, "expires_at": expires.to_rfc3339(), "volunteer": user.username})
            ));
        }
        AdminCommand::RevokeDevice { device, reason } => {
            let id = doorstep_domain::values::Id::parse("device", &device)
                .map_err(|e| anyhow::anyhow!("{}", e.messages().en))?;
            let reason = doorstep_server::auth::revoke_reason(reason.as_deref())
                .map_err(|e| anyhow::anyhow!("{}", e.messages().en))?;
            let now = chrono::Utc::now().timestamp_millis();
            let n = doorstep_server::devices::revoke_device(store, id.uuid(), now, reason).await?;
            anyhow::ensure!(n > 0, "no live device has the id {id}");
            doorstep_server::accounts::record_audit(
                store,
                doorstep_server::accounts::AuditEntry {
                    at_ms: now,
                    actor: "cli".into(),
                    action: "revoke-device".into(),
                    detail: id.to_string(),
                },
            )
            .await?;
            said.out(serde_json::json!({"revoked": id.to_string()}).to_string());
        }
        AdminCommand::CreateTeam { name, area, leader } => {
            let request = doorstep_domain::protocol::NewTeamRequest { name, area_code: area, leader: Some(leader) };
            let team = doorstep_server::manage::create_team(store, Actor::Cli, &request).await?;
            said.out(serde_json::to_string(&team)?);
        }
        AdminCommand::Assign { team, volunteer, area } => {
            let request = doorstep_domain::protocol::AssignmentRequest { team, volunteer, area_code: area };
            doorstep_server::manage::assign(store, Actor::Cli, &request).await?;
            said.out(format!(
                "{}",
                serde_json::json!({"assigned": request.volunteer, "area": request.area_code, "team": request.team})
            ));
        }
        AdminCommand::GiveClaim { volunteer, area, street, household } => {
            let request = doorstep_domain::protocol::NewClaimRequest {
                volunteer,
                household_id: household,
                area_code: area,
                street,
            };
            let claim = doorstep_server::claims::give(store, Actor::Cli, &request).await?;
            said.out(serde_json::to_string(&claim)?);
        }
        AdminCommand::ReleaseClaim { claim } => {
            doorstep_server::claims::release(store, Actor::Cli, &claim).await?;
            said.out(serde_json::json!({"released": claim}).to_string());
        }
        AdminCommand::Audit { limit } => {
            for entry in doorstep_server::accounts::audit_log(store, limit).await? {
                said.out(serde_json::to_string(&entry)?);
            }
        }
        AdminCommand::Migrate { .. } | AdminCommand::Backup { .. } => {}
    }
    Ok(())
}

/// A copy in `dir` named by the time; then only the newest `keep` copies stay.
pub fn backup_into(db: &str, dir: &std::path::Path, keep: Option<u32>) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = format!("doorstep-{}.db", chrono::Utc::now().format("%Y%m%d-%H%M%S"));
    backup(db, &dir.join(name))?;
    let Some(keep) = keep else { return Ok(()) };
    // Only the copies this command makes: their names sort as their times do.
    let mut copies: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.len() == "doorstep-YYYYMMDD-HHMMSS.db".len() && n.starts_with("doorstep-") && n.ends_with(".db")
            })
        })
        .collect();
    copies.sort();
    let extra = copies.len().saturating_sub(keep as usize);
    for old in &copies[..extra] {
        std::fs::remove_file(old).with_context(|| format!("deleting the old copy {}", old.display()))?;
        eprintln!("deleted the old copy {}", old.display());
    }
    Ok(())
}

pub fn backup(db: &str, file: &std::path::Path) -> Result<()> {
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

pub async fn migrate(from: &str, to: &str) -> Result<()> {
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
