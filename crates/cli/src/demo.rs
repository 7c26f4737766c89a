//! `doorstep serve --demo`: the Hà Tĩnh tree of 2020, households around its real towns, and
//! visits recorded by simulated volunteers through the real device code and HTTP API.

use std::net::SocketAddr;

use anyhow::Result;
use doorstep_domain::Campaign;
use doorstep_domain::values::{AreaCode, Id};
use doorstep_server::Store;
use doorstep_server::store::NewHousehold;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::generate;
use crate::simulate::{SimulateArgs, simulate};

pub const HA_TINH_2020: &str = include_str!("../../../data/areas/ha-tinh-2020-three-tier.json");
/// Expected households per commune in the demo (a real commune has about 1,700).
const HOUSEHOLDS_PER_COMMUNE: usize = 20;
const DEVICES_PER_DISTRICT: usize = 2;
const VISITS_PER_DEVICE: usize = 120;

/// The demo's team: the leader of Phường Nam Hà and its volunteer.
const DEMO_TEAM: &str = "Đội tình nguyện Nam Hà";

/// Demo accounts, one per role: (username, role, area, password). Demo data only.
pub const DEMO_ACCOUNTS: &[(&str, &str, &str, &str)] = &[
    ("admin.demo", "admin", "42", "doorstep-demo-admin"),
    ("uyban.hatinh", "committee", "42", "doorstep-demo-committee"),
    ("totruong.namha", "leader", "18073", "doorstep-demo-leader"),
    ("tinhnguyen.namha", "volunteer", "18073", "doorstep-demo-volunteer"),
];

/// Imports the tree, makes the demo accounts and places the expected households; does nothing
/// the second time.
pub async fn prepare(store: &dyn Store) -> Result<()> {
    // Bluezone as it ran, but ending three weeks from today: the demo's visits are recorded now,
    // so its finish dates are measured against a last day still ahead.
    if doorstep_server::campaign::definition(store).await?.is_none() {
        let today = chrono::Utc::now().date_naive();
        let campaign = Campaign { ends_on: today.checked_add_days(chrono::Days::new(21)), ..Campaign::bluezone() };
        let now = chrono::Utc::now().timestamp_millis();
        doorstep_server::campaign::set_definition(store, serde_json::to_string_pretty(&campaign)?, now).await?;
    }
    let areas = doorstep_domain::area::parse_gso_tree(HA_TINH_2020)?;
    let summary = store.import_areas(areas.clone()).await?;
    tracing::info!(?summary, "demo areas");
    for (username, role, area, password) in DEMO_ACCOUNTS {
        let username = doorstep_domain::account::Username::parse("username", username)?;
        if doorstep_server::accounts::user_by_username(store, &username).await?.is_some() {
            continue;
        }
        doorstep_server::accounts::create_user(
            store,
            doorstep_server::accounts::NewUser {
                id: uuid::Uuid::now_v7(),
                username,
                password_hash: doorstep_server::auth::hash_password(password)?,
                role: doorstep_domain::account::Role::parse("role", role)?,
                area_code: AreaCode::parse("area", area)?,
            },
        )
        .await?;
    }
    // The leader's team, with the demo volunteer assigned their commune.
    if doorstep_server::manage::teams_named(store, DEMO_TEAM).await?.is_empty() {
        use doorstep_server::manage::{Actor, assign, create_team};
        let team = doorstep_domain::protocol::NewTeamRequest {
            name: DEMO_TEAM.into(),
            area_code: "18073".into(),
            leader: Some("totruong.namha".into()),
        };
        create_team(store, Actor::Cli, &team).await?;
        let assignment = doorstep_domain::protocol::AssignmentRequest {
            team: DEMO_TEAM.into(),
            volunteer: "tinhnguyen.namha".into(),
            area_code: "18073".into(),
        };
        assign(store, Actor::Cli, &assignment).await?;
    }
    if doorstep_server::coverage::counts(store).await?.households > 0 {
        return Ok(());
    }
    let mut rng = StdRng::seed_from_u64(42);
    let mut households = Vec::new();
    for commune in areas.iter().filter(|a| a.code.as_str().len() == 5) {
        let district = commune.parent.as_ref().map(|p| p.as_str());
        let centre = generate::base_point(commune.code.as_str(), district);
        for _ in 0..HOUSEHOLDS_PER_COMMUNE {
            let (lat, lon) = generate::jitter(&mut rng, centre, 700.0);
            households.push(NewHousehold {
                id: Id::new_v7(),
                area_code: AreaCode::parse("area", commune.code.as_str())?,
                address: Some(generate::address(&mut rng)),
                lat: Some(lat),
                lon: Some(lon),
            });
        }
    }
    let added = store.add_households(households).await?;
    tracing::info!(added, "demo households");
    Ok(())
}

