-- Areas, households and visits: the base schema.
-- What both databases run, after their own file of this version.
CREATE INDEX areas_path ON areas(path);
CREATE INDEX areas_parent ON areas(parent_code);
CREATE INDEX households_area ON households(area_code, updated_seq);
CREATE INDEX visits_household ON visits(household_id);
