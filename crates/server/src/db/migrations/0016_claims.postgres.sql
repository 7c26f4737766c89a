-- Claims: each household's latest volunteer, filled from visits; leaders' claims.
ALTER TABLE households ADD COLUMN latest_volunteer_id UUID;
CREATE TABLE claims (
    id             UUID PRIMARY KEY,
    area_code      TEXT NOT NULL REFERENCES areas(code),
    household_id   UUID,
    street         TEXT,
    street_key     TEXT,
    volunteer_id   UUID NOT NULL REFERENCES users(id),
    given_by       TEXT NOT NULL,
    created_at_ms  BIGINT NOT NULL,
    released_at_ms BIGINT,
    updated_seq    BIGINT NOT NULL
);
