-- Teams, assignments, flagged visits.
CREATE TABLE teams (
    id            {uuid} PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    area_code     TEXT NOT NULL REFERENCES areas(code),
    leader_id     {uuid} NOT NULL REFERENCES users(id),
    created_at_ms {int} NOT NULL
);
CREATE TABLE team_members (
    team_id {uuid} NOT NULL REFERENCES teams(id),
    user_id {uuid} NOT NULL REFERENCES users(id),
    PRIMARY KEY (team_id, user_id)
);
CREATE TABLE assignments (
    user_id        {uuid} NOT NULL REFERENCES users(id),
    area_code      TEXT NOT NULL REFERENCES areas(code),
    team_id        {uuid} NOT NULL REFERENCES teams(id),
    assigned_by    TEXT NOT NULL,
    assigned_at_ms {int} NOT NULL,
    PRIMARY KEY (user_id, area_code)
);
CREATE TABLE visit_flags (
    server_seq {int} PRIMARY KEY REFERENCES visits(server_seq),
    flags      TEXT NOT NULL
);
