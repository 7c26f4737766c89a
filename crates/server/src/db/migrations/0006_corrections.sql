-- Visits sent back for correction.
-- What both databases run, after their own file of this version.
CREATE INDEX corrections_volunteer ON corrections(volunteer_id, requested_at_ms);
CREATE INDEX corrections_area ON corrections(area_code, requested_at_ms);
