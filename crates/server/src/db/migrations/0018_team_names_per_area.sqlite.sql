-- Team names unique within an area.
PRAGMA defer_foreign_keys = ON;
CREATE TABLE teams_per_area (
    id            BLOB PRIMARY KEY,
    name          TEXT NOT NULL,
    area_code     TEXT NOT NULL REFERENCES areas(code),
    leader_id     BLOB NOT NULL REFERENCES users(id),
    created_at_ms INTEGER NOT NULL,
    UNIQUE (area_code, name)
);
INSERT INTO teams_per_area (id, name, area_code, leader_id, created_at_ms)
    SELECT id, name, area_code, leader_id, created_at_ms FROM teams;
DROP TABLE teams;
ALTER TABLE teams_per_area RENAME TO teams;
