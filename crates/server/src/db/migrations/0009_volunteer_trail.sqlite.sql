-- Data-quality flags: each volunteer's latest visit, which the next batch's are compared with.
CREATE TABLE volunteer_trail (
    volunteer_id  BLOB PRIMARY KEY,
    visit_id      BLOB NOT NULL,
    visited_at_ms INTEGER NOT NULL,
    lat           REAL,
    lon           REAL
);
