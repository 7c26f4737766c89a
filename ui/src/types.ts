// Mirrors of the JSON the Tauri commands return (snake_case keys, as serialised by serde).
// Keep in step with src-tauri; change nothing here without changing it there.

export type Lang = "vi" | "en";
export type Messages = { vi: string; en: string };
export type ErrorBody = { code: string; message: string; field?: string | null; messages: Messages };

export type Status = {
  enrolled: boolean;
  device_id: string;
  volunteer: null | { username: string; role: string; area_code: string };
  server: string;
  online: boolean;
  syncing: boolean;
  sync_progress: null | { sent: number; total: number };
  last_sync_ok: string | null; // RFC 3339
  queue: { pending: number; sent: number; rejected: number; venues_pending?: number; venues_rejected?: number };
  clock_warning: Messages | null;
  auth_problem: ErrorBody | null;
  language: Lang;
  /** Visits the team leader sent back that wait for a correction. */
  corrections_open: number;
  /** Photos waiting to be sent, sent, and refused by the server. */
  photos: { pending: number; sent: number; rejected: number };
  /** The server said this phone was revoked: it sends what it holds, then erases its data. */
  revoked?: Revoked | null;
  /** This phone's data was erased after it was revoked (until it is enrolled again). */
  wiped?: WipeMarker | null;
  /** The server's base map on this phone, or its download. */
  basemap?: BasemapStatus | null;
};

/** A revoked phone before its erase: what still holds the erase up. */
export type Revoked = {
  revoked_at: string; // RFC 3339
  reason: string | null;
  /** Visits, venue visits and photos not yet received by the server. */
  pending: number;
  /** Records the server refused: the erase waits until they are fixed. */
  refused: number;
};

/** What is left of an erased phone: why. */
export type WipeMarker = {
  revoked_at: string; // RFC 3339
  reason: string | null;
  wiped_at: string; // RFC 3339
  records_sent: number;
};

/** What a photo belongs to: a household visit, a venue visit, or a day's activity report. */
export type TargetKind = "visit" | "venue_visit" | "day";

export type PhotoDraft = {
  target_kind: TargetKind;
  /** A visit id, or for `day` the local date YYYY-MM-DD. */
  target_id: string;
  /** The area of a day report; a visit's photo takes the visit's area. */
  area_code: string | null;
  caption: string | null;
};

export type LocalPhoto = {
  id: string;
  sha256: string;
  size: number;
  target_kind: TargetKind;
  target_id: string;
  area_code: string;
  caption: string | null;
  taken_at: string;
  state: "pending" | "sent" | "rejected";
  error: ErrorBody | null;
};

export type OutcomeDef = {
  code: string;
  label: Messages;
  reached: boolean;
  revisit: boolean;
  requires_reason: boolean;
  requires_installed_now: boolean;
  requires_already_installed: boolean;
  requires_no_smartphone: boolean;
  /** With `revisit`: hours after the visit before the household is due again (0: at once). */
  revisit_after_hours?: number;
  /** With `requires_reason`: the reasons heard most, one tap each ("other" is typed). */
  reasons?: Messages[];
};

/** The server's base map on this phone (`doorstep-field`'s `basemap`). */
export type BasemapStatus = {
  name: string;
  /** The file to draw once whole and checked; null while it downloads. */
  path: string | null;
  downloaded: number;
  size: number;
};

export type Campaign = {
  code: string;
  name: Messages;
  target_app: string;
  utc_offset_minutes: number;
  outcomes: OutcomeDef[];
  max_people: number;
  max_smartphones: number;
  /** A known household this close (metres) to a new visit may be the same door. */
  match_enumerated_m?: number;
};

export type Area = { code: string; parent: string | null; name: string; division_type: string | null; level: number };

export type Household = {
  id: string;
  area_code: string;
  address: string | null;
  lat: number | null;
  lon: number | null;
  latest_outcome: string | null;
  visits: number;
  /** Due again now, by the phone's clock. */
  revisit_due: boolean;
  /** When it is due again (ms since 1970 UTC), with an outcome the campaign revisits. */
  revisit_due_at_ms?: number | null;
  /** The volunteer of the latest visit known on the phone (account id, username) and its time. */
  latest_volunteer_id?: string | null;
  latest_volunteer?: string | null;
  latest_visited_at_ms?: number | null;
  /** Who holds it now (a leader's claim, or a recent visit); null: anyone may go. */
  holder?: Holder | null;
  /** Held by another volunteer than this phone's: someone else covers this door. */
  taken?: boolean;
  distance_m: number | null;
};

