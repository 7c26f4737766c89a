-- Visits sent back for correction.
CREATE TABLE corrections (
    id              {uuid} PRIMARY KEY,
    visit_id        {uuid} NOT NULL,
    revision        {int} NOT NULL,
    volunteer_id    {uuid} NOT NULL,
    area_code       TEXT NOT NULL REFERENCES areas(code),
    comment         TEXT NOT NULL,
    requested_by    TEXT NOT NULL,
    requested_at_ms {int} NOT NULL,
    UNIQUE (visit_id, revision),
    FOREIGN KEY (visit_id, revision) REFERENCES visits(id, revision)
);
CREATE INDEX corrections_volunteer ON corrections(volunteer_id, requested_at_ms);
CREATE INDEX corrections_area ON corrections(area_code, requested_at_ms);
