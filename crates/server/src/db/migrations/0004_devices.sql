-- Enrolment codes and device tokens, as hashes.
-- What both databases run, after their own file of this version.
CREATE INDEX device_tokens_device ON device_tokens(device_id);
