//! People: accounts as leaders and admins run them from the dashboard (made, listed, renamed,
//! moved, disabled) and the one-time codes a password is set with. Who acts on whom: an admin on
//! anyone; a leader on the volunteers of their subtree; a committee member reads, and gives their
//! subtree's leaders a code to set a new password with. Someone outside the actor's subtree is
//! answered as no one (404), so a leader cannot learn who exists elsewhere.

use ::http::StatusCode;
use doorstep_domain::account::{Role, Username};
use doorstep_domain::protocol::{NewUserRequest, PasswordCode, PersonDto, PhoneDto, UserPatch};
use doorstep_domain::values::Text;
use std::collections::HashMap;
use uuid::Uuid;

use crate::accounts::SessionUser;
use crate::db::{Db, params};
use crate::manage::{ManageError, area_path, out_of_scope, refused};
use crate::store::{Store, StoreError, subtree_range};

/// The longest display name, in characters.
pub const MAX_DISPLAY_NAME: usize = 80;
/// How long a password code may wait to be used.
pub const PASSWORD_CODE_HOURS: i64 = 24;

/// An account as the rules need it.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: Uuid,
    pub username: String,
    pub role: Role,
    pub area_code: String,
    pub area_path: String,
    pub disabled: bool,
}

const PERSON_SQL: &str = "SELECT u.id, u.username, u.role, u.area_code, a.path, u.disabled
    FROM users u JOIN areas a ON a.code = u.area_code WHERE u.username = $1";

/// The account named `raw`, when it exists and lies in the actor's subtree; else 404.
async fn visible_person(store: &dyn Store, actor: &SessionUser, raw: &str) -> Result<Person, ManageError> {
    let no_such = || {
        refused(
            StatusCode::NOT_FOUND,
            "no_such_user",
            Some("username"),
            "Không có tài khoản với tên đăng nhập này trong địa bàn của bạn.",
            "No account has this username in your areas.",
        )
    };
    let name = Username::parse("username", raw).map_err(|_| no_such())?;
    let row = store.query_opt(PERSON_SQL, params![name.as_str()]).await?.ok_or_else(no_such)?;
    let (id, username, role, area_code, area_path, disabled): (Uuid, String, Role, String, String, bool) =
        row.columns()?;
    if !crate::auth::may_see(store, actor, &area_path).await? {
        return Err(no_such());
    }
    Ok(Person { id, username, role, area_code, area_path, disabled })
}

fn display_name(raw: Option<&str>) -> Result<Option<String>, ManageError> {
    raw.map(|r| Text::parse("display_name", r, MAX_DISPLAY_NAME, false).map(|t| t.as_str().to_string()))
        .transpose()
        .map_err(|e| ManageError::Field(StatusCode::UNPROCESSABLE_ENTITY, e))
}

fn leader_or_admin(actor: &SessionUser) -> Result<(), ManageError> {
    match actor.role {
        Role::Admin | Role::Leader => Ok(()),
        _ => Err(refused(
            StatusCode::FORBIDDEN,
            "leader_only",
            None,
            "Chỉ tổ trưởng hoặc quản trị viên quản lý được tài khoản.",
            "Only a team leader or an admin may manage accounts.",
        )),
    }
}

fn volunteers_only() -> ManageError {
    refused(
        StatusCode::FORBIDDEN,
        "volunteers_only",
        Some("role"),
        "Tổ trưởng chỉ tạo và sửa được tài khoản tình nguyện viên.",
        "A team leader creates and edits volunteers' accounts only.",
    )
}

/// A new account. A staff account gets a code to set its first password with; a volunteer needs
/// none (their phones enrol with codes).
pub async fn create(
    store: &dyn Store, actor: &SessionUser, request: &NewUserRequest, now_ms: i64,
) -> Result<(PersonDto, Option<PasswordCode>), ManageError> {
    leader_or_admin(actor)?;
    if actor.role == Role::Leader && request.role != Role::Volunteer {
        return Err(volunteers_only());
    }
    let username = Username::parse("username", &request.username)
        .map_err(|e| ManageError::Field(StatusCode::UNPROCESSABLE_ENTITY, e))?;
    let name = display_name(request.display_name.as_deref())?;
    let (area, path) = area_path(store, &request.area_code).await?;
    if !crate::auth::may_see(store, actor, &path).await? {
        return Err(out_of_scope());
    }
    let id = Uuid::now_v7();
    let mut tx = store.begin().await?;
    // No password: an empty hash matches none (the sign-in checks it against a hash nobody knows).
    let added = tx
        .execute(
            "INSERT INTO users (id, username, password_hash, role, area_code, created_at_ms, display_name)
             VALUES ($1, $2, '', $3, $4, $5, $6) ON CONFLICT (username) DO NOTHING",
            params![id, username.as_str(), request.role.as_str(), area.as_str(), now_ms, name],
        )
        .await?;
    if added == 0 {
        return Err(refused(
            StatusCode::CONFLICT,
            "username_taken",
            Some("username"),
            "Tên đăng nhập này đã có người dùng.",
            "This username is taken.",
        ));
    }
    let code = match request.role {
        Role::Volunteer => None,
        _ => Some(new_password_code(&mut *tx, id, username.as_str(), &actor.username, now_ms).await?),
    };
    audit(
        &mut *tx,
        now_ms,
        &actor.username,
        "create-user",
        &format!("{} {} {}", username.as_str(), request.role.as_str(), area),
    )
    .await?;
    tx.commit().await?;
    let person = person_dto(store, username.as_str()).await?;
    Ok((person, code))
}

