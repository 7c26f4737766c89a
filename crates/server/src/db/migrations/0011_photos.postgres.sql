-- Photos: content-addressed bytes, and each phone's record of one.
CREATE TABLE photo_blobs (
    sha256       TEXT COLLATE "C" PRIMARY KEY,
    size         BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    received     BIGINT NOT NULL,
    complete     BOOLEAN NOT NULL,
    bytes        BYTEA NOT NULL,
    created_ms   BIGINT NOT NULL
);
CREATE TABLE photo_links (
    id           UUID PRIMARY KEY,
    sha256       TEXT COLLATE "C" NOT NULL REFERENCES photo_blobs(sha256),
    target_kind  TEXT NOT NULL,
    target_id    TEXT NOT NULL,
    area_code    TEXT NOT NULL REFERENCES areas(code),
    day          TEXT NOT NULL,
    volunteer_id UUID NOT NULL,
    device_id    UUID NOT NULL,
    caption      TEXT,
    taken_at     TEXT NOT NULL,
    received_ms  BIGINT NOT NULL,
    content_hash BYTEA NOT NULL
);
