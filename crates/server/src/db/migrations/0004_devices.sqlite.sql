-- Enrolment codes and device tokens, as hashes.
CREATE TABLE enrolments (
    code_hash     BLOB PRIMARY KEY,
    user_id       BLOB NOT NULL REFERENCES users(id),
    issued_by     TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    used_at_ms    INTEGER,
    device_id     BLOB
);
CREATE TABLE device_tokens (
    token_hash    BLOB PRIMARY KEY,
    device_id     BLOB NOT NULL,
    user_id       BLOB NOT NULL REFERENCES users(id),
    created_at_ms INTEGER NOT NULL,
    revoked_at_ms INTEGER
);
