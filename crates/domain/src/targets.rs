//! Targets per area (issue 8): how many households, people and smartphone owners an area is
//! known to have, from a table the committee keeps (CSV or a spreadsheet). Pure: rows in (each
//! with its line number), targets or every problem found out, so a file is taken whole or not at
//! all. Whether each area exists is for the store to say.

use std::collections::HashMap;

use crate::area::fold_for_search;
use crate::values::AreaCode;

/// One area's target figures; `None` where the table does not say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Where it was read (the first line, when an area is listed twice alike).
    pub line: usize,
    pub area_code: AreaCode,
    pub households: Option<u64>,
    pub population: Option<u64>,
    pub smartphone_owners: Option<u64>,
}

/// The largest figure taken: more than any area's households, people or smartphone owners (the
/// country has about 100 million people), small enough that a province's sum over every
/// commune stays far inside the 64-bit integers it is stored and summed in.
pub const MAX_FIGURE: u64 = 1_000_000_000;

/// A problem in a targets table, at its line (1 = the header), in both languages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {en}")]
pub struct TargetError {
    pub line: usize,
    pub vi: String,
    pub en: String,
}

fn error(line: usize, vi: String, en: String) -> TargetError {
    TargetError { line, vi, en }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Area,
    Households,
    Population,
    SmartphoneOwners,
}

/// The headers a column is known by, folded (no diacritics, lower case, letters and digits
/// only): Vietnamese as the committees write them, and English.
const HEADERS: &[(Column, &[&str])] = &[
    (Column::Area, &["ma", "madvhc", "madonvi", "madiaban", "maxa", "mahuyen", "matinh", "area", "areacode", "code"]),
    (Column::Households, &["soho", "tongsoho", "sohogiadinh", "households"]),
    (Column::Population, &["danso", "sodan", "songuoi", "sonhankhau", "population"]),
    (
        Column::SmartphoneOwners,
        &[
            "songuoicodienthoaithongminh",
            "sodienthoaithongminh",
            "nguoicodienthoaithongminh",
            "smartphoneowners",
            "smartphones",
        ],
    ),
];

fn fold_header(h: &str) -> String {
    fold_for_search(h).chars().filter(char::is_ascii_alphanumeric).collect()
}

fn column_of(header: &str) -> Option<Column> {
    let folded = fold_header(header);
    HEADERS.iter().find(|(_, names)| names.contains(&folded.as_str())).map(|(c, _)| *c)
}

