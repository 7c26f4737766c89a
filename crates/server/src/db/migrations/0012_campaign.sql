-- The campaign as data, loaded from a file.
CREATE TABLE campaign (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    definition   TEXT NOT NULL,
    loaded_at_ms {int} NOT NULL
);
