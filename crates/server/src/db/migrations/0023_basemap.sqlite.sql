-- The base map: one PMTiles file of the province's streets, imported by IT, kept in chunks so a
-- tile request reads one or two and a backup holds the map. One at a time (id 1): importing
-- another replaces it, and phones fetch it again (its SHA-256 changed).
CREATE TABLE basemap (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    name           TEXT NOT NULL,
    sha256         TEXT NOT NULL,
    size           INTEGER NOT NULL,
    tile_type      TEXT NOT NULL,
    min_zoom       INTEGER NOT NULL,
    max_zoom       INTEGER NOT NULL,
    west           REAL NOT NULL,
    south          REAL NOT NULL,
    east           REAL NOT NULL,
    north          REAL NOT NULL,
    imported_at_ms INTEGER NOT NULL
);
CREATE TABLE basemap_chunks (
    idx   INTEGER PRIMARY KEY,
    bytes BLOB NOT NULL
);
