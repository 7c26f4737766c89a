//! Small validated values. Each has a `parse` that is the only way to make one, so a value of
//! these types is valid wherever it is found.

use std::fmt;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;
use uuid::Uuid;

use crate::error::{ErrorKind, FieldError};

/// A Unicode text, NFC-normalised, trimmed, non-empty, at most `max` characters, with no control
/// characters (newlines and tabs are allowed where `multiline`) and no hidden ones
/// ([`is_hidden_char`]).
///
/// Read by serde it is checked by [`Text::parse`] too; as the field it belongs to is not known
/// there, it is held to what every text is: at most [`Text::MAX_CHARS`], newlines allowed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Text(String);

impl Text {
    /// The longest any text may be (a visit's notes): the bound of a text read by serde.
    pub const MAX_CHARS: usize = crate::visit::MAX_NOTES_CHARS;

    pub fn parse(field: &str, raw: &str, max: usize, multiline: bool) -> Result<Text, FieldError> {
        let trimmed = raw.trim();
        // Most text arrives in NFC already; the quick check spares re-composing it.
        let normalized: String = match unicode_normalization::is_nfc_quick(trimmed.chars()) {
            unicode_normalization::IsNormalized::Yes => trimmed.to_string(),
            _ => trimmed.nfc().collect(),
        };
        if normalized.is_empty() {
            return Err(FieldError::new(field, ErrorKind::Empty));
        }
        if normalized.chars().any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\t'))) {
            return Err(FieldError::new(field, ErrorKind::ControlCharacters));
        }
        if normalized.chars().any(is_hidden_char) {
            return Err(FieldError::new(field, ErrorKind::HiddenCharacters));
        }
        if normalized.chars().count() > max {
            return Err(FieldError::new(field, ErrorKind::TooLong { max }));
        }
        Ok(Text(normalized))
    }

    /// An optional text: absent or blank gives `None`.
    pub fn parse_optional(
        field: &str, raw: Option<&str>, max: usize, multiline: bool,
    ) -> Result<Option<Text>, FieldError> {
        match raw {
            Some(s) if !s.trim().is_empty() => Text::parse(field, s, max, multiline).map(Some),
            _ => Ok(None),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Text::parse("text", &raw, Text::MAX_CHARS, true).map_err(de::Error::custom)
    }
}

/// A character that changes how a text is shown without being seen: the bidirectional controls
/// (Unicode's `Bidi_Control`: embeddings, overrides, isolates and marks; U+202E turns "gpj.exe"
/// into "exe.jpg" on screen) and the zero-width ones (spaces, joiners, word joiner, the byte-order
/// mark, the invisible operators). None belongs in an address, a note or a name typed in
/// Vietnamese, and each lets a text display as something else.
pub fn is_hidden_char(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'                  // Arabic letter mark
            | '\u{180E}'            // Mongolian vowel separator (zero width)
            | '\u{200B}'..='\u{200F}' // zero-width space, non-joiner, joiner; LRM, RLM
            | '\u{202A}'..='\u{202E}' // embeddings and overrides
            | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
            | '\u{2066}'..='\u{2069}' // isolates
            | '\u{FEFF}' // zero-width no-break space (byte-order mark)
    )
}

/// A count of people or phones: whole, not negative, at most a plausible bound. Read by serde
/// it is checked by [`Count::parse`] against the only bound known there, `u32::MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize)]
#[serde(transparent)]
pub struct Count(u32);

impl Count {
    pub fn parse(field: &str, raw: i64, max: u32) -> Result<Count, FieldError> {
        if raw < 0 {
            return Err(FieldError::new(field, ErrorKind::Negative));
        }
        if raw > i64::from(max) {
            return Err(FieldError::new(field, ErrorKind::TooLarge { max: u64::from(max) }));
        }
        // Checked above: 0 <= raw <= max <= u32::MAX.
        Ok(Count(raw as u32))
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = i64::deserialize(d)?;
        Count::parse("count", raw, u32::MAX).map_err(de::Error::custom)
    }
}

/// An identifier made by a device: a UUID that is not nil.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Id(Uuid);