/// A count as people type it: `12345`, `12.345`, `12,345` or `12 345` (thousands grouped by
/// threes); nothing else.
fn count(raw: &str) -> Option<u64> {
    let t = raw.trim();
    if t.is_empty() {
        return None;
    }
    let separator = t.chars().find(|c| matches!(c, '.' | ',' | ' ' | '\u{a0}'));
    let digits: String = match separator {
        None => t.to_string(),
        Some(sep) => {
            let groups: Vec<&str> = t.split(sep).collect();
            let well_grouped =
                groups[0].len() <= 3 && !groups[0].is_empty() && groups[1..].iter().all(|g| g.len() == 3);
            if !well_grouped {
                return None;
            }
            groups.concat()
        }
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Digits beyond 64 bits are a number still, too large for any area: the caller says so.
    Some(digits.parse().unwrap_or(u64::MAX))
}

/// A number with its thousands grouped by dots, as Vietnamese tables write them.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

/// Reads a targets table: the first row names the columns (any order; an area code column and
/// at least one figure), each further row one area. Blank rows are skipped. Every problem is
/// reported, by line; an area listed twice with other figures is a conflict (twice with the same
/// figures is harmless).
pub fn parse_targets(rows: impl IntoIterator<Item = (usize, Vec<String>)>) -> Result<Vec<Target>, Vec<TargetError>> {
    let mut rows = rows.into_iter();
    let Some((header_line, header)) = rows.next() else {
        return Err(vec![error(
            1,
            "Tệp trống: cần một dòng tiêu đề (mã địa bàn, số hộ, dân số, số người có điện thoại thông minh).".into(),
            "The file is empty: it needs a header row (area code, households, population, smartphone owners).".into(),
        )]);
    };
    let mut errors = Vec::new();
    let mut columns: Vec<Option<Column>> = Vec::new();
    for h in &header {
        let c = column_of(h);
        if c.is_none() && !h.trim().is_empty() {
            errors.push(error(
                header_line,
                format!(
                    "Không hiểu cột «{}»; các cột được nhận: mã, số hộ, dân số, số người có điện thoại thông minh.",
                    h.trim()
                ),
                format!(
                    "Unknown column '{}'; the columns read are: area code, households, population, smartphone owners.",
                    h.trim()
                ),
            ));
        }
        if let Some(c) = c
            && columns.contains(&Some(c))
        {
            errors.push(error(
                header_line,
                format!("Cột «{}» lặp lại.", h.trim()),
                format!("The column '{}' appears twice.", h.trim()),
            ));
        }
        columns.push(c);
    }
    let position = |c: Column| columns.iter().position(|x| *x == Some(c));
    let Some(area_at) = position(Column::Area) else {
        errors.push(error(
            header_line,
            "Thiếu cột mã địa bàn (mã đơn vị hành chính).".into(),
            "The area code column is missing.".into(),
        ));
        return Err(errors);
    };
    if [Column::Households, Column::Population, Column::SmartphoneOwners].iter().all(|c| position(*c).is_none()) {
        errors.push(error(
            header_line,
            "Cần ít nhất một cột số liệu: số hộ, dân số hoặc số người có điện thoại thông minh.".into(),
            "At least one figure column is needed: households, population or smartphone owners.".into(),
        ));
        return Err(errors);
    }

    let mut targets: Vec<Target> = Vec::new();
    let mut seen: HashMap<String, (usize, usize)> = HashMap::new();
    for (line, row) in rows {
        if row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let cell = |i: Option<usize>| i.and_then(|i| row.get(i)).map(|s| s.trim()).unwrap_or("");
        let code = match AreaCode::parse("area_code", cell(Some(area_at))) {
            Ok(c) => c,
            Err(_) => {
                errors.push(error(
                    line,
                    format!(
                        "Mã địa bàn «{}» không hợp lệ (1 đến 16 chữ cái, chữ số, «-» hoặc «_»).",
                        cell(Some(area_at))
                    ),
                    format!(
                        "The area code '{}' is not valid (1 to 16 letters, digits, '-' or '_').",
                        cell(Some(area_at))
                    ),
                ));
                continue;
            }
        };
        let mut figure = |c: Column, vi: &str, en: &str| -> Result<Option<u64>, ()> {
            let raw = cell(position(c));
            if raw.is_empty() {
                return Ok(None);
            }
            match count(raw) {
                Some(n) if n <= MAX_FIGURE => Ok(Some(n)),
                Some(_) => {
                    errors.push(error(
                        line,
                        format!(
                            "{vi} «{raw}» lớn hơn mọi địa bàn có thể có (tối đa {}); hãy kiểm tra lại.",
                            grouped(MAX_FIGURE)
                        ),
                        format!(
                            "{en} '{raw}' is larger than any area can have (at most {}); check it.",
                            grouped(MAX_FIGURE)
                        ),
                    ));
                    Err(())
                }
                None => {
                    errors.push(error(
                        line,
                        format!("{vi} «{raw}» không phải một số nguyên không âm."),
                        format!("{en} '{raw}' is not a whole number."),
                    ));
                    Err(())
                }
            }
        };
        let households = figure(Column::Households, "Số hộ", "Households");
        let population = figure(Column::Population, "Dân số", "Population");
        let owners = figure(Column::SmartphoneOwners, "Số người có điện thoại thông minh", "Smartphone owners");
        let (Ok(households), Ok(population), Ok(smartphone_owners)) = (households, population, owners) else {
            continue;
        };
        if households.is_none() && population.is_none() && smartphone_owners.is_none() {
            errors.push(error(
                line,
                format!("Địa bàn {code} không có số liệu nào."),
                format!("Area {code} has no figure."),
            ));
            continue;
        }
        if let (Some(p), Some(o)) = (population, smartphone_owners)
            && o > p
        {
            errors.push(error(
                line,
                format!("Số người có điện thoại thông minh ({o}) lớn hơn dân số ({p})."),
                format!("Smartphone owners ({o}) exceed the population ({p})."),
            ));
            continue;
        }
        let target = Target { line, area_code: code, households, population, smartphone_owners };
        match seen.get(target.area_code.as_str()) {
            Some(&(first_line, index)) if Target { line, ..targets[index].clone() } != target => errors.push(error(
                line,
                format!("Địa bàn {} đã có ở dòng {first_line} với số liệu khác.", target.area_code),
                format!("Area {} is already on line {first_line} with other figures.", target.area_code),
            )),
            Some(_) => {}
            None => {
                seen.insert(target.area_code.to_string(), (line, targets.len()));
                targets.push(target);
            }
        }
    }
    if errors.is_empty() { Ok(targets) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> Vec<(usize, Vec<String>)> {
        text.lines().enumerate().map(|(i, l)| (i + 1, l.split(';').map(str::to_string).collect())).collect()
    }

    #[test]
    fn vietnamese_headers_in_any_order_and_grouped_numbers_are_read() {
        let t = parse_targets(rows(
            "Số hộ;Mã ĐVHC;Dân số;Số người có điện thoại thông minh\n\
             12.345;18073;45 210;20,100\n\
             ;;;\n\
             800;18077;;",
        ))
        .unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(
            (t[0].area_code.as_str(), t[0].households, t[0].population, t[0].smartphone_owners),
            ("18073", Some(12_345), Some(45_210), Some(20_100))
        );
        assert_eq!(
            (t[1].area_code.as_str(), t[1].households, t[1].population, t[1].smartphone_owners),
            ("18077", Some(800), None, None)
        );
        // English headers too.
        let t = parse_targets(rows("area_code;households\n42;365000")).unwrap();
        assert_eq!(t[0].households, Some(365_000));
    }

    #[test]
    fn every_problem_is_reported_by_line_and_nothing_is_taken() {
        let errors = parse_targets(rows(
            "mã;số hộ;dân số;số người có điện thoại thông minh\n\
             18073;1.2345;;\n\
             mã xã;10;;\n\
             18077;;;\n\
             18079;10;100;200\n\
             18082;-5;;\n\
             18085;10;;\n\
             18085;11;;\n\
             18085;10;;",
        ))
        .unwrap_err();
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 3, 4, 5, 6, 8], "{errors:#?}");
        assert!(errors[0].en.contains("'1.2345' is not a whole number"));
        assert!(errors[5].en.contains("already on line 7"));
        assert!(errors.iter().all(|e| !e.vi.is_empty() && !e.en.is_empty()));
    }

    #[test]
    fn a_bad_header_is_named() {
        let e = parse_targets(rows("mã;số hộ;ghi chú")).unwrap_err();
        assert_eq!((e[0].line, e[0].en.contains("'ghi chú'")), (1, true));
        let e = parse_targets(rows("số hộ;dân số\n10;20")).unwrap_err();
        assert!(e[0].en.contains("area code column is missing"));
        let e = parse_targets(rows("mã;tên\n42;Hà Tĩnh")).unwrap_err();
        assert!(e.iter().any(|e| e.en.contains("At least one figure column")));
        let e = parse_targets(rows("mã;số hộ;Số hộ")).unwrap_err();
        assert!(e[0].en.contains("appears twice"));
        assert_eq!(parse_targets(Vec::new()).unwrap_err()[0].line, 1);
    }

    /// 18446744073709551615 was once stored as 9223372036854775807: a figure that does not fit
    /// is refused by its line and column name, in both languages, and nothing is taken.
    #[test]
    fn figures_too_large_for_any_area_are_refused_by_line() {
        let errors = parse_targets(rows(
            "mã;số hộ;dân số;số người có điện thoại thông minh\n\
             18073;1.000.000.000;1000000000;\n\
             18077;18446744073709551615;;\n\
             18079;;99999999999999999999999;\n\
             18082;;;1.000.000.001",
        ))
        .unwrap_err();
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [3, 4, 5], "{errors:#?}");
        assert_eq!(
            errors[0].en,
            "Households '18446744073709551615' is larger than any area can have (at most 1.000.000.000); check it."
        );
        assert!(errors[0].vi.starts_with("Số hộ «18446744073709551615» lớn hơn"), "{}", errors[0].vi);
        assert!(
            errors[1].en.starts_with("Population '99999999999999999999999' is larger than any area"),
            "{}",
            errors[1].en
        );
        assert!(
            errors[2].en.starts_with("Smartphone owners '1.000.000.001' is larger than any area"),
            "{}",
            errors[2].en
        );
        assert_eq!(grouped(12_345), "12.345");
        assert_eq!(grouped(999), "999");
    }

    #[test]
    fn counts_accept_grouped_thousands_only() {
        for (raw, n) in
            [("0", Some(0)), ("12345", Some(12_345)), ("12.345", Some(12_345)), ("1,234,567", Some(1_234_567))]
        {
            assert_eq!(count(raw), n, "{raw}");
        }
        for raw in ["", "1.5", "12.34", ".123", "1e5", "-3", "12.345,6", "mười"] {
            assert_eq!(count(raw), None, "{raw}");
        }
    }
}
