-- Claims: each household's latest volunteer, filled from visits; leaders' claims.
-- What both databases run, after their own file of this version.
UPDATE households SET latest_volunteer_id = (
        SELECT v.volunteer_id FROM visits v WHERE v.household_id = households.id
        ORDER BY v.server_seq DESC LIMIT 1)
    WHERE latest_outcome IS NOT NULL;
CREATE INDEX claims_seq ON claims(updated_seq);
CREATE INDEX claims_household ON claims(household_id) WHERE released_at_ms IS NULL;
CREATE INDEX claims_street ON claims(area_code, street_key) WHERE released_at_ms IS NULL;
