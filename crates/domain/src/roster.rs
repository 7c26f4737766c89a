//! A roster of people to add at once (issue 19): a table a leader keeps (CSV or a spreadsheet),
//! one person a row, with Vietnamese or English headers. Pure: rows in (each with its line
//! number), people or every problem found, so a file is taken whole or not at all. Whether each
//! area and team exists, and whether the username is free, is for the store to say.

use std::collections::HashMap;

use crate::account::{Role, Username};
use crate::area::fold_for_search;
use crate::values::{AreaCode, Text};

/// The longest display name, in characters (as the accounts API takes it).
pub const MAX_DISPLAY_NAME: usize = 80;
/// The longest team name, in characters.
pub const MAX_TEAM_NAME: usize = 80;
/// The most people one file adds: a province's volunteers in one go, and no more.
pub const MAX_ROWS: usize = 2_000;

/// One person of a roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterRow {
    /// Where it was read (1 = the header).
    pub line: usize,
    pub username: Username,
    pub display_name: Option<String>,
    pub role: Role,
    pub area_code: AreaCode,
    /// The team the person joins, by name.
    pub team: Option<String>,
}

/// A problem with a line of the file (1 = the header), in both languages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {en}")]
pub struct RosterError {
    pub line: usize,
    /// The column, as the API names it (`username`, `display_name`, `role`, `area_code`, `team`).
    pub field: Option<&'static str>,
    pub vi: String,
    pub en: String,
}

