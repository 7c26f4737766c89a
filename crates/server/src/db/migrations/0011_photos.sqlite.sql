-- Photos: content-addressed bytes, and each phone's record of one.
CREATE TABLE photo_blobs (
    sha256       TEXT PRIMARY KEY,
    size         INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    received     INTEGER NOT NULL,
    complete     INTEGER NOT NULL,
    bytes        BLOB NOT NULL,
    created_ms   INTEGER NOT NULL
);
CREATE TABLE photo_links (
    id           BLOB PRIMARY KEY,
    sha256       TEXT NOT NULL REFERENCES photo_blobs(sha256),
    target_kind  TEXT NOT NULL,
    target_id    TEXT NOT NULL,
    area_code    TEXT NOT NULL REFERENCES areas(code),
    day          TEXT NOT NULL,
    volunteer_id BLOB NOT NULL,
    device_id    BLOB NOT NULL,
    caption      TEXT,
    taken_at     TEXT NOT NULL,
    received_ms  INTEGER NOT NULL,
    content_hash BLOB NOT NULL
);