/// Changes an account's display name, area or disabled state. Disabling ends its sessions and
/// revokes its phones (which then send what they hold and erase themselves).
pub async fn update(
    store: &dyn Store, actor: &SessionUser, username: &str, patch: &UserPatch, now_ms: i64,
) -> Result<PersonDto, ManageError> {
    leader_or_admin(actor)?;
    let person = visible_person(store, actor, username).await?;
    if actor.role == Role::Leader && person.role != Role::Volunteer {
        return Err(volunteers_only());
    }
    // Nobody locks themselves out, or narrows their own scope: another admin does that.
    if person.id == actor.user_id && patch.disabled == Some(true) {
        return Err(refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "cannot_disable_self",
            Some("disabled"),
            "Không thể tự khoá tài khoản của mình; hãy nhờ một quản trị viên khác.",
            "You cannot disable your own account; ask another admin.",
        ));
    }
    if person.id == actor.user_id && patch.area_code.is_some() {
        return Err(refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "cannot_move_self",
            Some("area_code"),
            "Không thể tự đổi địa bàn của mình; hãy nhờ một quản trị viên khác.",
            "You cannot move your own account to another area; ask another admin.",
        ));
    }
    let name = display_name(patch.display_name.as_deref())?;
    let area = match &patch.area_code {
        Some(code) => {
            let (area, path) = area_path(store, code).await?;
            if !crate::auth::may_see(store, actor, &path).await? {
                return Err(out_of_scope());
            }
            Some(area.to_string())
        }
        None => None,
    };
    let mut tx = store.begin().await?;
    tx.execute(
        "UPDATE users SET display_name = COALESCE($2, display_name), area_code = COALESCE($3, area_code),
             disabled = COALESCE($4, disabled)
         WHERE id = $1",
        params![person.id, name.clone(), area.clone(), patch.disabled],
    )
    .await?;
    if patch.disabled == Some(true) && !person.disabled {
        tx.execute("UPDATE sessions SET revoked = $2 WHERE user_id = $1", params![person.id, true]).await?;
        tx.execute(
            "UPDATE device_tokens SET revoked_at_ms = $2, revoke_reason = $3
             WHERE user_id = $1 AND revoked_at_ms IS NULL",
            params![person.id, now_ms, "Tài khoản đã bị khoá / The account was disabled"],
        )
        .await?;
    }
    let mut changed = Vec::new();
    if name.is_some() {
        changed.push("display_name".to_string());
    }
    if let Some(a) = &area {
        changed.push(format!("area {a}"));
    }
    if let Some(d) = patch.disabled {
        changed.push(if d { "disabled" } else { "enabled" }.to_string());
    }
    audit(&mut *tx, now_ms, &actor.username, "update-user", &format!("{}: {}", person.username, changed.join(", ")))
        .await?;
    tx.commit().await?;
    person_dto(store, &person.username).await
}

