-- Enrolment codes and device tokens, as hashes.
CREATE TABLE enrolments (
    code_hash     {bytes} PRIMARY KEY,
    user_id       {uuid} NOT NULL REFERENCES users(id),
    issued_by     TEXT NOT NULL,
    created_at_ms {int} NOT NULL,
    expires_at_ms {int} NOT NULL,
    used_at_ms    {int},
    device_id     {uuid}
);
CREATE TABLE device_tokens (
    token_hash    {bytes} PRIMARY KEY,
    device_id     {uuid} NOT NULL,
    user_id       {uuid} NOT NULL REFERENCES users(id),
    created_at_ms {int} NOT NULL,
    revoked_at_ms {int}
);
CREATE INDEX device_tokens_device ON device_tokens(device_id);
