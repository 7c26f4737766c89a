-- Team names unique within an area.
ALTER TABLE teams DROP CONSTRAINT teams_name_key;
ALTER TABLE teams ADD CONSTRAINT teams_area_name UNIQUE (area_code, name);