/// A one-time code for `username` to set a new password with, valid [`PASSWORD_CODE_HOURS`]; an
/// earlier unused one stops working. An admin gives one to anyone with a password to set, a
/// committee member to the leaders of their subtree.
pub async fn issue_password_code(
    store: &dyn Store, actor: &SessionUser, username: &str, now_ms: i64,
) -> Result<PasswordCode, ManageError> {
    let not_allowed = || {
        refused(
            StatusCode::FORBIDDEN,
            "reset_not_allowed",
            None,
            "Chỉ quản trị viên (hoặc ban chỉ đạo, cho tổ trưởng trong địa bàn) cấp được mã đặt lại mật khẩu.",
            "Only an admin (or a committee member, for the leaders of their areas) may issue a password code.",
        )
    };
    if !matches!(actor.role, Role::Admin | Role::Committee) {
        return Err(not_allowed());
    }
    let person = visible_person(store, actor, username).await?;
    if actor.role == Role::Committee && person.role != Role::Leader {
        return Err(not_allowed());
    }
    if person.role == Role::Volunteer {
        return Err(refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "volunteer_has_no_password",
            Some("username"),
            "Tình nguyện viên không dùng mật khẩu: hãy cấp mã đăng ký thiết bị mới cho điện thoại của họ.",
            "Volunteers have no password: issue a new enrolment code for their phone.",
        ));
    }
    if person.disabled {
        return Err(refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "account_disabled",
            Some("username"),
            "Tài khoản này đang bị khoá; hãy mở lại trước.",
            "This account is disabled; enable it first.",
        ));
    }
    let mut tx = store.begin().await?;
    let code = new_password_code(&mut *tx, person.id, &person.username, &actor.username, now_ms).await?;
    audit(&mut *tx, now_ms, &actor.username, "password-code", &person.username).await?;
    tx.commit().await?;
    Ok(code)
}

async fn new_password_code(
    tx: &mut dyn crate::db::Tx, user_id: Uuid, username: &str, issued_by: &str, now_ms: i64,
) -> Result<PasswordCode, StoreError> {
    let (code, hash) = crate::auth::new_enrolment_code();
    let expires_ms = now_ms + PASSWORD_CODE_HOURS * 3_600_000;
    tx.execute(
        "UPDATE password_codes SET used_at_ms = $2 WHERE user_id = $1 AND used_at_ms IS NULL",
        params![user_id, now_ms],
    )
    .await?;
    tx.execute(
        "INSERT INTO password_codes (code_hash, user_id, issued_by, created_at_ms, expires_at_ms)
         VALUES ($1, $2, $3, $4, $5)",
        params![hash, user_id, issued_by, now_ms, expires_ms],
    )
    .await?;
    let expires_at = chrono::DateTime::from_timestamp_millis(expires_ms).unwrap_or_default().to_rfc3339();
    Ok(PasswordCode { username: username.to_string(), code, expires_at })
}

const LIVE_CODE_SQL: &str = "SELECT c.user_id FROM password_codes c JOIN users u ON u.id = c.user_id
    WHERE c.code_hash = $1 AND u.username = $2 AND c.used_at_ms IS NULL AND c.expires_at_ms > $3
      AND NOT u.disabled";

/// Whether `code_hash` is a live code of `username` (checked before a new password is hashed, so
/// a wrong code costs no Argon2).
pub async fn code_is_live(db: &dyn Db, username: &str, code_hash: [u8; 32], now_ms: i64) -> Result<bool, StoreError> {
    Ok(db.query_opt(LIVE_CODE_SQL, params![code_hash, username, now_ms]).await?.is_some())
}

/// Uses a live code once: sets the password's hash and ends the account's sessions. False when
/// the code is not (or no longer) live.
pub async fn set_password(
    db: &dyn Db, username: &str, code_hash: [u8; 32], password_hash: &str, now_ms: i64,
) -> Result<bool, StoreError> {
    let mut tx = db.begin().await?;
    let sql = format!("{LIVE_CODE_SQL}{}", tx.dialect().for_update());
    let Some(row) = tx.query_opt(&sql, params![code_hash, username, now_ms]).await? else {
        return Ok(false);
    };
    let user_id: Uuid = row.get(0)?;
    tx.execute("UPDATE password_codes SET used_at_ms = $2 WHERE code_hash = $1", params![code_hash, now_ms]).await?;
    tx.execute("UPDATE users SET password_hash = $2 WHERE id = $1", params![user_id, password_hash]).await?;
    tx.execute("UPDATE sessions SET revoked = $2 WHERE user_id = $1", params![user_id, true]).await?;
    audit(&mut *tx, now_ms, username, "password-set", username).await?;
    tx.commit().await?;
    Ok(true)
}

async fn audit(
    tx: &mut dyn crate::db::Tx, at_ms: i64, actor: &str, action: &str, detail: &str,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO audit_log (at_ms, actor, action, detail) VALUES ($1, $2, $3, $4)",
        params![at_ms, actor, action, detail],
    )
    .await?;
    Ok(())
}

