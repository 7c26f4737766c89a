-- Targets per area.
CREATE TABLE targets (
    area_code         TEXT PRIMARY KEY REFERENCES areas(code),
    households        {int},
    population        {int},
    smartphone_owners {int},
    imported_at_ms    {int} NOT NULL
);
