-- The base map: one PMTiles file of the province's streets, imported by IT, kept in chunks so a
-- tile request reads one or two and a backup holds the map. One at a time (id 1): importing
-- another replaces it, and phones fetch it again (its SHA-256 changed).
CREATE TABLE basemap (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    name           TEXT NOT NULL,
    sha256         TEXT NOT NULL,
    size           BIGINT NOT NULL,
    tile_type      TEXT NOT NULL,
    min_zoom       INTEGER NOT NULL,
    max_zoom       INTEGER NOT NULL,
    west           DOUBLE PRECISION NOT NULL,
    south          DOUBLE PRECISION NOT NULL,
    east           DOUBLE PRECISION NOT NULL,
    north          DOUBLE PRECISION NOT NULL,
    imported_at_ms BIGINT NOT NULL
);
-- Served as stored: no compression pass over bytes that are compressed tiles already.
CREATE TABLE basemap_chunks (
    idx   INTEGER PRIMARY KEY,
    bytes BYTEA NOT NULL
);
ALTER TABLE basemap_chunks ALTER COLUMN bytes SET STORAGE EXTERNAL;
