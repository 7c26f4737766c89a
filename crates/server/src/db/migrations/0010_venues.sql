-- Venues and the visits made to them.
CREATE TABLE venues (
    id            {uuid} PRIMARY KEY,
    area_code     TEXT NOT NULL REFERENCES areas(code),
    kind          TEXT NOT NULL,
    name          TEXT NOT NULL,
    address       TEXT,
    lat           {real},
    lon           {real},
    registered_ms {int} NOT NULL
);
CREATE TABLE venue_visits (
    seq                {seq_key},
    id                 {uuid} NOT NULL,
    revision           {int} NOT NULL,
    venue_id           {uuid} NOT NULL REFERENCES venues(id),
    area_code          TEXT NOT NULL REFERENCES areas(code),
    device_id          {uuid} NOT NULL,
    device_seq         {int} NOT NULL,
    volunteer_id       {uuid} NOT NULL,
    visited_at         TEXT NOT NULL,
    local_day          TEXT NOT NULL,
    people_reached     {int} NOT NULL,
    smartphones        {int} NOT NULL,
    already_installed  {int} NOT NULL,
    installed_now      {int} NOT NULL,
    notices_posted     {int} NOT NULL,
    visitors_came_in   {int},
    visitors_told      {int},
    visitors_installed {int},
    lat                {real},
    lon                {real},
    accuracy_m         {real},
    notes              TEXT,
    body               TEXT NOT NULL,
    content_hash       {bytes} NOT NULL,
    received_at_ms     {int} NOT NULL,
    UNIQUE (id, revision),
    UNIQUE (device_id, device_seq)
);
CREATE INDEX venues_area ON venues(area_code);
CREATE INDEX venue_visits_area ON venue_visits(area_code, local_day);
CREATE INDEX venue_visits_venue ON venue_visits(venue_id);
