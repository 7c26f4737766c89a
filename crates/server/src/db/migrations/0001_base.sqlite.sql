-- Areas, households and visits: the base schema.
CREATE TABLE areas (
    code          TEXT PRIMARY KEY,
    parent_code   TEXT REFERENCES areas(code),
    name          TEXT NOT NULL,
    name_search   TEXT NOT NULL,
    sort_key      BLOB NOT NULL,
    division_type TEXT,
    level         INTEGER NOT NULL,
    -- '/42/436/18073/': a subtree is a range of paths, which any database can index.
    path          TEXT NOT NULL,
    boundary      TEXT
);

CREATE TABLE devices (
    id            BLOB PRIMARY KEY,
    first_seen_ms INTEGER NOT NULL,
    last_seen_ms  INTEGER NOT NULL,
    clock_skew_ms INTEGER NOT NULL,
    pushes        INTEGER NOT NULL
);

-- Households carry their latest visit's figures, maintained on ingest, so coverage is one scan.
CREATE TABLE households (
    id                BLOB PRIMARY KEY,
    area_code         TEXT NOT NULL REFERENCES areas(code),
    address           TEXT,
    lat               REAL,
    lon               REAL,
    updated_seq       INTEGER NOT NULL,
    visits            INTEGER NOT NULL DEFAULT 0,
    latest_outcome    TEXT,
    people            INTEGER,
    smartphones       INTEGER,
    already_installed INTEGER,
    installed_now     INTEGER
);

-- Visits are immutable; a correction is a new revision. server_seq is the receive order.
CREATE TABLE visits (
    server_seq        INTEGER PRIMARY KEY,
    id                BLOB NOT NULL,
    revision          INTEGER NOT NULL,
    device_id         BLOB NOT NULL,
    device_seq        INTEGER NOT NULL,
    volunteer_id      BLOB NOT NULL,
    household_id      BLOB NOT NULL,
    area_code         TEXT NOT NULL,
    visited_at_ms     INTEGER NOT NULL,
    utc_offset_min    INTEGER NOT NULL,
    outcome           TEXT NOT NULL,
    reason            TEXT,
    people            INTEGER NOT NULL,
    smartphones       INTEGER NOT NULL,
    already_installed INTEGER NOT NULL,
    installed_now     INTEGER NOT NULL,
    leaflet_given     INTEGER NOT NULL,
    loc_source        TEXT NOT NULL,
    lat               REAL,
    lon               REAL,
    accuracy_m        REAL,
    notes             TEXT,
    received_at_ms    INTEGER NOT NULL,
    content_hash      BLOB NOT NULL,
    UNIQUE (id, revision),
    UNIQUE (device_id, device_seq)
);