/** Why a volunteer holds a household: a leader gave them it, or its street; or they visited it. */
export type ClaimKind = "household" | "street" | "visit";

export type Holder = {
  volunteer_id: string;
  volunteer: string | null;
  /** When the claim runs out if its volunteer records nothing more in it (ms since 1970 UTC). */
  until_ms: number;
  kind: ClaimKind;
  claim_id: string | null;
};

/** A leader's claim as the server sends it. */
export type Claim = {
  id: string;
  area_code: string;
  household_id: string | null;
  street: string | null;
  street_key: string | null;
  volunteer_id: string;
  volunteer: string;
  created_at_ms: number;
  released_at_ms: number | null;
  updated_seq: number;
};

/** A leader's claim given to this volunteer and in force ("Assigned to you"). */
export type MyClaim = {
  claim: Claim;
  until_ms: number;
  /** Households on the phone it gives the volunteer now, and of those visited since it was given. */
  households: number;
  visited: number;
};

export type VisitState = "pending" | "sent" | "rejected";

export type TodayVisit = {
  id: string;
  household_id: string;
  address: string | null;
  area_code: string;
  outcome: string;
  visited_at: string;
  state: VisitState;
};

export type Location = { source: "gps" | "manual" | "none"; lat?: number; lon?: number; accuracy_m?: number };

export type VisitDraft = {
  household_id: string | null;
  address: string | null;
  area_code: string;
  outcome: string;
  reason: string | null;
  people: number;
  smartphones: number;
  already_installed: number;
  installed_now: number;
  leaflet_given: boolean;
  location: Location;
  notes: string | null;
};

/** A visit the team leader sent back, with the form's starting values. */
export type Correction = {
  id: string;
  visit_id: string;
  revision: number;
  comment: string;
  requested_by: string;
  requested_at: string;
  visited_at: string;
  /** Corrected on this phone already (may still wait in the queue). */
  answered: boolean;
  draft: VisitDraft;
};

export type Rejected = { device_seq: number; id: string; error: ErrorBody; rejected_at: string; draft: VisitDraft };

export type Fix = {
  source: "gps" | "fixed" | "webview" | "none";
  lat: number | null;
  lon: number | null;
  accuracy_m: number | null;
};

export type LocationWarning = { code: "poor_accuracy" | "outside_area" | "no_fix"; messages: Messages };

export type Settings = {
  language: Lang;
  server: string;
  accuracy_threshold_m: number;
  location_provider: "auto" | "fixed";
  basemap: string | null;
};

/** The four counts of a visit, in the order the form shows them. */
export const COUNT_FIELDS = ["people", "smartphones", "already_installed", "installed_now"] as const;
export type CountField = (typeof COUNT_FIELDS)[number];

/** The letter's kinds of place (ARCHITECTURE.md, "Words": venue). */
export type VenueKind = "agency" | "school" | "hotel" | "restaurant" | "shop" | "business" | "transport_hub";

export type VisitorLog = { came_in: number; told: number; installed: number };

export type VenueVisitDraft = {
  /** null: a venue registered by this visit. */
  venue_id: string | null;
  kind: VenueKind;
  name: string;
  address: string | null;
  area_code: string;
  people_reached: number;
  smartphones: number;
  already_installed: number;
  installed_now: number;
  notices_posted: number;
  visitor_log: VisitorLog | null;
  location: Location;
  notes: string | null;
};

export type Venue = {
  id: string;
  area_code: string;
  kind: VenueKind;
  name: string;
  address: string | null;
  lat: number | null;
  lon: number | null;
  visits_here: number;
  last_visited_at: string | null;
};

export type RejectedVenueVisit = { device_seq: number; id: string; venue_name: string; error: ErrorBody };

/** What an enrolment link (`doorstep://enrol?server=…&code=…`) carries. */
/** `ca`: the province's own certificate authority (PEM), when the card carries one. */
export type EnrolLink = { server: string; code: string; ca?: string | null };
