-- Data-quality flags: each volunteer's latest visit, which the next batch's are compared with.
CREATE TABLE volunteer_trail (
    volunteer_id  {uuid} PRIMARY KEY,
    visit_id      {uuid} NOT NULL,
    visited_at_ms {int} NOT NULL,
    lat           {real},
    lon           {real}
);
INSERT INTO volunteer_trail (volunteer_id, visit_id, visited_at_ms, lat, lon)
    SELECT volunteer_id, id, visited_at_ms, lat, lon FROM (
        SELECT volunteer_id, id, visited_at_ms, lat, lon,
            ROW_NUMBER() OVER (PARTITION BY volunteer_id ORDER BY visited_at_ms DESC, id DESC) AS n
        FROM visits WHERE revision = 1) latest
    WHERE n = 1;
