//! Teams, assignments and the leader's reading of visits. The rules live in [`create_team`] and
//! [`assign`], shared by the HTTP API (a signed-in leader or admin) and `doorstep admin` (the
//! server's own command line, which may do anything an admin may).

use ::http::StatusCode;
use chrono::Utc;
use doorstep_domain::Messages;
use doorstep_domain::account::{Role, Username};
use doorstep_domain::error::ErrorKind;
use doorstep_domain::protocol::{AssignmentRequest, NewTeamRequest, TeamDto};
use doorstep_domain::values::AreaCode;
use uuid::Uuid;

use crate::accounts::{AuditEntry, SessionUser};
use crate::db::{Db, Statement, params};
use crate::store::{Store, StoreError};

/// Who asks for a change.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    /// `doorstep admin` on the server itself.
    Cli,
    User(&'a SessionUser),
}

impl Actor<'_> {
    pub(crate) fn name(&self) -> String {
        match self {
            Actor::Cli => "cli".into(),
            Actor::User(u) => u.username.clone(),
        }
    }
}

/// Why a change was refused, in both languages.
#[derive(Debug, thiserror::Error)]
pub enum ManageError {
    #[error("{}", .messages.en)]
    Refused { status: StatusCode, code: &'static str, field: Option<&'static str>, messages: Messages },
    /// A value of the request that does not read, with the domain's words for it.
    #[error("{1}")]
    Field(StatusCode, doorstep_domain::FieldError),
    /// Lines of a file that do not hold (a roster): all of them, the file refused whole.
    #[error("{} line(s) refused", .0.len())]
    Lines(Vec<doorstep_domain::roster::RosterError>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub(crate) fn refused(
    status: StatusCode, code: &'static str, field: Option<&'static str>, vi: &str, en: &str,
) -> ManageError {
    ManageError::Refused { status, code, field, messages: Messages { vi: vi.into(), en: en.into() } }
}

/// The longest team name, in characters.
const MAX_TEAM_NAME: usize = 80;

pub(crate) fn leader_or_admin(actor: Actor<'_>) -> Result<(), ManageError> {
    match actor {
        Actor::Cli => Ok(()),
        Actor::User(u) if matches!(u.role, Role::Admin | Role::Leader) => Ok(()),
        Actor::User(_) => Err(refused(
            StatusCode::FORBIDDEN,
            "leader_only",
            None,
            "Chỉ tổ trưởng hoặc quản trị viên quản lý được đội và phân công.",
            "Only a team leader or an admin may manage teams and assignments.",
        )),
    }
}

/// Whether `path` lies in the actor's scope.
pub(crate) async fn actor_sees(store: &dyn Store, actor: Actor<'_>, path: &str) -> Result<bool, StoreError> {
    match actor {
        Actor::Cli => Ok(true),
        Actor::User(u) => crate::auth::may_see(store, u, path).await,
    }
}

pub(crate) async fn area_path(store: &dyn Store, code: &str) -> Result<(AreaCode, String), ManageError> {
    let unknown = || {
        refused(
            StatusCode::NOT_FOUND,
            "unknown_area",
            Some("area_code"),
            "Không có địa bàn với mã này.",
            "No area has this code.",
        )
    };
    let area = AreaCode::parse("area_code", code).map_err(|_| unknown())?;
    let path = crate::areas::area_path(store, area.as_str()).await?.ok_or_else(unknown)?;
    Ok((area, path))
}

pub(crate) fn out_of_scope() -> ManageError {
    refused(
        StatusCode::FORBIDDEN,
        "out_of_scope",
        Some("area_code"),
        "Địa bàn này nằm ngoài phạm vi của tài khoản.",
        "This area is outside the account's scope.",
    )
}

/// Creates a team over an area, led by a leader whose own area holds it.
pub async fn create_team(
    store: &dyn Store, actor: Actor<'_>, request: &NewTeamRequest,
) -> Result<TeamDto, ManageError> {
    leader_or_admin(actor)?;
    // The rules of all typed text (NFC; no control, bidi or zero-width characters): a length the
    // document's pattern rules out is 400; characters it cannot state are refused on their merits.
    let name =
        doorstep_domain::values::Text::parse("name", &request.name, MAX_TEAM_NAME, false).map_err(|e| {
            match e.kind {
                ErrorKind::Empty | ErrorKind::TooLong { .. } => refused(
                    StatusCode::BAD_REQUEST,
                    "team_name",
                    Some("name"),
                    "Tên đội phải có từ 1 đến 80 ký tự.",
                    "A team name has 1 to 80 characters.",
                ),
                _ => ManageError::Refused {
                    status: StatusCode::UNPROCESSABLE_ENTITY,
                    code: e.code(),
                    field: Some("name"),
                    messages: e.messages(),
                },
            }
        })?;
    let name = name.as_str();
    let (area, path) = area_path(store, &request.area_code).await?;
    if !actor_sees(store, actor, &path).await? {
        return Err(out_of_scope());
    }
    let leader_name = match (actor, &request.leader) {
        // One rule for usernames everywhere (`Username::parse`): `LeadB` is `leadb`.
        (_, Some(l)) => {
            Username::parse("leader", l).map(|u| u.as_str().to_string()).unwrap_or_else(|_| l.trim().to_string())
        }
        (Actor::User(u), None) => u.username.clone(),
        (Actor::Cli, None) => {
            return Err(refused(
                StatusCode::BAD_REQUEST,
                "no_leader",
                Some("leader"),
                "Hãy chỉ định tổ trưởng của đội.",
                "Name the team's leader.",
            ));
        }
    };
    if let Actor::User(u) = actor
        && u.role == Role::Leader
        && leader_name != u.username
    {
        return Err(refused(
            StatusCode::FORBIDDEN,
            "not_your_team",
            Some("leader"),
            "Tổ trưởng chỉ lập được đội do mình phụ trách.",
            "A team leader may only create teams they lead.",
        ));
    }
    let no_leader = || {
        refused(
            StatusCode::NOT_FOUND,
            "no_such_leader",
            Some("leader"),
            "Không có tổ trưởng với tên đăng nhập này phụ trách địa bàn đó.",
            "No team leader with this username covers that area.",
        )
    };
    let leader_username = Username::parse("leader", &leader_name).map_err(|_| no_leader())?;
    let leader = crate::accounts::user_by_username(store, &leader_username)
        .await?
        .filter(|u| u.role == Role::Leader && !u.disabled)
        .ok_or_else(no_leader)?;
    let leader_path = crate::areas::area_path(store, &leader.area_code).await?.ok_or_else(no_leader)?;
    if !path.starts_with(&leader_path) {
        return Err(no_leader());
    }
    let now = Utc::now().timestamp_millis();
    crate::manage::insert_team(
        store,
        NewTeam {
            id: Uuid::now_v7(),
            name: name.to_string(),
            area_code: area.clone(),
            leader_id: leader.id,
            created_ms: now,
        },
    )
    .await
    .map_err(|e| match e {
        StoreError::Conflict(_) => refused(
            StatusCode::CONFLICT,
            "team_exists",
            Some("name"),
            "Đã có đội mang tên này.",
            "A team with this name exists already.",
        ),
        e => ManageError::Store(e),
    })?;
    crate::accounts::record_audit(
        store,
        AuditEntry {
            at_ms: now,
            actor: actor.name(),
            action: "create-team".into(),
            detail: format!("{name} in {area}, led by {leader_name}"),
        },
    )
    .await?;
    Ok(TeamDto { name: name.to_string(), area_code: area.to_string(), leader: leader_name, members: Vec::new() })
}

/// Puts a volunteer in a team and assigns them an area inside the team's.
pub async fn assign(store: &dyn Store, actor: Actor<'_>, request: &AssignmentRequest) -> Result<(), ManageError> {
    let (team, team_path) = team_run_by(store, actor, request).await?;
    let volunteer = volunteer_named(store, &request.volunteer, StatusCode::NOT_FOUND).await?;
    let no_volunteer = || no_such_volunteer(StatusCode::NOT_FOUND);
    let volunteer_path = crate::areas::area_path(store, &volunteer.area_code).await?.ok_or_else(no_volunteer)?;
    if !actor_sees(store, actor, &volunteer_path).await? {
        return Err(no_volunteer());
    }
    let (area, path) = area_path(store, &request.area_code).await?;
    if !path.starts_with(&team_path) {
        return Err(refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "outside_team_area",
            Some("area_code"),
            "Địa bàn phân công phải nằm trong địa bàn của đội.",
            "An assigned area must lie inside the team's area.",
        ));
    }
    let now = Utc::now().timestamp_millis();
    crate::manage::insert_assignment(
        store,
        NewAssignment {
            team_id: team.id,
            user_id: volunteer.id,
            area_code: area.clone(),
            assigned_by: actor.name(),
            at_ms: now,
        },
    )
    .await?;
    crate::accounts::record_audit(
        store,
        AuditEntry {
            at_ms: now,
            actor: actor.name(),
            action: "assign".into(),
            detail: format!("{} to {area} in team {}", volunteer.username, team.name),
        },
    )
    .await?;
    Ok(())
}

/// The team an assignment names, as the actor may run it: seen by them (one outside their areas
/// is no team, 404), and for a leader one they lead (403). Of several of the name, the one whose
/// area holds `request.area_code` (a name is unique within an area only).
pub(crate) async fn team_run_by(
    store: &dyn Store, actor: Actor<'_>, request: &AssignmentRequest,
) -> Result<(TeamRecord, String), ManageError> {
    leader_or_admin(actor)?;
    let within = crate::areas::area_path(store, request.area_code.trim()).await?;
    let (team, path) = team_named(store, actor, request.team.trim(), within.as_deref()).await?.ok_or_else(|| {
        refused(
            StatusCode::NOT_FOUND,
            "no_such_team",
            Some("team"),
            "Không có đội với tên này.",
            "No team has this name.",
        )
    })?;
    if let Actor::User(u) = actor
        && u.role == Role::Leader
        && u.user_id != team.leader_id
    {
        return Err(refused(
            StatusCode::FORBIDDEN,
            "not_your_team",
            Some("team"),
            "Chỉ tổ trưởng của đội này mới phân công được.",
            "Only this team's leader may assign its volunteers.",
        ));
    }
    Ok((team, path))
}

/// What [`unassign`] takes back: one assigned area, or the volunteer's place in the team (with
/// every area it gave them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Area,
    Member,
}

