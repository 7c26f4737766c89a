-- Per-area figures for every area and its ancestors, kept on ingest: coverage is one read.
CREATE TABLE area_stats (
    area_code         TEXT NOT NULL REFERENCES areas(code),
    outcome           TEXT NOT NULL,
    households        BIGINT NOT NULL,
    visits            BIGINT NOT NULL,
    smartphones       BIGINT NOT NULL,
    already_installed BIGINT NOT NULL,
    installed_now     BIGINT NOT NULL,
    PRIMARY KEY (area_code, outcome)
);
DELETE FROM area_stats;
    INSERT INTO area_stats (area_code, outcome, households, visits, smartphones, already_installed, installed_now)
    SELECT anc.code, COALESCE(h.latest_outcome, ''), COUNT(*), SUM(h.visits), SUM(COALESCE(h.smartphones, 0)),
           SUM(COALESCE(h.already_installed, 0)), SUM(COALESCE(h.installed_now, 0))
    FROM households h
    JOIN areas a ON a.code = h.area_code
    JOIN areas anc ON a.path >= anc.path AND a.path < substr(anc.path, 1, length(anc.path) - 1) || '0'
    GROUP BY anc.code, COALESCE(h.latest_outcome, '');