impl RosterError {
    pub fn new(line: usize, field: Option<&'static str>, vi: impl Into<String>, en: impl Into<String>) -> RosterError {
        RosterError { line, field, vi: vi.into(), en: en.into() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Column {
    Username,
    DisplayName,
    Role,
    Area,
    Team,
}

impl Column {
    fn field(self) -> &'static str {
        match self {
            Column::Username => "username",
            Column::DisplayName => "display_name",
            Column::Role => "role",
            Column::Area => "area_code",
            Column::Team => "team",
        }
    }
}

/// The headers a column is known by, folded (no diacritics, lower case, letters and digits only).
const HEADERS: &[(Column, &[&str])] = &[
    (Column::Username, &["tendangnhap", "taikhoan", "username", "login", "user"]),
    (Column::DisplayName, &["hoten", "hovaten", "ten", "tenhienthi", "displayname", "name", "fullname"]),
    (Column::Role, &["vaitro", "chucvu", "role"]),
    (Column::Area, &["madiaban", "madvhc", "madonvi", "maxa", "ma", "area", "areacode", "code"]),
    (Column::Team, &["to", "doi", "tennhom", "nhom", "team"]),
];

fn fold(h: &str) -> String {
    fold_for_search(h).chars().filter(char::is_ascii_alphanumeric).collect()
}

/// A role as a leader writes it: the API's word, or the Vietnamese one.
fn role_of(raw: &str) -> Option<Role> {
    let folded = fold(raw);
    let words: &[(Role, &[&str])] = &[
        (Role::Volunteer, &["volunteer", "tinhnguyenvien", "tnv"]),
        (Role::Leader, &["leader", "totruong", "doitruong"]),
        (Role::Committee, &["committee", "bandieuhanh", "banchidao", "uyban"]),
        (Role::Admin, &["admin", "quantri", "quantrivien"]),
    ];
    words.iter().find(|(_, names)| names.contains(&folded.as_str())).map(|(r, _)| *r)
}

/// Reads a roster: the first row names the columns (any order; a username and an area code
/// column at least), each further row one person. Blank rows are skipped; a missing role is a
/// volunteer. Every problem is reported, by line, and a username listed twice is one of them.
pub fn parse_roster(rows: impl IntoIterator<Item = (usize, Vec<String>)>) -> Result<Vec<RosterRow>, Vec<RosterError>> {
    let (people, errors) = read_roster(rows);
    if errors.is_empty() { Ok(people) } else { Err(errors) }
}

/// As [`parse_roster`], giving the rows that read beside the problems of the others, so that a
/// store can add its own problems of those rows and tell them all at once.
pub fn read_roster(rows: impl IntoIterator<Item = (usize, Vec<String>)>) -> (Vec<RosterRow>, Vec<RosterError>) {
    let mut rows = rows.into_iter().filter(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty()));
    let Some((header_line, header)) = rows.next() else {
        let empty = RosterError::new(
            1,
            None,
            "Tệp trống: cần một dòng tiêu đề (tên đăng nhập, họ tên, vai trò, mã địa bàn, tổ).",
            "The file is empty: it needs a header row (username, display name, role, area code, team).",
        );
        return (Vec::new(), vec![empty]);
    };
    let mut columns: HashMap<Column, usize> = HashMap::new();
    let mut errors = Vec::new();
    for (i, h) in header.iter().enumerate() {
        let Some(col) = HEADERS.iter().find(|(_, names)| names.contains(&fold(h).as_str())).map(|(c, _)| *c) else {
            if !h.trim().is_empty() {
                errors.push(RosterError::new(
                    header_line,
                    None,
                    format!("Cột «{}» không rõ là gì: dùng tên đăng nhập, họ tên, vai trò, mã địa bàn, tổ.", h.trim()),
                    format!("Column '{}' is not known: use username, display name, role, area code, team.", h.trim()),
                ));
            }
            continue;
        };
        if columns.insert(col, i).is_some() {
            errors.push(RosterError::new(
                header_line,
                Some(col.field()),
                format!("Cột «{}» có hai lần.", h.trim()),
                format!("Column '{}' appears twice.", h.trim()),
            ));
        }
    }
    for (col, vi, en) in [(Column::Username, "tên đăng nhập", "username"), (Column::Area, "mã địa bàn", "area code")]
    {
        if !columns.contains_key(&col) {
            errors.push(RosterError::new(
                header_line,
                Some(col.field()),
                format!("Thiếu cột «{vi}»."),
                format!("The '{en}' column is missing."),
            ));
        }
    }
    if !errors.is_empty() {
        return (Vec::new(), errors);
    }
    let mut people = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (line, cells) in rows {
        if people.len() + errors.len() >= MAX_ROWS {
            errors.push(RosterError::new(
                line,
                None,
                format!("Một tệp thêm được tối đa {MAX_ROWS} người: hãy chia tệp."),
                format!("One file adds at most {MAX_ROWS} people: split the file."),
            ));
            break;
        }
        let cell = |c: Column| columns.get(&c).and_then(|i| cells.get(*i)).map(|s| s.trim()).unwrap_or("");
        let mut problem = |col: Column, vi: String, en: String| {
            errors.push(RosterError::new(line, Some(col.field()), vi, en));
        };
        let username = match Username::parse("username", cell(Column::Username)) {
            Ok(u) => Some(u),
            Err(_) => {
                problem(
                    Column::Username,
                    format!(
                        "Tên đăng nhập «{}» không hợp lệ: 3–64 ký tự, chữ không dấu, số, dấu chấm, gạch ngang, gạch dưới.",
                        cell(Column::Username)
                    ),
                    format!(
                        "Username '{}' is not valid: 3 to 64 unaccented letters, digits, dots, dashes or underscores.",
                        cell(Column::Username)
                    ),
                );
                None
            }
        };
        if let Some(u) = &username
            && let Some(first) = seen.insert(u.as_str().to_string(), line)
        {
            problem(
                Column::Username,
                format!("Tên đăng nhập «{}» đã có ở dòng {first}.", u.as_str()),
                format!("Username '{}' is already on line {first}.", u.as_str()),
            );
        }
        let display_name = match cell(Column::DisplayName) {
            "" => None,
            raw => match Text::parse("display_name", raw, MAX_DISPLAY_NAME, false) {
                Ok(t) => Some(t.as_str().to_string()),
                Err(e) => {
                    let m = e.messages();
                    problem(Column::DisplayName, m.vi.clone(), m.en.clone());
                    None
                }
            },
        };
        let role = match cell(Column::Role) {
            "" => Some(Role::Volunteer),
            raw => {
                let r = role_of(raw);
                if r.is_none() {
                    problem(
                        Column::Role,
                        format!("Vai trò «{raw}» không rõ: tình nguyện viên, tổ trưởng, ban chỉ đạo hoặc quản trị."),
                        format!("Role '{raw}' is not known: volunteer, leader, committee or admin."),
                    );
                }
                r
            }
        };
        let area = match AreaCode::parse("area_code", cell(Column::Area)) {
            Ok(a) => Some(a),
            Err(_) => {
                problem(
                    Column::Area,
                    format!(
                        "Mã địa bàn «{}» không hợp lệ: dùng mã số của xã, huyện hoặc tỉnh, không có dấu cách.",
                        cell(Column::Area)
                    ),
                    format!(
                        "Area code '{}' is not valid: use the commune's, district's or province's number.",
                        cell(Column::Area)
                    ),
                );
                None
            }
        };
        let team = match cell(Column::Team) {
            "" => None,
            raw => match Text::parse("team", raw, MAX_TEAM_NAME, false) {
                Ok(t) => Some(t.as_str().to_string()),
                Err(e) => {
                    let m = e.messages();
                    problem(Column::Team, m.vi.clone(), m.en.clone());
                    None
                }
            },
        };
        if let (Some(username), Some(role), Some(area_code)) = (username, role, area) {
            people.push(RosterRow { line, username, display_name, role, area_code, team });
        }
    }
    (people, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(lines: &[&[&str]]) -> Vec<(usize, Vec<String>)> {
        lines.iter().enumerate().map(|(i, l)| (i + 1, l.iter().map(|s| s.to_string()).collect())).collect()
    }

    #[test]
    fn vietnamese_headers_in_any_order_and_vietnamese_roles() {
        let got = parse_roster(rows(&[
            &["Họ và tên", "Tên đăng nhập", "Mã địa bàn", "Vai trò", "Tổ"],
            &["Nguyễn Thị Lan", "TNV.Lan", "18073", "Tình nguyện viên", "Đội 1"],
            &["", "", "", "", ""],
            &["Trần Văn Bình", "tt.binh", "436", "tổ trưởng", ""],
            &["", "tnv.an", "18073", "", ""],
        ]))
        .unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!((got[0].line, got[0].username.as_str(), got[0].role), (2, "tnv.lan", Role::Volunteer));
        assert_eq!(got[0].display_name.as_deref(), Some("Nguyễn Thị Lan"));
        assert_eq!(got[0].team.as_deref(), Some("Đội 1"));
        assert_eq!((got[1].line, got[1].role, got[1].area_code.as_str()), (4, Role::Leader, "436"));
        assert_eq!((got[2].role, got[2].display_name.clone(), got[2].team.clone()), (Role::Volunteer, None, None));
    }

    #[test]
    fn english_headers_work_too() {
        let got = parse_roster(rows(&[
            &["username", "display name", "role", "area", "team"],
            &["v.a", "A", "volunteer", "18073", ""],
        ]))
        .unwrap();
        assert_eq!(got[0].username.as_str(), "v.a");
    }

    #[test]
    fn every_problem_is_told_by_line_and_nothing_is_taken() {
        let errors = parse_roster(rows(&[
            &["tên đăng nhập", "họ tên", "vai trò", "mã địa bàn"],
            &["a b", "Lan", "", "18073"],
            &["v.ok", "Lan\u{202e}", "", "18073"],
            &["v.two", "", "thủ quỹ", "18 073"],
            &["v.ok", "", "", "18073"],
        ]))
        .unwrap_err();
        let at: Vec<(usize, Option<&str>)> = errors.iter().map(|e| (e.line, e.field)).collect();
        assert_eq!(
            at,
            [
                (2, Some("username")),
                (3, Some("display_name")),
                (4, Some("role")),
                (4, Some("area_code")),
                (5, Some("username"))
            ]
        );
        assert!(errors[4].vi.contains("dòng 3"), "{}", errors[4].vi);
        assert!(errors.iter().all(|e| !e.vi.is_empty() && !e.en.is_empty()));
    }

    #[test]
    fn a_header_without_username_or_area_is_refused_at_line_one() {
        let errors = parse_roster(rows(&[&["họ tên", "điện thoại"], &["Lan", "0912"]])).unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors.iter().all(|e| e.line == 1));
        assert!(parse_roster(Vec::new()).is_err());
    }
}