pub fn announce(addr: SocketAddr) {
    println!("Demo campaign: Bluezone, Hà Tĩnh (2020 tree: 12 districts, 210 communes).");
    println!("Simulated volunteers are recording and syncing visits now.");
    println!("Demo accounts (username / password, role, area):");
    for (username, role, area, password) in DEMO_ACCOUNTS {
        println!("  {username:<18} {password:<26} {role:<10} {area}");
    }
    println!("Sign in and read coverage:");
    println!(
        "  TOKEN=$(curl -s -H 'content-type: application/json' -d '{{\"username\":\"admin.demo\",\"password\":\"doorstep-demo-admin\"}}' http://{addr}/api/v1/auth/login | sed 's/.*\"token\":\"\\([0-9a-f]*\\)\".*/\\1/')"
    );
    println!(
        "  curl -H \"authorization: Bearer $TOKEN\" 'http://{addr}/api/v1/coverage?area=42'    # the whole province"
    );
    println!("  curl -H \"authorization: Bearer $TOKEN\" 'http://{addr}/api/v1/areas?parent=42'     # districts");
    println!(
        "  curl -H \"authorization: Bearer $TOKEN\" 'http://{addr}/api/v1/teams'               # teams and assignments"
    );
    println!(
        "  curl -H \"authorization: Bearer $TOKEN\" 'http://{addr}/api/v1/visits?area=42&flagged=true'  # visits for a leader to check"
    );
}

/// The simulated volunteer of a district: its account, made if missing.
async fn district_volunteer(store: &dyn Store, district: &str) -> Result<doorstep_server::accounts::UserRecord> {
    let username = doorstep_domain::account::Username::parse("username", &format!("sim.{district}"))?;
    if let Some(user) = doorstep_server::accounts::user_by_username(store, &username).await? {
        return Ok(user);
    }
    // Nobody signs in as a simulated volunteer: a random password nobody knows.
    let password: String = rand::rng().sample_iter(rand::distr::Alphanumeric).take(32).map(char::from).collect();
    doorstep_server::accounts::create_user(
        store,
        doorstep_server::accounts::NewUser {
            id: uuid::Uuid::now_v7(),
            username: username.clone(),
            password_hash: doorstep_server::auth::hash_password(&password)?,
            role: doorstep_domain::account::Role::Volunteer,
            area_code: AreaCode::parse("area", district)?,
        },
    )
    .await?;
    doorstep_server::accounts::user_by_username(store, &username)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the demo volunteer {} was not created", username.as_str()))
}

/// One-time codes for `n` phones of `user`, valid a day, issued directly in the database.
async fn enrolment_codes(
    store: &dyn Store, user: &doorstep_server::accounts::UserRecord, n: usize,
) -> Result<Vec<String>> {
    let now = chrono::Utc::now().timestamp_millis();
    let expires = now + 24 * 3600 * 1000;
    let mut codes = Vec::with_capacity(n);
    for _ in 0..n {
        let (code, hash) = doorstep_server::auth::new_enrolment_code();
        doorstep_server::devices::create_enrolment(store, hash, user.id, "demo", now, expires).await?;
        codes.push(code);
    }
    Ok(codes)
}

/// Runs the demo's volunteers against the server itself, once per database: in each district one
/// volunteer account (`sim.<district>`) with two phones, enrolled with codes issued here.
pub async fn volunteers(store: std::sync::Arc<dyn Store>, url: &str, _db: &str) -> Result<()> {
    if doorstep_server::coverage::counts(&*store).await?.visits > 0 {
        return Ok(());
    }
    let mut total = 0;
    for (i, (district, _, _)) in generate::DISTRICT_SEATS.iter().enumerate() {
        let volunteer = district_volunteer(store.as_ref(), district).await?;
        let enrol_codes = enrolment_codes(store.as_ref(), &volunteer, DEVICES_PER_DISTRICT).await?;
        let args = SimulateArgs {
            server: url.to_string(),
            devices: DEVICES_PER_DISTRICT,
            visits: VISITS_PER_DEVICE,
            area: district.to_string(),
            data_dir: None,
            batch_size: 200,
            sync_timeout: 60,
            max_backoff_ms: 1000,
            seed: 2020 + i as u64,
            enrol_codes,
            volunteer: None,
            login: None,
        };
        total += simulate(&args).await?.confirmed;
    }
    let cov = doorstep_server::coverage::coverage(&*store, &AreaCode::parse("area", "42")?).await?;
    if let Some(c) = cov {
        println!(
            "Demo ready: {total} visits synced; Hà Tĩnh: {} of {} households visited, {} phones with the app of {} smartphones seen.",
            c.households_visited,
            c.households_known,
            c.already_installed + c.installed_now,
            c.smartphones_seen
        );
    }
    Ok(())
}