/// The accounts that `cond` picks (`u` the user, `a` their area), by area then username, each
/// with its teams (as member or leader) and its phones: three statements whatever their number.
async fn people_where(
    store: &dyn Store, cond: &str, values: Vec<crate::db::Value>,
) -> Result<Vec<PersonDto>, StoreError> {
    let people_sql = format!(
        "SELECT u.username, COALESCE(u.display_name, u.username), u.role, u.area_code, a.name, u.disabled,
                u.password_hash <> ''
         FROM users u JOIN areas a ON a.code = u.area_code WHERE {cond} ORDER BY a.path, u.username"
    );
    let teams_sql = format!(
        "SELECT u.username, t.name FROM team_members m JOIN teams t ON t.id = m.team_id
             JOIN users u ON u.id = m.user_id JOIN areas a ON a.code = u.area_code WHERE {cond}
         UNION
         SELECT u.username, t.name FROM teams t JOIN users u ON u.id = t.leader_id
             JOIN areas a ON a.code = u.area_code WHERE {cond}"
    );
    let phones_sql = format!(
        "SELECT u.username, t.device_id, MIN(t.created_at_ms), MIN(CASE WHEN t.revoked_at_ms IS NULL THEN 0 ELSE 1 END),
                d.last_seen_ms
         FROM device_tokens t JOIN users u ON u.id = t.user_id JOIN areas a ON a.code = u.area_code
         LEFT JOIN devices d ON d.id = t.device_id
         WHERE {cond} GROUP BY u.username, t.device_id, d.last_seen_ms ORDER BY MIN(t.created_at_ms)"
    );
    let mut people = Vec::new();
    for r in store.query(&people_sql, values.clone()).await? {
        let (username, display_name, role, area_code, area_name, disabled, has_password) = r.columns()?;
        let (teams, phones) = (Vec::new(), Vec::new());
        people.push(PersonDto {
            username,
            display_name,
            role,
            area_code,
            area_name,
            disabled,
            has_password,
            teams,
            phones,
        });
    }
    let mut teams: HashMap<String, Vec<String>> = HashMap::new();
    for r in store.query(&teams_sql, values.clone()).await? {
        let (username, team) = r.columns()?;
        teams.entry(username).or_default().push(team);
    }
    let time = |ms: i64| chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339();
    let mut phones: HashMap<String, Vec<PhoneDto>> = HashMap::new();
    for r in store.query(&phones_sql, values).await? {
        let (username, device_id, enrolled_ms, revoked, last_sync_ms): (String, Uuid, i64, bool, Option<i64>) =
            r.columns()?;
        let (device_id, enrolled_at, last_sync) = (device_id.to_string(), time(enrolled_ms), last_sync_ms.map(time));
        phones.entry(username).or_default().push(PhoneDto { device_id, enrolled_at, last_sync, revoked });
    }
    for p in &mut people {
        p.teams = teams.remove(&p.username).unwrap_or_default();
        p.teams.sort();
        p.phones = phones.remove(&p.username).unwrap_or_default();
    }
    Ok(people)
}

/// The accounts whose area lies in the subtree at `path`.
pub async fn list(store: &dyn Store, path: &str) -> Result<Vec<PersonDto>, StoreError> {
    let (lo, hi) = subtree_range(path);
    people_where(store, "a.path >= $1 AND a.path < $2", params![lo.as_str(), hi.as_str()]).await
}

/// One account as listed.
pub async fn person_dto(store: &dyn Store, username: &str) -> Result<PersonDto, ManageError> {
    let mut found = people_where(store, "u.username = $1", params![username]).await?;
    found.pop().ok_or_else(|| ManageError::Store(StoreError::Db(format!("the account {username} went away"))))
}

/// What a roster added: the people, and for staff the codes their first passwords are set with.
#[derive(Debug)]
pub struct Imported {
    pub people: Vec<PersonDto>,
    pub password_codes: Vec<PasswordCode>,
}

