-- Venues and the visits made to them.
-- What both databases run, after their own file of this version.
CREATE INDEX venues_area ON venues(area_code);
CREATE INDEX venue_visits_area ON venue_visits(area_code, local_day);
CREATE INDEX venue_visits_venue ON venue_visits(venue_id);
