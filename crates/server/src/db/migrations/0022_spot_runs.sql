-- The `burst` flag looks at a volunteer's run of visits from one spot, which may span batches:
-- the run so far (JSON, `doorstep_domain::quality::SpotRun`) is kept beside their latest visit.
ALTER TABLE volunteer_trail ADD COLUMN spot_run TEXT;
