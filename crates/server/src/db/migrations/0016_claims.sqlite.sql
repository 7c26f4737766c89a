-- Claims: each household's latest volunteer, filled from visits; leaders' claims.
ALTER TABLE households ADD COLUMN latest_volunteer_id BLOB;
CREATE TABLE claims (
    id             BLOB PRIMARY KEY,
    area_code      TEXT NOT NULL REFERENCES areas(code),
    household_id   BLOB,
    street         TEXT,
    street_key     TEXT,
    volunteer_id   BLOB NOT NULL REFERENCES users(id),
    given_by       TEXT NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    released_at_ms INTEGER,
    updated_seq    INTEGER NOT NULL
);
