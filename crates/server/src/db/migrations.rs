//! The schema, as numbered SQL files in `db/migrations/`: one version per number. What both
//! databases run is `NNNN_name.sql`; where their dialects spell a statement differently (a
//! column's type, a collation), each has its own `NNNN_name.sqlite.sql` / `.postgres.sql`, run
//! first. A database's schema version is the number of versions it has run (SQLite's
//! `user_version`, PostgreSQL's `schema_migrations`): a version only one database has (0017,
//! PostgreSQL's) is not counted by the other. Never edit a shipped file; add the next one.

/// Work a version does in Rust after its SQL, with the rows the database already holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backfill {
    /// Each household held gets its H3 cell (`crate::store::fine_cell`).
    H3Cells,
}

/// The databases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// One version of the schema.
#[derive(Debug)]
pub struct Version {
    pub name: &'static str,
    /// SQLite's own statements, run first; `None` when it has none.
    sqlite: Option<&'static str>,
    /// PostgreSQL's own statements, run first; `None` when it has none.
    postgres: Option<&'static str>,
    /// What both run.
    both: Option<&'static str>,
    /// Only PostgreSQL runs this version.
    postgres_only: bool,
    pub then: Option<Backfill>,
}

impl Version {
    /// The statements `engine` runs for this version, in order (each text may hold several).
    pub fn statements(&self, engine: Engine) -> impl Iterator<Item = &'static str> {
        let own = match engine {
            Engine::Sqlite => self.sqlite,
            Engine::Postgres => self.postgres,
        };
        own.into_iter().chain(self.both)
    }

    fn runs_on(&self, engine: Engine) -> bool {
        engine == Engine::Postgres || !self.postgres_only
    }
}

/// The versions `engine` runs, in order: the one at index `i` takes its schema version from `i`
/// to `i + 1`.
pub fn versions(engine: Engine) -> Vec<&'static Version> {
    VERSIONS.iter().filter(|v| v.runs_on(engine)).collect()
}

macro_rules! sql {
    ($file:expr) => {
        Some(include_str!(concat!("migrations/", $file)))
    };
}

/// A version both run as one file.
macro_rules! both {
    ($name:literal) => {
        Version {
            name: $name,
            sqlite: None,
            postgres: None,
            both: sql!(concat!($name, ".sql")),
            postgres_only: false,
            then: None,
        }
    };
}

/// A version with a file per database (and, when `+ both`, one both run after it).
macro_rules! split {
    ($name:literal) => {
        Version {
            name: $name,
            sqlite: sql!(concat!($name, ".sqlite.sql")),
            postgres: sql!(concat!($name, ".postgres.sql")),
            both: None,
            postgres_only: false,
            then: None,
        }
    };
    ($name:literal + both) => {
        Version {
            both: sql!(concat!($name, ".sql")),
            ..split!($name)
        }
    };
}

static VERSIONS: &[Version] = &[
    split!("0001_base" + both),
    both!("0002_area_stats"),
    split!("0003_accounts"),
    split!("0004_devices" + both),
    split!("0005_teams"),
    split!("0006_corrections" + both),
    Version {
        then: Some(Backfill::H3Cells),
        ..both!("0007_h3_cell")
    },
    both!("0008_area_days"),
    split!("0009_volunteer_trail" + both),
    split!("0010_venues" + both),
    split!("0011_photos" + both),
    split!("0012_campaign"),
    split!("0013_targets"),
    both!("0014_latest_visited_at"),
    both!("0015_revoke_reason"),
    split!("0016_claims" + both),
    Version {
        sqlite: None,
        postgres: sql!("0017_latest_seq.postgres.sql"),
        both: None,
        postgres_only: true,
        then: None,
        name: "0017_latest_seq",
    },
    split!("0018_team_names_per_area" + both),
    split!("0019_photo_uploads"),
];

/// The version named `name` (its file name without the number's suffixes), as both databases
/// know it.
pub fn named(name: &str) -> Option<&'static Version> {
    VERSIONS.iter().find(|v| v.name == name)
}

/// Runs the statements of version `name` for `engine` through `run` (tests and benchmarks that
/// build part of the schema).
pub fn each_statement(name: &str, engine: Engine, mut run: impl FnMut(&str)) {
    for sql in named(name).into_iter().flat_map(|v| v.statements(engine)) {
        run(sql);
    }
}

/// SQLite's base schema (version 1), which the ingest benchmark's raw baseline writes through.
pub fn sqlite_base() -> String {
    VERSIONS[0].statements(Engine::Sqlite).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file in the folder is a version's, numbered in order, and none is left out.
    #[test]
    fn the_list_is_the_folder() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/db/migrations");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        let mut listed = Vec::new();
        for (i, v) in VERSIONS.iter().enumerate() {
            assert!(
                v.name.starts_with(&format!("{:04}_", i + 1)),
                "{} is not version {}",
                v.name,
                i + 1
            );
            for (part, suffix) in [
                (v.sqlite, ".sqlite.sql"),
                (v.postgres, ".postgres.sql"),
                (v.both, ".sql"),
            ] {
                if part.is_some() {
                    listed.push(format!("{}{suffix}", v.name));
                }
            }
            assert!(
                v.statements(Engine::Postgres).next().is_some(),
                "{} runs nothing",
                v.name
            );
            if v.runs_on(Engine::Sqlite) {
                assert!(
                    v.statements(Engine::Sqlite).next().is_some(),
                    "{} runs nothing on SQLite",
                    v.name
                );
            }
        }
        listed.sort();
        assert_eq!(files, listed);
        // The versions each database has counted since they were first shipped.
        assert_eq!(versions(Engine::Sqlite).len(), 18);
        assert_eq!(versions(Engine::Postgres).len(), 19);
    }

    /// What differs is only what must: no statement is written in both files of a version.
    #[test]
    fn no_statement_is_written_twice() {
        let statements = |text: Option<&str>| -> Vec<String> {
            text.unwrap_or_default()
                .lines()
                .filter(|l| !l.trim_start().starts_with("--"))
                .collect::<Vec<_>>()
                .join(" ")
                .split(';')
                .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
                .filter(|s| !s.is_empty())
                .collect()
        };
        for v in VERSIONS {
            let pg = statements(v.postgres);
            for s in statements(v.sqlite) {
                assert!(!pg.contains(&s), "{}: written for both databases: {s}", v.name);
            }
        }
    }
}
