-- Photos: each phone's own upload of a picture (knowing a hash grants nothing), from links held.
CREATE TABLE photo_uploads (
    sha256     TEXT NOT NULL REFERENCES photo_blobs(sha256),
    device_id  BLOB NOT NULL,
    size       INTEGER NOT NULL,
    received   INTEGER NOT NULL,
    complete   INTEGER NOT NULL,
    bytes      BLOB NOT NULL,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (sha256, device_id)
);
INSERT INTO photo_uploads (sha256, device_id, size, received, complete, bytes, created_ms)
    SELECT l.sha256, l.device_id, b.size, CASE WHEN b.complete THEN b.size ELSE 0 END, b.complete, x'',
           MIN(l.received_ms)
    FROM photo_links l JOIN photo_blobs b ON b.sha256 = l.sha256
    GROUP BY l.sha256, l.device_id, b.size, b.complete;
UPDATE photo_blobs SET received = 0, bytes = x'' WHERE NOT complete;
