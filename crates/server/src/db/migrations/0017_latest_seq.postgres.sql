-- Each household's latest visit's receive number (PostgreSQL only), filled from visits.
ALTER TABLE households ADD COLUMN latest_seq BIGINT;
UPDATE households h SET latest_seq = v.seq
    FROM (SELECT household_id, area_code, MAX(server_seq) AS seq FROM visits GROUP BY household_id, area_code) v
    WHERE v.household_id = h.id AND v.area_code = h.area_code;
