//! Enrolment cards (issue 19): for an area (or one team of it), a printable page of cards, one
//! per volunteer without a live phone, each with a fresh one-time code, its QR, the server's
//! address, the volunteer's name and area, and two lines of instructions in Vietnamese. Eight
//! cards to an A4 sheet. Every code printed is stored (hashed) and audited, as one issued on
//! screen is.

use ::http::StatusCode;
use doorstep_domain::account::Role;
use uuid::Uuid;

use crate::accounts::SessionUser;
use crate::db::params;
use crate::manage::{ManageError, refused};
use crate::store::{Store, subtree_range};

/// The most cards one page holds (50 sheets): a commune's volunteers many times over.
pub const MAX_CARDS: usize = 400;

/// One card to print.
#[derive(Debug, Clone)]
pub struct Card {
    pub username: String,
    pub display_name: String,
    pub area_name: String,
    pub code: String,
    pub expires_at_ms: i64,
}

/// Issues a fresh code for each enabled volunteer of the subtree `path` (of `team`, when named)
/// who has no live phone, in one transaction, each audited.
pub async fn issue_cards(
    store: &dyn Store, actor: &SessionUser, path: &str, team: Option<&str>, now_ms: i64,
) -> Result<Vec<Card>, ManageError> {
    if !matches!(actor.role, Role::Admin | Role::Leader) {
        return Err(refused(
            StatusCode::FORBIDDEN,
            "leader_only",
            None,
            "Chỉ tổ trưởng hoặc quản trị viên in được thẻ đăng ký.",
            "Only a team leader or an admin may print enrolment cards.",
        ));
    }
    let (lo, hi) = subtree_range(path);
    let team_id: Option<Uuid> = match team {
        None => None,
        Some(name) => {
            let row = store
                .query_opt(
                    "SELECT t.id FROM teams t JOIN areas a ON a.code = t.area_code
                     WHERE t.name = $1 AND a.path >= $2 AND a.path < $3 ORDER BY a.path LIMIT 1",
                    params![name, lo.as_str(), hi.as_str()],
                )
                .await?;
            Some(row.map(|r| r.get(0)).transpose()?.ok_or_else(|| {
                refused(
                    StatusCode::NOT_FOUND,
                    "no_such_team",
                    Some("team"),
                    "Không có tổ với tên này trong địa bàn.",
                    "No team has this name in the area.",
                )
            })?)
        }
    };
    let in_team =
        if team_id.is_some() { " AND u.id IN (SELECT m.user_id FROM team_members m WHERE m.team_id = $3)" } else { "" };
    let sql = format!(
        "SELECT u.id, u.username, COALESCE(u.display_name, u.username), a.name
         FROM users u JOIN areas a ON a.code = u.area_code
         WHERE u.role = 'volunteer' AND NOT u.disabled AND a.path >= $1 AND a.path < $2{in_team}
           AND NOT EXISTS (SELECT 1 FROM device_tokens t WHERE t.user_id = u.id AND t.revoked_at_ms IS NULL)
         ORDER BY a.path, u.username"
    );
    let rows = match team_id {
        Some(t) => store.query(&sql, params![lo.as_str(), hi.as_str(), t]).await?,
        None => store.query(&sql, params![lo.as_str(), hi.as_str()]).await?,
    };
    let people: Vec<(Uuid, String, String, String)> = rows.iter().map(|r| r.columns()).collect::<Result<_, _>>()?;
    if people.len() > MAX_CARDS {
        return Err(refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "too_many_cards",
            Some("area"),
            &format!(
                "{} tình nguyện viên chưa có điện thoại: in theo từng xã hoặc từng tổ (tối đa {MAX_CARDS}).",
                people.len()
            ),
            &format!("{} volunteers have no phone: print by commune or by team (at most {MAX_CARDS}).", people.len()),
        ));
    }
    let expires_at_ms = now_ms + crate::devices::ENROLMENT_TTL_HOURS * 3_600_000;
    let mut tx = store.begin().await?;
    let mut cards = Vec::with_capacity(people.len());
    for (id, username, display_name, area_name) in people {
        let (code, hash) = crate::auth::new_enrolment_code();
        tx.execute(
            "INSERT INTO enrolments (code_hash, user_id, issued_by, created_at_ms, expires_at_ms)
             VALUES ($1, $2, $3, $4, $5)",
            params![hash, id, actor.username.as_str(), now_ms, expires_at_ms],
        )
        .await?;
        tx.execute(
            "INSERT INTO audit_log (at_ms, actor, action, detail) VALUES ($1, $2, $3, $4)",
            params![now_ms, actor.username.as_str(), "enrol-card", format!("for {username}")],
        )
        .await?;
        cards.push(Card { username, display_name, area_name, code, expires_at_ms });
    }
    tx.commit().await?;
    Ok(cards)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// What a card's QR holds: a link the field app reads for both the code and the server.
pub fn card_link(server: &str, code: &str) -> String {
    doorstep_domain::protocol::EnrolLink { server: server.into(), code: code.into(), ca: None }.to_url()
}

