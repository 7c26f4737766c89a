-- Photos: content-addressed bytes, and each phone's record of one.
-- What both databases run, after their own file of this version.
CREATE INDEX photo_links_area_day ON photo_links(area_code, day);
CREATE INDEX photo_links_target ON photo_links(target_kind, target_id);
CREATE INDEX photo_links_sha ON photo_links(sha256);
