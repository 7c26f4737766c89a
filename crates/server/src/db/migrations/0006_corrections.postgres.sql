-- Visits sent back for correction.
CREATE TABLE corrections (
    id              UUID PRIMARY KEY,
    visit_id        UUID NOT NULL,
    revision        BIGINT NOT NULL,
    volunteer_id    UUID NOT NULL,
    area_code       TEXT NOT NULL REFERENCES areas(code),
    comment         TEXT NOT NULL,
    requested_by    TEXT NOT NULL,
    requested_at_ms BIGINT NOT NULL,
    UNIQUE (visit_id, revision),
    FOREIGN KEY (visit_id, revision) REFERENCES visits(id, revision)
);
