// The server's JSON, as its handlers write it (snake_case).

export type Lang = "vi" | "en";
export type Messages = { vi: string; en: string };

export type User = { username: string; role: string; area_code: string | null };
export type LoginResponse = { token: string; expires_at: string; user: User };

/** An account as `GET /api/v1/users` lists it. */
export type Phone = { device_id: string; enrolled_at: string; last_sync: string | null; revoked: boolean };
export type Person = {
  username: string;
  display_name: string;
  role: string;
  area_code: string;
  area_name: string;
  disabled: boolean;
  has_password: boolean;
  teams: string[];
  phones: Phone[];
};
export type NewUser = { username: string; display_name?: string; role: string; area_code: string };
export type UserPatch = { display_name?: string; area_code?: string; disabled?: boolean };
export type PasswordCode = { username: string; code: string; expires_at: string };
export type NewUserResponse = { user: Person; password_code: PasswordCode | null };
export type ImportResponse = { people: Person[]; password_codes: PasswordCode[] };
export type EnrolmentCode = { code: string; expires_at: string; volunteer: string; qr_svg: string | null };

export type Area = { code: string; parent: string | null; name: string; division_type: string; level: number };

export type Coverage = {
  area_code: string;
  area_name: string;
  households_known: number;
  households_visited: number;
  /** Households whose latest outcome the campaign counts as installed. */
  households_with_app?: number;
  by_outcome: Record<string, number>;
  visits: number;
  smartphones_seen: number;
  already_installed: number;
  installed_now: number;
  /** visited / known, 0..1; null when nothing is known. */
  coverage_rate: number | null;
  /** phones with the app / smartphones seen, 0..1; null when no smartphone was seen. */
  install_rate: number | null;
  /** The area's targets (its own, or summed over the areas below); absent or null when none. */
  targets?: AreaTargets | null;
  /** visited / target households, 0..1; null without that target. */
  target_coverage_rate?: number | null;
  /** phones with the app / smartphone owners targeted, 0..1; null without that target. */
  install_rate_of_owners?: number | null;
};

/** Of the areas at the level a target figure is summed over, how many have it. */
export type TargetSum = { areas_with_target: number; areas: number };
export type AreaTargets = {
  households: number | null;
  population: number | null;
  smartphone_owners: number | null;
  /** Some summed figure leaves out areas that have none: it counts only part of the area. */
  partial?: boolean;
  households_sum?: TargetSum | null;
  population_sum?: TargetSum | null;
  smartphone_owners_sum?: TargetSum | null;
};

/** When a unit reaches its goal at its last 7 days' pace (`Finish` of the API). */
export type Finish = {
  goal: "target" | "found85";
  goal_households: number;
  households_last_7_days: number;
  /** "YYYY-MM-DD"; null when reached, or no new household in 7 days. */
  finishes_on: string | null;
  reached: boolean;
  /** It will not reach its goal by the campaign's last day. */
  misses_end: boolean;
};
export type Unit = Coverage & { rank: number; finish?: Finish | null };
export type Day = { date: string; visits: number; households: number; installed_now: number };
export type VenueGroup = "agency" | "school" | "business" | "transport_hub";
export type VenueFigures = {
  venues: number;
  visits: number;
  people_reached: number;
  smartphones: number;
  already_installed: number;
  installed_now: number;
  notices_posted: number;
  visitors_came_in: number;
  visitors_told: number;
  visitors_installed: number;
};
export type VenueGroupFigures = { group: VenueGroup; figures: VenueFigures };
export type VenueProgress = { totals: VenueGroupFigures[]; units: { area_code: string; area_name: string; groups: VenueGroupFigures[] }[] };
export type Progress = { area: Coverage; units: Unit[]; days: Day[]; venues?: VenueProgress };

export type OutcomeDef = { code: string; label: Messages; reached: boolean; revisit: boolean };
export type Campaign = {
  code: string;
  name: Messages;
  target_app: string;
  /** The campaign's time zone, minutes east of UTC (Vietnam: 420). */
  utc_offset_minutes?: number;
  outcomes: OutcomeDef[];
  /** Where the target app is installed from. */
  store_links?: { store: string; url: string }[];
  /** The coverage colours the campaign sets (percentages). */
  coverage_bands?: { low_percent: number; high_percent: number };
  /** The campaign's first and last days ("YYYY-MM-DD"), when its file names them. */
  starts_on?: string | null;
  ends_on?: string | null;
};

export type Revisit = {
  id: string;
  area_code: string;
  area_name: string;
  address: string | null;
  latest_outcome: string | null;
  visits: number;
  lat: number | null;
  lon: number | null;
};

export type Visit = {
  server_seq: number;
  id: string;
  revision: number;
  household_id: string;
  area_code: string;
  volunteer_id: string;
  /** The volunteer's display name (or username); null for an id no account has. */
  volunteer_name?: string | null;
  device_id: string;
  visited_at: string;
  outcome: string;
  reason: string | null;
  people: number;
  smartphones: number;
  already_installed: number;
  installed_now: number;
  leaflet_given: boolean;
  location_source: string;
  lat: number | null;
  lon: number | null;
  accuracy_m: number | null;
  notes: string | null;
  received_at: string;
  flags: string[];
};