/// A team's leader (or an admin) takes back an area assigned to a volunteer, or takes the
/// volunteer out of the team. `request.area_code` is the assigned area, or for a member the
/// team's own area (team names are unique within an area only). Nothing to take back is 404.
pub async fn unassign(
    store: &dyn Store, actor: Actor<'_>, request: &AssignmentRequest, what: Removal,
) -> Result<(), ManageError> {
    let (team, _) = team_run_by(store, actor, request).await?;
    let name =
        Username::parse("volunteer", &request.volunteer).map_err(|_| no_such_volunteer(StatusCode::NOT_FOUND))?;
    let volunteer = crate::accounts::user_by_username(store, &name)
        .await?
        .filter(|u| u.role == Role::Volunteer)
        .ok_or_else(|| no_such_volunteer(StatusCode::NOT_FOUND))?;
    let area = request.area_code.trim();
    let mut tx = store.begin().await?;
    let taken = match what {
        Removal::Area => {
            tx.execute(
                "DELETE FROM assignments WHERE user_id = $1 AND team_id = $2 AND area_code = $3",
                params![volunteer.id, team.id, area],
            )
            .await?
        }
        Removal::Member => {
            tx.execute("DELETE FROM assignments WHERE user_id = $1 AND team_id = $2", params![volunteer.id, team.id])
                .await?;
            tx.execute("DELETE FROM team_members WHERE user_id = $1 AND team_id = $2", params![volunteer.id, team.id])
                .await?
        }
    };
    if taken == 0 {
        return Err(refused(
            StatusCode::NOT_FOUND,
            "no_such_assignment",
            Some("volunteer"),
            "Tình nguyện viên này không có phân công đó trong đội.",
            "This volunteer holds no such assignment in the team.",
        ));
    }
    let (action, detail) = match what {
        Removal::Area => ("unassign", format!("{} from {area} in team {}", volunteer.username, team.name)),
        Removal::Member => ("remove-member", format!("{} from team {}", volunteer.username, team.name)),
    };
    tx.execute(
        "INSERT INTO audit_log (at_ms, actor, action, detail) VALUES ($1, $2, $3, $4)",
        params![Utc::now().timestamp_millis(), actor.name(), action, detail],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The team of this name the actor sees (one outside their areas is as good as none), with its
/// area's path: of several, the deepest whose area holds `within` (a path), if given, else the
/// oldest.
pub(crate) async fn team_named(
    store: &dyn Store, actor: Actor<'_>, name: &str, within: Option<&str>,
) -> Result<Option<(crate::manage::TeamRecord, String)>, StoreError> {
    // Read as a team's name is written (NFC, no control or hidden characters): a name no team
    // can have names none, rather than reaching the database (PostgreSQL refuses a NUL).
    let Ok(name) = doorstep_domain::values::Text::parse("team", name, MAX_TEAM_NAME, false) else {
        return Ok(None);
    };
    let mut found: Vec<(crate::manage::TeamRecord, String)> = Vec::new();
    for team in crate::manage::teams_named(store, name.as_str()).await? {
        if let Some(path) = crate::areas::area_path(store, &team.area_code).await?
            && actor_sees(store, actor, &path).await?
        {
            found.push((team, path));
        }
    }
    if let Some(within) = within
        && let Some(best) = found.iter().filter(|(_, p)| within.starts_with(p.as_str())).max_by_key(|(_, p)| p.len())
    {
        return Ok(Some(best.clone()));
    }
    Ok(found.into_iter().next())
}

pub(crate) fn no_such_volunteer(status: StatusCode) -> ManageError {
    refused(
        status,
        "no_such_volunteer",
        Some("volunteer"),
        "Không có tình nguyện viên với tên đăng nhập này.",
        "No volunteer has this username.",
    )
}

/// The enabled volunteer account of a username; none answers `status` (an assignment names a
/// resource, 404; a claim names a field of its body, 422).
pub(crate) async fn volunteer_named(
    store: &dyn Store, username: &str, status: StatusCode,
) -> Result<crate::accounts::UserRecord, ManageError> {
    let name = Username::parse("volunteer", username).map_err(|_| no_such_volunteer(status))?;
    crate::accounts::user_by_username(store, &name)
        .await?
        .filter(|u| u.role == Role::Volunteer && !u.disabled)
        .ok_or_else(|| no_such_volunteer(status))
}

// The teams' statements, each written once for both databases.

#[derive(Debug, Clone)]
pub struct NewTeam {
    pub id: Uuid,
    pub name: String,
    pub area_code: AreaCode,
    pub leader_id: Uuid,
    pub created_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamRecord {
    pub id: Uuid,
    pub name: String,
    pub area_code: String,
    pub leader_id: Uuid,
}

#[derive(Debug, Clone)]
pub struct NewAssignment {
    pub team_id: Uuid,
    pub user_id: Uuid,
    pub area_code: AreaCode,
    pub assigned_by: String,
    pub at_ms: i64,
}

/// One row of the teams query: a team, one member (if any) and one assigned area (if any).
#[derive(Debug, Clone)]
pub struct TeamRow {
    pub team: String,
    pub area_code: String,
    pub leader: String,
    pub member: Option<String>,
    pub assigned: Option<String>,
}

/// Folds rows ordered by team, member and area into teams.
pub fn group_teams(rows: Vec<TeamRow>) -> Vec<TeamDto> {
    let mut teams: Vec<TeamDto> = Vec::new();
    for row in rows {
        if teams.last().is_none_or(|t| t.name != row.team) {
            teams.push(TeamDto {
                name: row.team.clone(),
                area_code: row.area_code.clone(),
                leader: row.leader.clone(),
                members: Vec::new(),
            });
        }
        let Some(team) = teams.last_mut() else { continue };
        let Some(member) = row.member else { continue };
        if team.members.last().is_none_or(|m| m.username != member) {
            team.members.push(doorstep_domain::protocol::TeamMemberDto { username: member, areas: Vec::new() });
        }
        if let (Some(m), Some(area)) = (team.members.last_mut(), row.assigned) {
            m.areas.push(area);
        }
    }
    teams
}

/// Creates a team; [`StoreError::Conflict`] when its area has a team of that name.
pub async fn insert_team(db: &dyn Db, team: NewTeam) -> Result<(), StoreError> {
    let n = db
        .execute(
            "INSERT INTO teams (id, name, area_code, leader_id, created_at_ms) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (area_code, name) DO NOTHING",
            params![team.id, &team.name, team.area_code.as_str(), team.leader_id, team.created_ms],
        )
        .await?;
    if n == 0 {
        return Err(StoreError::Conflict(format!("the team name {} is taken", team.name)));
    }
    Ok(())
}

/// The teams of that name, in every area, oldest first.
pub async fn teams_named(db: &dyn Db, name: &str) -> Result<Vec<TeamRecord>, StoreError> {
    db.query(
        "SELECT id, name, area_code, leader_id FROM teams WHERE name = $1 ORDER BY created_at_ms, id",
        params![name],
    )
    .await?
    .iter()
    .map(|r| Ok(TeamRecord { id: r.get(0)?, name: r.get(1)?, area_code: r.get(2)?, leader_id: r.get(3)? }))
    .collect()
}

/// Adds a member to a team and assigns them an area; what is held already stays.
pub async fn insert_assignment(db: &dyn Db, a: NewAssignment) -> Result<(), StoreError> {
    db.atomically(vec![
        Statement::new(
            "INSERT INTO team_members (team_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            params![a.team_id, a.user_id],
        ),
        Statement::new(
            "INSERT INTO assignments (user_id, area_code, team_id, assigned_by, assigned_at_ms)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            params![a.user_id, a.area_code.as_str(), a.team_id, a.assigned_by, a.at_ms],
        ),
    ])
    .await?;
    Ok(())
}

/// The paths of the areas a volunteer is assigned.
pub async fn assigned_paths(db: &dyn Db, user_id: Uuid) -> Result<Vec<String>, StoreError> {
    db.query(
        "SELECT a.path FROM assignments s JOIN areas a ON a.code = s.area_code WHERE s.user_id = $1",
        params![user_id],
    )
    .await?
    .iter()
    .map(|r| r.get(0))
    .collect()
}

/// The teams whose area lies in the subtree `[lo, hi)`, with their members and areas.
pub async fn teams_in(db: &dyn Db, lo: &str, hi: &str) -> Result<Vec<TeamDto>, StoreError> {
    let rows = db
        .query(
            "SELECT t.name, t.area_code, l.username, u.username, s.area_code
             FROM teams t JOIN areas a ON a.code = t.area_code JOIN users l ON l.id = t.leader_id
             LEFT JOIN team_members m ON m.team_id = t.id LEFT JOIN users u ON u.id = m.user_id
             LEFT JOIN assignments s ON s.user_id = m.user_id AND s.team_id = t.id
             WHERE a.path >= $1 AND a.path < $2
             ORDER BY t.name, u.username, s.area_code",
            params![lo, hi],
        )
        .await?;
    Ok(group_teams(
        rows.iter()
            .map(|r| {
                let (team, area_code, leader, member, assigned) = r.columns()?;
                Ok(TeamRow { team, area_code, leader, member, assigned })
            })
            .collect::<Result<_, StoreError>>()?,
    ))
}
