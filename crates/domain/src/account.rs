//! Accounts: roles bound to an area subtree, usernames, and the password policy.

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::error::{ErrorKind, FieldError};

/// What a person may do, always within one area subtree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the campaign.
    Admin,
    /// District and provincial Front boards: read their subtree.
    Committee,
    /// Manages teams, volunteers and assignments in a subtree, and reads its records.
    Leader,
    /// Records visits; reads only their assignments.
    Volunteer,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Committee, Role::Leader, Role::Volunteer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Committee => "committee",
            Role::Leader => "leader",
            Role::Volunteer => "volunteer",
        }
    }

    pub fn parse(field: &str, raw: &str) -> Result<Role, FieldError> {
        let raw = raw.trim().to_ascii_lowercase();
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == raw)
            .ok_or_else(|| FieldError::new(field, ErrorKind::UnknownRole { value: raw.chars().take(32).collect() }))
    }
}

/// A login name: 3 to 64 characters of lower-case ASCII letters, digits, `.`, `_`, `-` and `@`,
/// compared case-insensitively (stored lower-case). Read by serde it is checked (and lower-cased)
/// by [`Username::parse`] too.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    pub fn parse(field: &str, raw: &str) -> Result<Username, FieldError> {
        let s: String = raw.trim().nfc().collect::<String>().to_lowercase();
        let ok_chars = s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-_@".contains(c));
        if !(3..=64).contains(&s.chars().count()) || !ok_chars {
            return Err(FieldError::new(field, ErrorKind::BadUsername));
        }
        Ok(Username(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Username {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Username::parse("username", &raw).map_err(de::Error::custom)
    }
}

pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_CHARS: usize = 256;

/// A new password must be long enough to resist guessing and short enough to hash cheaply.
pub fn check_new_password(field: &str, raw: &str) -> Result<(), FieldError> {
    let n = raw.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(FieldError::new(field, ErrorKind::PasswordTooShort { min: MIN_PASSWORD_CHARS }));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(FieldError::new(field, ErrorKind::TooLong { max: MAX_PASSWORD_CHARS }));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_and_print() {
        for r in Role::ALL {
            assert_eq!(Role::parse("role", r.as_str()).unwrap(), r);
        }
        assert_eq!(Role::parse("role", " Leader ").unwrap(), Role::Leader);
        let e = Role::parse("role", "king").unwrap_err();
        assert_eq!(e.code(), "unknown_role");
        assert!(e.messages().vi.contains("king"));
    }

    #[test]
    fn usernames() {
        assert_eq!(Username::parse("u", " Lan.Nguyen ").unwrap().as_str(), "lan.nguyen");
        for bad in ["ab", "has space", "nguyễn", &"x".repeat(65), ""] {
            assert_eq!(Username::parse("u", bad).unwrap_err().code(), "bad_username", "{bad}");
        }
    }

    #[test]
    fn usernames_are_read_through_parse() {
        let u: Username = serde_json::from_str(r#""lan.nguyen""#).unwrap();
        assert_eq!(u.as_str(), "lan.nguyen");
        assert_eq!(serde_json::to_string(&u).unwrap(), r#""lan.nguyen""#);
        // Trimmed and lower-cased, as parse does.
        let u: Username = serde_json::from_str(r#"" Lan.Nguyen ""#).unwrap();
        assert_eq!(serde_json::to_string(&u).unwrap(), r#""lan.nguyen""#);
        for bad in [r#""ab""#, r#""has space""#, r#""nguyễn""#, r#""""#] {
            let e = serde_json::from_str::<Username>(bad).unwrap_err().to_string();
            assert!(e.contains("username: A username needs 3 to 64 characters"), "{bad}: {e}");
        }
        assert!(serde_json::from_str::<Username>("42").is_err());
    }

    #[test]
    fn password_policy() {
        assert_eq!(check_new_password("p", "short").unwrap_err().code(), "password_too_short");
        assert!(check_new_password("p", "mười ký tự đủ").is_ok());
        assert_eq!(check_new_password("p", &"x".repeat(257)).unwrap_err().code(), "too_long");
    }
}
