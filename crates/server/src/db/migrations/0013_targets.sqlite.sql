-- Targets per area.
CREATE TABLE targets (
    area_code         TEXT PRIMARY KEY REFERENCES areas(code),
    households        INTEGER,
    population        INTEGER,
    smartphone_owners INTEGER,
    imported_at_ms    INTEGER NOT NULL
);
