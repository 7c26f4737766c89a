-- The field app's version each phone last synced with (its User-Agent, `doorstep-field/X.Y.Z`),
-- shown in the devices list so a leader sees who has not updated.
ALTER TABLE devices ADD COLUMN app_version TEXT;