impl Id {
    pub fn parse(field: &str, raw: &str) -> Result<Id, FieldError> {
        let uuid = Uuid::try_parse(raw.trim()).map_err(|_| FieldError::new(field, ErrorKind::NotUuid))?;
        if uuid.is_nil() {
            return Err(FieldError::new(field, ErrorKind::NilUuid));
        }
        Ok(Id(uuid))
    }

    /// A record identifier must be a UUIDv7: made on the device, time-ordered, unique.
    pub fn parse_v7(field: &str, raw: &str) -> Result<Id, FieldError> {
        let id = Id::parse(field, raw)?;
        if id.0.get_version_num() != 7 {
            return Err(FieldError::new(field, ErrorKind::NotUuidV7));
        }
        Ok(id)
    }

    pub fn new_v7() -> Id {
        Id(Uuid::now_v7())
    }

    pub fn from_uuid(uuid: Uuid) -> Id {
        Id(uuid)
    }

    pub fn uuid(self) -> Uuid {
        self.0
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let raw = String::deserialize(d)?;
            Id::parse("id", &raw).map_err(de::Error::custom)
        } else {
            // A binary format holds the 16 bytes `Uuid` serialises there; parse still judges it.
            let uuid = Uuid::deserialize(d)?;
            Id::parse("id", &uuid.to_string()).map_err(de::Error::custom)
        }
    }
}

/// A General Statistics Office area code (or a local code below the commune): 1 to 16 characters
/// of ASCII letters, digits, `-` and `_`. Codes are compared as text: "01" and "1" differ.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct AreaCode(String);

impl AreaCode {
    pub const MAX_LEN: usize = 16;

    pub fn parse(field: &str, raw: &str) -> Result<AreaCode, FieldError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(FieldError::new(field, ErrorKind::Required));
        }
        if s.len() > Self::MAX_LEN || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(FieldError::new(field, ErrorKind::BadAreaCode));
        }
        Ok(AreaCode(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AreaCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for AreaCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        AreaCode::parse("area_code", &raw).map_err(de::Error::custom)
    }
}

/// A positive whole number: the per-device sequence number, or a visit's revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Positive(i64);

impl Positive {
    pub fn parse(field: &str, raw: i64, kind: ErrorKind) -> Result<Positive, FieldError> {
        if raw < 1 {
            return Err(FieldError::new(field, kind));
        }
        Ok(Positive(raw))
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Positive {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = i64::deserialize(d)?;
        // Whether it is a sequence number or a revision is not known here, so neither of their
        // messages is given: the error says what was expected and what came.
        Positive::parse("positive", raw, ErrorKind::OutOfRange { min: 1.0, max: i64::MAX as f64 })
            .map_err(|_| de::Error::custom(format!("expected a positive whole number (1 or more), found {raw}")))
    }
}

/// Whole numbers as JSON may write them: `957` or `957.0`. JSON (RFC 8259) and JSON Schema do
/// not tell the two apart, so neither does the server where a request names a count or a
/// revision; a fraction or a number out of range is refused as before.
pub mod whole {
    use serde::Deserialize;
    use serde::de::{Deserializer, Error};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Number {
        Signed(i64),
        Unsigned(u64),
        Float(f64),
    }

    fn to_i128<E: Error>(n: Number) -> Result<i128, E> {
        match n {
            Number::Signed(v) => Ok(i128::from(v)),
            Number::Unsigned(v) => Ok(i128::from(v)),
            // 2^64 is exact in f64; a whole float below it in magnitude converts exactly.
            Number::Float(f) if f.fract() == 0.0 && f.abs() < 18_446_744_073_709_551_616.0 => Ok(f as i128),
            Number::Float(f) => Err(E::custom(format!("expected a whole number, found {f}"))),
        }
    }

    pub fn u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let n = to_i128(Number::deserialize(d)?)?;
        u64::try_from(n).map_err(|_| D::Error::custom(format!("{n} is out of range")))
    }

