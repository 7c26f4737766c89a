-- Data-quality flags: each volunteer's latest visit, which the next batch's are compared with.
CREATE TABLE volunteer_trail (
    volunteer_id  UUID PRIMARY KEY,
    visit_id      UUID NOT NULL,
    visited_at_ms BIGINT NOT NULL,
    lat           DOUBLE PRECISION,
    lon           DOUBLE PRECISION
);