/// The printable page: A4 sheets of eight cards (two columns, four rows), in Vietnamese.
pub fn cards_page(cards: &[Card], server: &str, area_name: &str, utc_offset_minutes: i32) -> String {
    let offset = chrono::FixedOffset::east_opt(utc_offset_minutes * 60)
        .unwrap_or_else(|| chrono::FixedOffset::east_opt(0).expect("zero offset"));
    let mut html = String::with_capacity(4096 + cards.len() * 8192);
    html.push_str(&format!(
        "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Thẻ đăng ký điện thoại — {area}</title><style>{CSS}</style></head><body>\
         <header class=\"noprint\"><h1>Thẻ đăng ký điện thoại — {area}</h1>\
         <p data-testid=\"cards-count\">{n} thẻ, 8 thẻ một tờ A4. Mỗi mã dùng một lần.</p></header>",
        area = escape(area_name),
        n = cards.len()
    ));
    if cards.is_empty() {
        html.push_str(
            "<p data-testid=\"cards-none\">Mọi tình nguyện viên của địa bàn đã có điện thoại: không có thẻ nào để in.</p>",
        );
    }
    for sheet in cards.chunks(8) {
        html.push_str("<section class=\"sheet\">");
        for c in sheet {
            let until = chrono::DateTime::from_timestamp_millis(c.expires_at_ms)
                .map(|t| t.with_timezone(&offset).format("%H:%M %d/%m/%Y").to_string())
                .unwrap_or_default();
            let qr = crate::auth::enrolment_qr_svg(&card_link(server, &c.code)).unwrap_or_default();
            html.push_str(&format!(
                "<article class=\"card\" data-testid=\"card-{user}\">\
                 <div class=\"qr\">{qr}</div><div class=\"text\">\
                 <p class=\"name\">{name}</p><p class=\"muted\">@{user} · {area}</p>\
                 <p class=\"code\" data-testid=\"card-code-{user}\">{code}</p>\
                 <p class=\"server\">{server}</p>\
                 <p class=\"help\">1. Mở ứng dụng Doorstep, chọn «Đọc mã từ ảnh QR» và chụp mã này (hoặc nhập mã và địa chỉ máy chủ ở trên).</p>\
                 <p class=\"help\">2. Mã dùng một lần, hết hạn lúc {until}; mất thẻ thì báo tổ trưởng để cấp mã mới.</p>\
                 </div></article>",
                user = escape(&c.username),
                name = escape(&c.display_name),
                area = escape(&c.area_name),
                code = escape(&c.code),
                server = escape(server),
            ));
        }
        html.push_str("</section>");
    }
    html.push_str("</body></html>");
    html
}

const CSS: &str = "@page{size:A4;margin:8mm}*{box-sizing:border-box}\
body{font-family:system-ui,'Noto Sans',sans-serif;margin:0;color:#111;background:#fff}\
header{padding:8px 12px}header h1{font-size:1.2rem;margin:0 0 4px}\
.sheet{display:grid;grid-template-columns:1fr 1fr;grid-auto-rows:68mm;gap:0;width:194mm;margin:0 auto;\
page-break-after:always;break-after:page}\
.card{border:1px dashed #555;padding:4mm;display:flex;gap:3mm;overflow:hidden;break-inside:avoid}\
.qr{flex:0 0 30mm}.qr svg{width:30mm;height:30mm;display:block}\
.text{flex:1;min-width:0;overflow-wrap:anywhere}\
.text p{margin:0 0 1.2mm;font-size:9pt;line-height:1.25}\
.text .name{font-size:12pt;font-weight:700}.text .muted{color:#444}\
.text .code{font-family:ui-monospace,monospace;font-size:15pt;font-weight:700;letter-spacing:.06em}\
.text .server{font-family:ui-monospace,monospace;font-size:8pt}.text .help{font-size:8pt}\
@media screen{.sheet{width:auto;max-width:200mm;grid-auto-rows:auto}.card{min-height:60mm}}\
@media screen and (max-width:600px){.sheet{grid-template-columns:1fr}}\
@media print{.noprint{display:none}}";

#[cfg(test)]
mod tests {
    use super::*;

    fn card(n: usize) -> Card {
        Card {
            username: format!("tnv.{n}"),
            display_name: format!("Người <{n}>"),
            area_name: "Phường Nam Hà".into(),
            code: "ABCDE-12345".into(),
            expires_at_ms: 1_596_513_600_000,
        }
    }

    #[test]
    fn eight_cards_to_a_sheet_each_with_its_qr_code_name_and_two_lines_of_help() {
        let cards: Vec<Card> = (0..9).map(card).collect();
        let page = cards_page(&cards, "https://doorstep.hatinh.gov.vn", "Phường Nam Hà", 420);
        assert_eq!(page.matches("<section class=\"sheet\">").count(), 2);
        assert_eq!(page.matches("<article class=\"card\"").count(), 9);
        assert_eq!(page.matches("<svg").count(), 9);
        assert_eq!(page.matches("class=\"help\"").count(), 18);
        assert!(page.contains("Người &lt;3&gt;"), "names are escaped");
        // 1596513600000 ms is 04/08/2020 04:00 UTC: 11:00 in Vietnam.
        assert!(page.contains("hết hạn lúc 11:00 04/08/2020"));
        assert!(page.contains("https://doorstep.hatinh.gov.vn"));
    }

    #[test]
    fn the_qr_link_carries_the_code_and_the_server() {
        assert_eq!(
            card_link("http://127.0.0.1:8080", "ABCDE-12345"),
            "doorstep://enrol?server=http%3A%2F%2F127.0.0.1%3A8080&code=ABCDE-12345"
        );
    }
}
