-- Claims: each household's latest volunteer, filled from visits; leaders' claims.
ALTER TABLE households ADD COLUMN latest_volunteer_id {uuid};
CREATE TABLE claims (
    id             {uuid} PRIMARY KEY,
    area_code      TEXT NOT NULL REFERENCES areas(code),
    household_id   {uuid},
    street         TEXT,
    street_key     TEXT,
    volunteer_id   {uuid} NOT NULL REFERENCES users(id),
    given_by       TEXT NOT NULL,
    created_at_ms  {int} NOT NULL,
    released_at_ms {int},
    updated_seq    {int} NOT NULL
);
UPDATE households SET latest_volunteer_id = (
        SELECT v.volunteer_id FROM visits v WHERE v.household_id = households.id
        ORDER BY v.server_seq DESC LIMIT 1)
    WHERE latest_outcome IS NOT NULL;
CREATE INDEX claims_seq ON claims(updated_seq);
CREATE INDEX claims_household ON claims(household_id) WHERE released_at_ms IS NULL;
CREATE INDEX claims_street ON claims(area_code, street_key) WHERE released_at_ms IS NULL;