/// Adds everyone a roster lists, or no one: every row is checked as [`create`] checks one
/// (the role the actor may give, the area within their scope, a free username), and a row naming
/// a team joins it (a team over the row's area). Every problem comes back with its line.
pub async fn import(
    store: &dyn Store, actor: &SessionUser, rows: Vec<(usize, Vec<String>)>, now_ms: i64,
) -> Result<Imported, ManageError> {
    use doorstep_domain::roster::RosterError;
    leader_or_admin(actor)?;
    let (roster, mut problems) = doorstep_domain::roster::read_roster(rows);
    if roster.is_empty() && problems.is_empty() {
        problems.push(RosterError::new(
            2,
            None,
            "Tệp chỉ có dòng tiêu đề: chưa có ai để thêm.",
            "The file holds only its header: no one to add.",
        ));
    }
    let mut paths: HashMap<String, Option<String>> = HashMap::new();
    let mut checked = Vec::with_capacity(roster.len());
    for row in &roster {
        let mut problem = |field: &'static str, vi: String, en: String| {
            problems.push(RosterError::new(row.line, Some(field), vi, en));
        };
        if actor.role == Role::Leader && row.role != Role::Volunteer {
            problem(
                "role",
                "Tổ trưởng chỉ thêm được tình nguyện viên.".into(),
                "A team leader adds volunteers only.".into(),
            );
        }
        let code = row.area_code.as_str();
        if !paths.contains_key(code) {
            let path: Option<String> = store
                .query_opt("SELECT path FROM areas WHERE code = $1", params![code])
                .await?
                .map(|r| r.get(0))
                .transpose()?;
            let visible = match &path {
                Some(p) => crate::auth::may_see(store, actor, p).await?,
                None => false,
            };
            // Outside the actor's scope reads as unknown, as a single account's does (404).
            paths.insert(code.to_string(), path.filter(|_| visible));
        }
        let Some(path) = paths.get(code).cloned().flatten() else {
            problem(
                "area_code",
                format!("Không có địa bàn mã {code} trong phạm vi của bạn."),
                format!("No area with code {code} lies in your areas."),
            );
            continue;
        };
        let taken = store.query_opt("SELECT 1 FROM users WHERE username = $1", params![row.username.as_str()]).await?;
        if taken.is_some() {
            problem(
                "username",
                format!("Tên đăng nhập «{}» đã có người dùng.", row.username.as_str()),
                format!("Username '{}' is taken.", row.username.as_str()),
            );
        }
        let team = match &row.team {
            None => None,
            Some(name) => {
                // The same rules as assigning: a team the actor sees whose area holds the row's
                // (names repeat across areas), and for a leader one they lead.
                let request = doorstep_domain::protocol::AssignmentRequest {
                    team: name.clone(),
                    volunteer: row.username.as_str().to_string(),
                    area_code: code.to_string(),
                };
                match crate::manage::team_run_by(store, crate::manage::Actor::User(actor), &request).await {
                    Ok((team, team_path)) if path.starts_with(team_path.as_str()) => Some(team.id),
                    Ok(_) => {
                        problem(
                            "team",
                            format!("Không có tổ «{name}» phụ trách địa bàn {code}: hãy tạo tổ trước."),
                            format!("No team '{name}' covers area {code}: create the team first."),
                        );
                        None
                    }
                    Err(ManageError::Refused { messages, .. }) => {
                        problem(
                            "team",
                            format!("Tổ «{name}»: {}", messages.vi),
                            format!("Team '{name}': {}", messages.en),
                        );
                        None
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        checked.push((row, team));
    }
    if !problems.is_empty() {
        problems.sort_by_key(|p| p.line);
        return Err(ManageError::Lines(problems));
    }
    let mut tx = store.begin().await?;
    let mut codes = Vec::new();
    for (row, team) in &checked {
        let id = Uuid::now_v7();
        let added = tx
            .execute(
                "INSERT INTO users (id, username, password_hash, role, area_code, created_at_ms, display_name)
                 VALUES ($1, $2, '', $3, $4, $5, $6) ON CONFLICT (username) DO NOTHING",
                params![
                    id,
                    row.username.as_str(),
                    row.role.as_str(),
                    row.area_code.as_str(),
                    now_ms,
                    row.display_name.clone()
                ],
            )
            .await?;
        if added == 0 {
            // Taken between the check and now: nothing of the file is kept.
            return Err(ManageError::Lines(vec![RosterError::new(
                row.line,
                Some("username"),
                format!("Tên đăng nhập «{}» đã có người dùng.", row.username.as_str()),
                format!("Username '{}' is taken.", row.username.as_str()),
            )]));
        }
        if let Some(team) = team {
            tx.execute(
                "INSERT INTO team_members (team_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                params![*team, id],
            )
            .await?;
        }
        if row.role != Role::Volunteer {
            codes.push(new_password_code(&mut *tx, id, row.username.as_str(), &actor.username, now_ms).await?);
        }
    }
    let names: Vec<&str> = checked.iter().map(|(r, _)| r.username.as_str()).collect();
    audit(&mut *tx, now_ms, &actor.username, "import-users", &format!("{} people: {}", names.len(), names.join(" ")))
        .await?;
    tx.commit().await?;
    let mut people = Vec::with_capacity(names.len());
    for name in names {
        people.push(person_dto(store, name).await?);
    }
    Ok(Imported { people, password_codes: codes })
}
