-- Each household's latest visit's time, for the campaign's revisit delays; filled from visits.
ALTER TABLE households ADD COLUMN latest_visited_at_ms BIGINT;
UPDATE households SET latest_visited_at_ms = (
        SELECT v.visited_at_ms FROM visits v WHERE v.household_id = households.id
        ORDER BY v.server_seq DESC LIMIT 1)
    WHERE latest_outcome IS NOT NULL;