export type AreaProps = {
  code: string;
  name: string;
  level: number;
  households_known: number;
  households_visited: number;
  coverage_rate: number | null;
  install_rate: number | null;
  smartphones_seen: number;
  with_app: number;
};

export type HouseholdProps = {
  id: string;
  area_code: string;
  address: string | null;
  outcome: string | null;
  visits: number;
  revisit_due: boolean;
};

export type Feature<P> = { type: "Feature"; geometry: { type: string; coordinates: unknown } | null; properties: P };
export type FeatureCollection<P> = { type: "FeatureCollection"; features: Feature<P>[]; truncated?: boolean };

/** A line of an uploaded file that does not hold (`error.lines`). */
export type LineError = { line: number; field?: string; messages: Messages };
export type ApiErrorBody = { error: { code: string; message: string; field?: string; messages?: Messages; lines?: LineError[] } };

/** A visit sent back for correction (`CorrectionDto`). */
export type Correction = {
  id: string;
  visit_id: string;
  revision: number;
  household_id: string;
  area_code: string;
  volunteer_id: string;
  comment: string;
  requested_by: string;
  requested_at: string;
  /** The revision that answered it; null while open. */
  answered_by_revision: number | null;
  visit: Visit;
};

/** One visit with every revision (oldest first) and every send-back. */
export type VisitHistory = { revisions: Visit[]; corrections: Correction[] };
/** GET /api/v1/volunteers/daily: one volunteer's visits on one day (the phone's local date). */
export type VolunteerDay = {
  volunteer_id: string;
  username: string | null;
  display_name?: string | null;
  date: string;
  visits: number;
  households: number;
  installed_now: number;
  flagged: number;
};

/** GET /api/v1/devices: a volunteer's phone and when it last synced. */
export type DeviceStatus = {
  device_id: string;
  volunteer: string;
  volunteer_name: string;
  volunteer_area: string;
  enrolled_at: string;
  last_sync: string | null;
  minutes_since_sync: number | null;
  pushes: number;
  clock_skew_seconds: number | null;
  flagged_visits: number;
  revoked: boolean;
  /** Why a leader revoked it, as they wrote it. */
  revoke_reason?: string | null;
  /** The field app's version it last synced with. */
  app_version?: string | null;
  stale: boolean;
};

export type DeviceList = { area_code: string; stale_after_hours: number; checked_at: string; devices: DeviceStatus[] };

export type VenueDto = {
  id: string;
  area_code: string;
  kind: string;
  name: string;
  address?: string | null;
  lat?: number | null;
  lon?: number | null;
  visits: number;
  last_visited_at?: string | null;
  people_reached: number;
  installed_now: number;
  notices_posted: number;
};
export type VenueProps = { id: string; name: string; kind: string; visits: number; people_reached: number; installed_now: number };
/** A photo's record, as `GET /api/v1/photos` lists it. */
export type Photo = {
  id: string;
  sha256: string;
  size: number;
  target_kind: "visit" | "venue_visit" | "day";
  target_id: string;
  area_code: string;
  caption: string | null;
  taken_at: string;
  day: string;
  volunteer_id: string;
  device_id: string;
  received_at: string;
  /** All bytes arrived and verified: the image can be shown. */
  complete: boolean;
};

/** A leader's claim (`ClaimDto`): a household, or a street of an area, given to a volunteer. */
export type Claim = {
  id: string;
  area_code: string;
  household_id?: string | null;
  street?: string | null;
  street_key?: string | null;
  volunteer_id: string;
  volunteer: string;
  /** ms since 1970 UTC, the server's clock. */
  created_at_ms: number;
  /** Released, or handed over to someone else; null while held. */
  released_at_ms?: number | null;
  updated_seq: number;
};

/** `ClaimStatusDto`: a claim with where it stands now. */
export type ClaimStatus = {
  claim: Claim;
  /** The volunteer's display name (or username). */
  volunteer_name?: string;
  /** When it runs out unless its volunteer records a visit in it; null once released. */
  expires_at_ms: number | null;
  /** Not released and not run out. */
  active: boolean;
  households: number;
  visited: number;
};

/** `GET /api/v1/claims?area=CODE`. */
export type ClaimsResponse = { claim_hours: number; claims: ClaimStatus[] };

/** `POST /api/v1/claims`: either `household_id`, or `area_code` and `street`. */
export type NewClaimRequest = { volunteer: string; household_id?: string; area_code?: string; street?: string };

/** `GET /api/v1/streets?area=CODE`: a street of the area's households. */
export type Street = { area_code: string; street: string; street_key: string; households: number; visited: number };

/** `GET /api/v1/teams` (`TeamDto`): a team, its leader, its members and their assigned areas. */
export type TeamMember = { username: string; areas: string[] };
export type Team = { name: string; area_code: string; leader?: string; members?: TeamMember[] };

/** The base map the server holds (`GET /api/v1/basemap`). */
export type BasemapInfo = {
  name: string;
  sha256: string;
  size: number;
  tile_type: string;
  min_zoom: number;
  max_zoom: number;
  /** West, south, east, north. */
  bounds: [number, number, number, number];
  imported_at: string;
};
