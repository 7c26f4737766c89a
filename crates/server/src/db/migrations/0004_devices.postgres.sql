-- Enrolment codes and device tokens, as hashes.
CREATE TABLE enrolments (
    code_hash     BYTEA PRIMARY KEY,
    user_id       UUID NOT NULL REFERENCES users(id),
    issued_by     TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    used_at_ms    BIGINT,
    device_id     UUID
);
CREATE TABLE device_tokens (
    token_hash    BYTEA PRIMARY KEY,
    device_id     UUID NOT NULL,
    user_id       UUID NOT NULL REFERENCES users(id),
    created_at_ms BIGINT NOT NULL,
    revoked_at_ms BIGINT
);
