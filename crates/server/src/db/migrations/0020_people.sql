-- People run from the dashboard: a display name for each account (volunteers sign in with their
-- phones, so theirs is the name leaders see), and one-time password codes (a reset, or a new
-- staff account's first password), stored as hashes.
ALTER TABLE users ADD COLUMN display_name TEXT;
CREATE TABLE password_codes (
    code_hash     {bytes} PRIMARY KEY,
    user_id       {uuid} NOT NULL REFERENCES users(id),
    issued_by     TEXT NOT NULL,
    created_at_ms {int} NOT NULL,
    expires_at_ms {int} NOT NULL,
    used_at_ms    {int}
);
CREATE INDEX password_codes_user ON password_codes(user_id);
