-- Per area and day figures for the daily curve, built from the visits held.
CREATE TABLE area_days (
    area_code     TEXT NOT NULL,
    day           BIGINT NOT NULL,
    visits        BIGINT NOT NULL,
    households    BIGINT NOT NULL,
    installed_now BIGINT NOT NULL,
    PRIMARY KEY (area_code, day)
);
DELETE FROM area_days; INSERT INTO area_days (area_code, day, visits, households, installed_now)
    SELECT v.area_code, (v.visited_at_ms + v.utc_offset_min * 60000) / 86400000, COUNT(*),
           SUM(CASE WHEN EXISTS (SELECT 1 FROM visits p WHERE p.household_id = v.household_id
                                 AND p.server_seq < v.server_seq) THEN 0 ELSE 1 END),
           SUM(v.installed_now)
    FROM visits v
    WHERE v.server_seq > 0 AND v.revision = 1
    GROUP BY v.area_code, (v.visited_at_ms + v.utc_offset_min * 60000) / 86400000
    ON CONFLICT (area_code, day) DO UPDATE SET
        visits = area_days.visits + excluded.visits,
        households = area_days.households + excluded.households,
        installed_now = area_days.installed_now + excluded.installed_now;
