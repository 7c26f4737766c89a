-- Targets per area.
CREATE TABLE targets (
    area_code         TEXT PRIMARY KEY REFERENCES areas(code),
    households        BIGINT,
    population        BIGINT,
    smartphone_owners BIGINT,
    imported_at_ms    BIGINT NOT NULL
);
