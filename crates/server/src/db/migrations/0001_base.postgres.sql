-- Areas, households and visits: the base schema.
CREATE TABLE areas (
    code          TEXT PRIMARY KEY,
    parent_code   TEXT REFERENCES areas(code),
    name          TEXT NOT NULL,
    name_search   TEXT NOT NULL,
    sort_key      BYTEA NOT NULL,
    division_type TEXT,
    level         INTEGER NOT NULL,
    -- Byte order, so that a subtree is a range of paths, as on SQLite.
    path          TEXT COLLATE "C" NOT NULL,
    boundary      TEXT
);

CREATE TABLE devices (
    id            UUID PRIMARY KEY,
    first_seen_ms BIGINT NOT NULL,
    last_seen_ms  BIGINT NOT NULL,
    clock_skew_ms BIGINT NOT NULL,
    pushes        BIGINT NOT NULL
);

-- The pull cursor. Taken under an advisory lock held to commit, so its order is commit order.
CREATE SEQUENCE change_seq;

CREATE TABLE households (
    id                UUID PRIMARY KEY,
    area_code         TEXT NOT NULL REFERENCES areas(code),
    address           TEXT,
    lat               DOUBLE PRECISION,
    lon               DOUBLE PRECISION,
    updated_seq       BIGINT NOT NULL,
    visits            BIGINT NOT NULL DEFAULT 0,
    latest_outcome    TEXT,
    people            BIGINT,
    smartphones       BIGINT,
    already_installed BIGINT,
    installed_now     BIGINT
);

CREATE TABLE visits (
    server_seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id                UUID NOT NULL,
    revision          BIGINT NOT NULL,
    device_id         UUID NOT NULL,
    device_seq        BIGINT NOT NULL,
    volunteer_id      UUID NOT NULL,
    household_id      UUID NOT NULL,
    area_code         TEXT NOT NULL,
    visited_at_ms     BIGINT NOT NULL,
    utc_offset_min    INTEGER NOT NULL,
    outcome           TEXT NOT NULL,
    reason            TEXT,
    people            BIGINT NOT NULL,
    smartphones       BIGINT NOT NULL,
    already_installed BIGINT NOT NULL,
    installed_now     BIGINT NOT NULL,
    leaflet_given     BOOLEAN NOT NULL,
    loc_source        TEXT NOT NULL,
    lat               DOUBLE PRECISION,
    lon               DOUBLE PRECISION,
    accuracy_m        DOUBLE PRECISION,
    notes             TEXT,
    received_at_ms    BIGINT NOT NULL,
    content_hash      BYTEA NOT NULL,
    UNIQUE (id, revision),
    UNIQUE (device_id, device_seq)
);
