-- Team names unique within an area.
-- What both databases run, after their own file of this version.
CREATE INDEX teams_name ON teams(name);