    pub fn option_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        match Option::<Number>::deserialize(d)? {
            None => Ok(None),
            Some(n) => {
                let n = to_i128(n)?;
                i64::try_from(n).map(Some).map_err(|_| D::Error::custom(format!("{n} is out of range")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_nfc_normalised_and_trimmed() {
        // "Hà Tĩnh" written in decomposed form (NFD): a + combining grave, i + combining tilde.
        let nfd = "  Ha\u{0300} Ti\u{0303}nh ";
        let t = Text::parse("address", nfd, 50, false).unwrap();
        assert_eq!(t.as_str(), "Hà Tĩnh");
        assert_eq!(t.as_str().chars().count(), 7);
    }

    #[test]
    fn text_rules() {
        assert_eq!(Text::parse("a", "   ", 5, false).unwrap_err().kind, ErrorKind::Empty);
        assert_eq!(Text::parse("a", "abcdef", 5, false).unwrap_err().kind, ErrorKind::TooLong { max: 5 });
        // The bound counts characters, not bytes: five Vietnamese letters fit in five.
        assert!(Text::parse("a", "Đường", 5, false).is_ok());
        assert_eq!(Text::parse("a", "a\u{0007}b", 5, false).unwrap_err().kind, ErrorKind::ControlCharacters);
        assert_eq!(Text::parse("a", "a\nb", 5, false).unwrap_err().kind, ErrorKind::ControlCharacters);
        assert!(Text::parse("a", "a\nb", 5, true).is_ok());
        assert_eq!(Text::parse_optional("a", Some("  "), 5, false).unwrap(), None);
        assert_eq!(Text::parse_optional("a", None, 5, false).unwrap(), None);
    }

    #[test]
    fn hidden_characters_are_refused_and_vietnamese_is_not() {
        for hidden in [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
            '\u{200E}', '\u{200F}', '\u{061C}', '\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}',
        ] {
            let raw = format!("Số 5{hidden} Trần Phú");
            let e = Text::parse("address", &raw, 100, true).unwrap_err();
            assert_eq!(
                (e.field.as_str(), e.kind.clone()),
                ("address", ErrorKind::HiddenCharacters),
                "U+{:04X}",
                hidden as u32
            );
            // Where it stands does not matter: first, last, alone.
            for raw in [format!("{hidden}abc"), format!("abc{hidden}"), hidden.to_string()] {
                assert!(Text::parse("notes", &raw, 100, true).is_err(), "U+{:04X}", hidden as u32);
            }
        }
        // "gpj.exe" shown as "exe.jpg": refused, with a code and both languages naming the field.
        let e = Text::parse("notes", "ảnh\u{202E}gpj.exe", 100, true).unwrap_err();
        assert_eq!(e.code(), "hidden_characters");
        let m = e.messages();
        assert!(m.vi.contains("«notes»") && m.en.contains("'notes'"), "{m:?}");
        // Ordinary Vietnamese passes, typed composed or decomposed (NFD, as some keyboards send
        // it: combining marks are not hidden characters), with its newlines in a note.
        let nfc = "Nhà bà Nguyễn Thị Hường, ngõ 3 đường Phan Đình Phùng;\nhẹn quay lại thứ Bảy.";
        let nfd: String = unicode_normalization::UnicodeNormalization::nfd(nfc).collect();
        assert_ne!(nfd, nfc);
        assert_eq!(Text::parse("notes", &nfd, 200, true).unwrap().as_str(), nfc);
        assert_eq!(Text::parse("notes", nfc, 200, true).unwrap().as_str(), nfc);
        // Emoji with variation selectors are not hidden characters either.
        assert!(Text::parse("notes", "Cảm ơn ❤️ 👍🏽", 50, false).is_ok());
    }

    #[test]
    fn count_rules() {
        assert_eq!(Count::parse("c", -1, 10).unwrap_err().kind, ErrorKind::Negative);
        assert_eq!(Count::parse("c", 11, 10).unwrap_err().kind, ErrorKind::TooLarge { max: 10 });
        assert_eq!(Count::parse("c", i64::MAX, 10).unwrap_err().kind, ErrorKind::TooLarge { max: 10 });
        assert_eq!(Count::parse("c", 10, 10).unwrap().get(), 10);
        assert_eq!(Count::parse("c", 0, 10).unwrap().get(), 0);
    }

    #[test]
    fn id_rules() {
        assert_eq!(Id::parse("id", "nope").unwrap_err().kind, ErrorKind::NotUuid);
        assert_eq!(Id::parse("id", &Uuid::nil().to_string()).unwrap_err().kind, ErrorKind::NilUuid);
        let v4 = "67e55044-10b1-426f-9247-bb680e5fe0c8";
        assert!(Id::parse("id", v4).is_ok());
        assert_eq!(Id::parse_v7("id", v4).unwrap_err().kind, ErrorKind::NotUuidV7);
        let v7 = Id::new_v7().to_string();
        assert!(Id::parse_v7("id", &v7).is_ok());
    }

    #[test]
    fn whole_numbers_may_carry_a_zero_fraction() {
        #[derive(serde::Deserialize)]
        struct T {
            #[serde(deserialize_with = "whole::u64")]
            size: u64,
            #[serde(default, deserialize_with = "whole::option_i64")]
            revision: Option<i64>,
        }
        let t: T = serde_json::from_str(r#"{"size": 957.0, "revision": 3.0}"#).unwrap();
        assert_eq!((t.size, t.revision), (957, Some(3)));
        let t: T = serde_json::from_str(r#"{"size": 18446744073709551615, "revision": null}"#).unwrap();
        assert_eq!((t.size, t.revision), (u64::MAX, None));
        let t: T = serde_json::from_str(r#"{"size": 1}"#).unwrap();
        assert_eq!(t.revision, None);
        for bad in [r#"{"size": 1.5}"#, r#"{"size": -1}"#, r#"{"size": "1"}"#, r#"{"size": 1, "revision": 1e300}"#] {
            assert!(serde_json::from_str::<T>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn area_code_rules() {
        assert_eq!(AreaCode::parse("a", "18073").unwrap().as_str(), "18073");
        assert_eq!(AreaCode::parse("a", " 42 ").unwrap().as_str(), "42");
        assert_eq!(AreaCode::parse("a", "").unwrap_err().kind, ErrorKind::Required);
        assert_eq!(AreaCode::parse("a", "18 073").unwrap_err().kind, ErrorKind::BadAreaCode);
        assert_eq!(AreaCode::parse("a", "x".repeat(17).as_str()).unwrap_err().kind, ErrorKind::BadAreaCode);
        assert_eq!(AreaCode::parse("a", "Hà").unwrap_err().kind, ErrorKind::BadAreaCode);
    }

    /// Reads `json` as a `T`, or gives the error's message.
    fn from_json<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    /// Reads `json` as a `T` that must be refused, and gives the message.
    fn refused<T: serde::de::DeserializeOwned + fmt::Debug>(json: &str) -> String {
        match from_json::<T>(json) {
            Ok(v) => panic!("{json} was read as {v:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn text_is_read_through_parse() {
        // A valid text reads back and writes out as the same plain string.
        let json = r#""Nhà bà Hường, ngõ 3""#;
        let t: Text = from_json(json).unwrap();
        assert_eq!(t.as_str(), "Nhà bà Hường, ngõ 3");
        assert_eq!(serde_json::to_string(&t).unwrap(), json);
        // Notes keep their newlines.
        let t: Text = from_json(r#""hẹn quay lại\nthứ Bảy""#).unwrap();
        assert_eq!(t.as_str(), "hẹn quay lại\nthứ Bảy");
        // What parse trims and composes is read trimmed and composed.
        let t: Text = from_json(r#""  Ha\u0300 Ti\u0303nh ""#).unwrap();
        assert_eq!(t.as_str(), "Hà Tĩnh");
        assert_eq!(serde_json::to_string(&t).unwrap(), r#""Hà Tĩnh""#);
        // What parse refuses is refused, and the message says why.
        for (json, why) in [
            (r#""""#.to_string(), "must not be empty"),
            (r#""   ""#.to_string(), "must not be empty"),
            (r#""gpj\u202Eexe""#.to_string(), "hidden characters"),
            (r#""a\u0007b""#.to_string(), "control characters"),
            (format!("\"{}\"", "x".repeat(Text::MAX_CHARS + 1)), "longer than 1000 characters"),
        ] {
            let e = refused::<Text>(&json);
            assert!(e.contains(why) && e.contains("'text'"), "{json}: {e}");
        }
        assert!(refused::<Text>("12").contains("expected a string"));
    }

    #[test]
    fn count_is_read_through_parse() {
        let c: Count = from_json("7").unwrap();
        assert_eq!(c.get(), 7);
        assert_eq!(serde_json::to_string(&c).unwrap(), "7");
        let c: Count = from_json(&u32::MAX.to_string()).unwrap();
        assert_eq!(serde_json::to_string(&c).unwrap(), u32::MAX.to_string());
        let e = refused::<Count>("-1");
        assert!(e.contains("The count 'count' must not be negative"), "{e}");
        let e = refused::<Count>("5000000000");
        assert!(e.contains("larger than is plausible (at most 4294967295)"), "{e}");
        assert!(refused::<Count>("1.5").contains("expected i64"));
    }

    #[test]
    fn id_is_read_through_parse() {
        let v7 = Id::new_v7();
        let json = format!("\"{v7}\"");
        let id: Id = from_json(&json).unwrap();
        assert_eq!(id, v7);
        assert_eq!(serde_json::to_string(&id).unwrap(), json);
        // Trimmed, as parse trims.
        let id: Id = from_json(r#"" 67e55044-10b1-426f-9247-bb680e5fe0c8 ""#).unwrap();
        assert_eq!(id.to_string(), "67e55044-10b1-426f-9247-bb680e5fe0c8");
        let e = refused::<Id>(&format!("\"{}\"", Uuid::nil()));
        assert!(e.contains("must not be the nil UUID"), "{e}");
        for json in [r#""nope""#, r#""""#] {
            let e = refused::<Id>(json);
            assert!(e.contains("The identifier 'id' is not a valid UUID"), "{json}: {e}");
        }
    }

    #[test]
    fn area_code_is_read_through_parse() {
        let code: AreaCode = from_json(r#""18073""#).unwrap();
        assert_eq!(code.as_str(), "18073");
        assert_eq!(serde_json::to_string(&code).unwrap(), r#""18073""#);
        // "01" and "1" differ: read as written.
        assert_eq!(from_json::<AreaCode>(r#""01""#).unwrap().as_str(), "01");
        // Trimmed, as parse trims.
        let code: AreaCode = from_json(r#"" 42 ""#).unwrap();
        assert_eq!(serde_json::to_string(&code).unwrap(), r#""42""#);
        for json in [r#""18 073""#, r#""Hà""#, r#""a/b""#, r#""xxxxxxxxxxxxxxxxx""#] {
            let e = refused::<AreaCode>(json);
            assert!(
                e.contains(
                    "The area code 'area_code' is not valid (digits, letters, '-' or '_', at most 16 characters)"
                ),
                "{json}: {e}"
            );
        }
        for json in [r#""""#, r#""  ""#] {
            let e = refused::<AreaCode>(json);
            assert!(e.contains("The field 'area_code' is required"), "{json}: {e}");
        }
        assert!(refused::<AreaCode>("18073").contains("expected a string"));
    }

    #[test]
    fn positive_is_read_through_parse() {
        let p: Positive = from_json("3").unwrap();
        assert_eq!(p.get(), 3);
        assert_eq!(serde_json::to_string(&p).unwrap(), "3");
        for (json, found) in [("0", "found 0"), ("-5", "found -5")] {
            let e = refused::<Positive>(json);
            assert!(e.contains("expected a positive whole number") && e.contains(found), "{json}: {e}");
        }
    }

    #[test]
    fn an_area_record_is_read_through_its_values_parse() {
        use crate::area::AreaRecord;
        let json = r#"{"code":"18073","parent":"436","name":"Xã Tân Lập","division_type":"Xã"}"#;
        let a: AreaRecord = from_json(json).unwrap();
        assert_eq!(serde_json::to_string(&a).unwrap(), json);
        let e = refused::<AreaRecord>(r#"{"code":"18073","parent":"4 36","name":"X","division_type":null}"#);
        assert!(e.contains("area code") && e.contains("line 1"), "{e}");
        let e =
            refused::<AreaRecord>(r#"{"code":"18073","parent":null,"name":"ảnh\u202Egpj.exe","division_type":null}"#);
        assert!(e.contains("hidden characters"), "{e}");
    }

    #[test]
    fn positive_rules() {
        assert!(Positive::parse("s", 0, ErrorKind::SequenceNotPositive).is_err());
        assert!(Positive::parse("s", -5, ErrorKind::SequenceNotPositive).is_err());
        assert_eq!(Positive::parse("s", 1, ErrorKind::SequenceNotPositive).unwrap().get(), 1);
    }
}
