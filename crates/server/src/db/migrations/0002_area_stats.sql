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
