-- Visits sent back for correction.
CREATE TABLE corrections (
    id              BLOB PRIMARY KEY,
    visit_id        BLOB NOT NULL,
    revision        INTEGER NOT NULL,
    volunteer_id    BLOB NOT NULL,
    area_code       TEXT NOT NULL REFERENCES areas(code),
    comment         TEXT NOT NULL,
    requested_by    TEXT NOT NULL,
    requested_at_ms INTEGER NOT NULL,
    UNIQUE (visit_id, revision),
    FOREIGN KEY (visit_id, revision) REFERENCES visits(id, revision)
);
