-- Each household's H3 cell, for the map's hexagons. The rows held get theirs after this file,
-- in Rust (db::migrations::Backfill::H3Cells).
ALTER TABLE households ADD COLUMN h3_cell BIGINT;
