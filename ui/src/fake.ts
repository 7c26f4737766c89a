// An in-memory back end with the same commands as the Tauri side, for `vite dev` in a browser and
// for the unit tests. It validates a visit the way the domain crate does (same fields, same
// messages), keeps a queue, and "syncs" on timers when online. Nothing here reaches a network.

import type { Backend } from "./api";
import { distanceM } from "./location";
import type {
  Area,
  EnrolLink,
  Campaign,
  Correction,
  ErrorBody,
  Fix,
  Household,
  LocalPhoto,
  MyClaim,
  LocationWarning,
  OutcomeDef,
  PhotoDraft,
  Rejected,
  Settings,
  Status,
  TodayVisit,
  Venue,
  VenueVisitDraft,
  VisitDraft,
} from "./types";

export type FakeCall = { cmd: string; args: Record<string, unknown> };

export type FakeOptions = {
  /** Fill in the Hà Tĩnh sample (enrolled volunteer, households, a refused record). */
  sample?: boolean;
  enrolled?: boolean;
  status?: Partial<Status>;
  settings?: Partial<Settings>;
  /** Each may carry `holder` and `taken` (who covers it), as the phone judges them. */
  households?: Household[];
  /** The leaders' claims given to this volunteer (the sample has one, on Trần Phú). */
  myClaims?: MyClaim[];
  rejected?: Rejected[];
  /** Visits the team leader sent back (the sample has one). */
  corrections?: Correction[];
  today?: TodayVisit[];
  /** What `locate` answers. */
  fix?: Fix;
  online?: boolean;
  /** Milliseconds between two records sent by a simulated sync. */
  syncStepMs?: number;
};

export type FakeBackend = Backend & {
  calls: FakeCall[];
  /** The next call of `cmd` rejects with this error (once). */
  failNext(cmd: string, error: ErrorBody): void;
  /** Change the status and announce it, as the Rust side does on any change. */
  pushStatus(patch: Partial<Status>): void;
  status(): Status;
  households(): Household[];
  setFix(fix: Fix): void;
  setOnline(online: boolean): void;
  /** The system hands the app a link (`doorstep://enrol?server=…&code=…`), as a QR scan would. */
  openLink(url: string): void;
  /** The leader revokes this phone: at its next sync it sends what it holds, then erases itself. */
  revoke(reason?: string | null): void;
  /** The certificate authority the last enrolment was given, as the Rust side keeps it. */
  enrolCa(): string | null;
};

// ---------------------------------------------------------------- campaign and areas

function outcome(code: string, vi: string, en: string, reached: boolean, revisit: boolean, extra: Partial<OutcomeDef> = {}): OutcomeDef {
  return {
    code,
    label: { vi, en },
    reached,
    revisit,
    requires_reason: false,
    requires_installed_now: false,
    requires_already_installed: false,
    requires_no_smartphone: false,
    ...extra,
  };
}

/** Vietnam's August 2020 Bluezone campaign, as `Campaign::bluezone()` in the domain crate. */
export function bluezoneCampaign(): Campaign {
  return {
    code: "bluezone-2020",
    name: {
      vi: "Cài đặt Bluezone phòng, chống COVID-19 (Hà Tĩnh, 8/2020)",
      en: "Install Bluezone against COVID-19 (Hà Tĩnh, August 2020)",
    },
    target_app: "Bluezone",
    utc_offset_minutes: 420,
    outcomes: [
      outcome("installed_now", "Đã cài ngay", "Installed now", true, false, { requires_installed_now: true }),
      outcome("already_installed", "Đã cài từ trước", "Already installed", true, false, { requires_already_installed: true }),
      outcome("refused", "Từ chối", "Refused", true, true, {
        requires_reason: true,
        reasons: [
          { vi: "Lo lộ thông tin cá nhân", en: "Worried about privacy" },
          { vi: "Không có dữ liệu di động", en: "No mobile data" },
          { vi: "Máy cũ hoặc đầy bộ nhớ", en: "Phone too old or full" },
          { vi: "Sẽ tự cài sau", en: "Will install later" },
        ],
      }),
      outcome("not_home", "Vắng nhà", "Not at home", false, true),
      outcome("no_smartphone", "Không có điện thoại thông minh", "No smartphone", true, false, { requires_no_smartphone: true }),
      outcome("unsupported_phone", "Máy không hỗ trợ", "Phone not supported", true, false),
      outcome("partial", "Cài được một phần", "Some phones done", true, true),
    ],
    max_people: 60,
    max_smartphones: 60,
    match_enumerated_m: 10,
  };
}

/** A volunteer's pulled areas: the city, two of its wards. Codes and names are the GSO's. */
export function sampleAreas(): Area[] {
  return [
    { code: "436", parent: "42", name: "Thành phố Hà Tĩnh", division_type: "thành phố", level: 2 },
    { code: "18077", parent: "436", name: "Phường Bắc Hà", division_type: "phường", level: 3 },
    { code: "18073", parent: "436", name: "Phường Nam Hà", division_type: "phường", level: 3 },
  ];
}

const AREA_CENTRES: Record<string, [number, number]> = {
  "436": [18.3428, 105.9057],
  "18077": [18.3472, 105.9008],
  "18073": [18.3398, 105.9071],
};

// ---------------------------------------------------------------- helpers

function hex(n: number, digits: number): string {
  return Math.floor(n).toString(16).padStart(digits, "0").slice(-digits);
}

/** A UUIDv7 (time-ordered), as the device crate makes. */
export function uuidv7(now = Date.now()): string {
  const rnd = () => Math.floor(Math.random() * 0x10000);
  const t = hex(now, 12);
  return `${t.slice(0, 8)}-${t.slice(8, 12)}-7${hex(rnd(), 3)}-${hex(0x8000 | (rnd() & 0x3fff), 4)}-${hex(rnd(), 4)}${hex(rnd(), 4)}${hex(rnd(), 4)}`;
}

/** Now as RFC 3339 in the campaign's offset (the device keeps its offset). */
function rfc3339(date: Date, offsetMin: number): string {
  const local = new Date(date.getTime() + offsetMin * 60000);
  const sign = offsetMin >= 0 ? "+" : "-";
  const abs = Math.abs(offsetMin);
  const off = `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
  return local.toISOString().slice(0, 19) + off;
}

function campaignDay(iso: string, offsetMin: number): string {
  return new Date(new Date(iso).getTime() + offsetMin * 60000).toISOString().slice(0, 10);
}

function err(code: string, field: string | null, vi: string, en: string): ErrorBody {
  return { code, message: en, field, messages: { vi, en } };
}

/** A tiny deterministic generator, so the sample looks the same on every load. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 0x100000000;
  };
}

export function sampleHouseholds(): Household[] {
  const rand = lcg(2020_08_02);
  const streets = ["đường Nguyễn Du", "đường Phan Đình Phùng", "ngõ 12 đường Hà Huy Tập", "đường Trần Phú", "đường Lê Duẩn"];
  const outcomes: (string | null)[] = [null, null, null, "installed_now", "already_installed", "not_home", "refused", "partial", null, "installed_now"];
  const out: Household[] = [];
  for (let i = 0; i < 28; i++) {
    const area = i < 20 ? "18077" : "18073";
    const [clat, clon] = AREA_CENTRES[area];
    const latest = outcomes[Math.floor(rand() * outcomes.length)];
    out.push({
      id: `0190f5a0-0000-7000-8000-${String(100000000000 + i)}`,
      area_code: area,
      address: rand() < 0.85 ? `Số ${1 + Math.floor(rand() * 120)}, ${streets[Math.floor(rand() * streets.length)]}` : null,
      lat: clat + (rand() - 0.5) * 0.006,
      lon: clon + (rand() - 0.5) * 0.006,
      latest_outcome: latest,
      visits: latest ? 1 + Math.floor(rand() * 2) : 0,
      revisit_due: latest === "not_home" || latest === "refused" || latest === "partial",
      distance_m: null,
    });
  }
  // Who covers which doors: Lê Duẩn is Lan's (a leader gave it), Trần Phú this volunteer's.
  const until = Date.now() + 50 * 3_600_000;
  for (const hh of out) {
    if (hh.address?.includes("Lê Duẩn")) {
      hh.holder = { volunteer_id: SAMPLE_OTHER_VOLUNTEER, volunteer: "lan", until_ms: until, kind: "street", claim_id: "claim-le-duan" };
      hh.taken = true;
    } else if (hh.address?.includes("Trần Phú")) {
      hh.holder = { volunteer_id: SAMPLE_VOLUNTEER, volunteer: "tnv.bacha", until_ms: until, kind: "street", claim_id: "claim-tran-phu" };
      hh.taken = false;
    }
  }
  return out;
}

const SAMPLE_VOLUNTEER = "0190f5a0-0000-7000-8000-0000000000aa";
const SAMPLE_OTHER_VOLUNTEER = "0190f5a0-0000-7000-8000-0000000000bb";

/** The sample's claim given to this volunteer: the households it covers are counted when asked. */
function sampleMyClaims(): MyClaim[] {
  const now = Date.now();
  return [
    {
      claim: {
        id: "claim-tran-phu",
        area_code: "18077",
        household_id: null,
        street: "Trần Phú",
        street_key: "tran phu",
        volunteer_id: SAMPLE_VOLUNTEER,
        volunteer: "tnv.bacha",
        created_at_ms: now - 22 * 3_600_000,
        released_at_ms: null,
        updated_seq: 1,
      },
      until_ms: now + 50 * 3_600_000,
      households: 0,
      visited: 0,
    },
  ];
}

// ---------------------------------------------------------------- validation (as domain::visit)

const MAX_ADDRESS_CHARS = 200;
const MAX_REASON_CHARS = 200;
const MAX_NOTES_CHARS = 1000;

function checkText(field: string, v: string | null, max: number): ErrorBody | null {
  if (v === null) return null;
  if ([...v.trim()].length > max) {
    return err("too_long", field, `Trường «${field}» dài quá ${max} ký tự; hãy viết ngắn lại.`, `The field '${field}' is longer than ${max} characters; shorten it.`);
  }
  return null;
}

function checkCount(field: string, v: number, max: number): ErrorBody | null {
  if (!Number.isInteger(v)) return err("malformed", field, `Trường «${field}» sai định dạng (số nguyên).`, `The field '${field}' has the wrong form (an integer).`);
  if (v < 0) return err("negative", field, `Số «${field}» không được âm.`, `The count '${field}' must not be negative.`);
  if (v > max) {
    return err("too_large", field, `Số «${field}» lớn quá mức hợp lý (tối đa ${max}); hãy kiểm tra lại.`, `The count '${field}' is larger than is plausible (at most ${max}); check it.`);
  }
  return null;
}

export function validateDraft(d: VisitDraft, campaign: Campaign, areas: Area[]): ErrorBody | null {
  if (!areas.some((a) => a.code === d.area_code)) {
    return err("unknown_area", "area_code", `Địa bàn «${d.area_code}» không có trên máy chủ; hãy đồng bộ lại danh sách địa bàn.`, `The area '${d.area_code}' is not known to the server; sync the area list again.`);
  }
  const o = campaign.outcomes.find((x) => x.code === d.outcome.trim());
  if (!o) {
    return err("unknown_outcome", "outcome", `Kết quả «${d.outcome}» không có trong danh sách của chiến dịch.`, `The outcome '${d.outcome}' is not in this campaign's list.`);
  }
  const e1 = checkText("address", d.address, MAX_ADDRESS_CHARS) ?? checkText("reason", d.reason, MAX_REASON_CHARS);
  if (e1) return e1;
  if (o.requires_reason && !(d.reason && d.reason.trim())) {
    return err("reason_required", "reason", "Kết quả này cần ghi lý do.", "This outcome needs a reason.");
  }
  const e2 =
    checkCount("people", d.people, campaign.max_people) ??
    checkCount("smartphones", d.smartphones, campaign.max_smartphones) ??
    checkCount("already_installed", d.already_installed, campaign.max_smartphones) ??
    checkCount("installed_now", d.installed_now, campaign.max_smartphones);
  if (e2) return e2;
  if (d.already_installed + d.installed_now > d.smartphones) {
    return err(
      "installs_exceed_smartphones",
      "installed_now",
      "Số máy đã cài cộng số máy cài mới lớn hơn số điện thoại thông minh; hãy sửa các con số.",
      "Phones already installed plus installed now exceed the smartphones seen; correct the counts.",
    );
  }
  if (d.people > 0 && d.smartphones > d.people * 3) {
    return err(
      "smartphones_exceed_people",
      "smartphones",
      "Số điện thoại thông minh lớn hơn mức hợp lý so với số người trong hộ; hãy kiểm tra lại.",
      "More smartphones than is plausible for the people in the household; check the counts.",
    );
  }
  if (o.requires_installed_now && d.installed_now === 0) {
    return err("outcome_needs_install", "installed_now", "Kết quả «cài mới» cần ít nhất 1 máy được cài trong lượt thăm này.", "The outcome 'installed now' needs at least 1 phone installed during this visit.");
  }
  if (o.requires_already_installed && d.already_installed === 0) {
    return err("outcome_needs_already_installed", "already_installed", "Kết quả «đã cài từ trước» cần ít nhất 1 máy đã cài.", "The outcome 'already installed' needs at least 1 phone already installed.");
  }
  if (o.requires_no_smartphone && d.smartphones !== 0) {
    return err("outcome_needs_no_smartphone", "smartphones", "Kết quả «không có điện thoại thông minh» nhưng số điện thoại thông minh khác 0.", "The outcome 'no smartphone' was chosen but the smartphone count is not 0.");
  }
  const loc = d.location;
  const hasCoords = loc.lat !== undefined && loc.lat !== null && loc.lon !== undefined && loc.lon !== null;
  if (loc.source === "none" && hasCoords) {
    return err("coordinates_without_source", "location", "Có tọa độ nhưng nguồn vị trí là «none»; hãy chọn gps hoặc manual.", "Coordinates were given with location source 'none'; use gps or manual.");
  }
  if (loc.source !== "none" && !hasCoords) {
    return err("coordinates_required", "location", "Nguồn vị trí gps hoặc manual cần có cả vĩ độ và kinh độ.", "A gps or manual location needs both latitude and longitude.");
  }
  if (loc.source === "gps" && !(typeof loc.accuracy_m === "number" && loc.accuracy_m > 0)) {
    return err("accuracy_required", "location.accuracy_m", "Vị trí GPS phải có độ chính xác (mét).", "A GPS location must come with its accuracy in metres.");
  }
  if (hasCoords && loc.lat === 0 && loc.lon === 0) {
    return err("null_island", "location", "Tọa độ 0,0 không phải là vị trí thật; hãy lấy lại vị trí hoặc ghim trên bản đồ.", "The point 0,0 is not a real position; take the location again or pin it on the map.");
  }
  return checkText("notes", d.notes, MAX_NOTES_CHARS);
}

// ---------------------------------------------------------------- the fake

type StoredVisit = TodayVisit & { device_seq: number; draft: VisitDraft };

/** The phone's own checks of a venue visit, as the Rust side makes them (a subset, same codes). */
function validateVenueDraft(d: VenueVisitDraft): ErrorBody | null {
  if (!d.name || !d.name.trim()) return err("empty", "venue.name", "Hãy nhập tên cơ sở.", "Enter the venue's name.");
  for (const f of ["people_reached", "smartphones", "already_installed", "installed_now", "notices_posted"] as const) {
    if (!(d[f] >= 0)) return err("negative", f, `Số «${f}» không được âm.`, `The count '${f}' must not be negative.`);
  }
  if (d.already_installed + d.installed_now > d.smartphones) {
    return err(
      "installs_exceed_smartphones",
      "installed_now",
      "Số máy đã cài cộng số máy cài mới lớn hơn số điện thoại thông minh; hãy sửa các con số.",
      "Phones already installed plus installed now exceed the smartphones seen; correct the counts.",
    );
  }
  const log = d.visitor_log;
  if (log && log.told > log.came_in) {
    return err("told_exceeds_came_in", "visitor_log.told", "Số người được tuyên truyền lớn hơn số người đến; hãy sửa sổ theo dõi.", "More people told than came in; correct the visitor log.");
  }
  if (log && log.installed > log.told) {
    return err("installed_exceeds_told", "visitor_log.installed", "Số người đã cài lớn hơn số người được tuyên truyền; hãy sửa sổ theo dõi.", "More people installed than were told; correct the visitor log.");
  }
  return null;
}

/** A fix given in the page's address (`?fix=lat,lon,accuracy_m`): where the sample's volunteer
 * stands in a browser, for trying a spot and for the phone-size browser test. */
export function fixFromQuery(search: string | undefined): Fix | undefined {
  const v = new URLSearchParams(search ?? "").get("fix");
  const [lat, lon, acc] = (v ?? "").split(",").map(Number);
  if (!Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180) return undefined;
  return { source: "gps", lat, lon, accuracy_m: Number.isFinite(acc) && acc > 0 ? acc : 10 };
}

export function createFakeBackend(opts: FakeOptions = {}): FakeBackend {
  const sample = opts.sample ?? false;
  const campaign = bluezoneCampaign();
  const areas = sampleAreas();
  let households: Household[] = (opts.households ?? (sample ? sampleHouseholds() : [])).map((h) => ({ ...h }));
  const myClaims: MyClaim[] = (opts.myClaims ?? (sample ? sampleMyClaims() : [])).map((c) => structuredClone(c));
  let fix: Fix = opts.fix ?? (sample && households[3]
    ? { source: "gps", lat: (households[3].lat ?? 0) + 0.00005, lon: households[3].lon, accuracy_m: 9 }
    : { source: "none", lat: null, lon: null, accuracy_m: null });
  const settings: Settings = {
    language: "vi",
    server: "http://127.0.0.1:8080",
    accuracy_threshold_m: 50,
    location_provider: "auto",
    basemap: null,
    ...opts.settings,
  };
  const enrolled = opts.enrolled ?? sample;
  let enrolLink: EnrolLink | null = null;
  const visits: StoredVisit[] = [];
  let rejected: Rejected[] = (opts.rejected ?? []).map((r) => ({ ...r }));
  let seq = 100;
  const todayExtra: TodayVisit[] = opts.today ?? [];

  if (sample && !opts.rejected) {
    rejected.push({
      device_seq: 7,
      id: uuidv7(Date.now() - 3600_000),
      rejected_at: new Date(Date.now() - 1800_000).toISOString(),
      error: err(
        "smartphones_exceed_people",
        "smartphones",
        "Số điện thoại thông minh lớn hơn mức hợp lý so với số người trong hộ; hãy kiểm tra lại.",
        "More smartphones than is plausible for the people in the household; check the counts.",
      ),
      draft: {
        household_id: households[5]?.id ?? null,
        address: households[5]?.address ?? null,
        area_code: "18077",
        outcome: "installed_now",
        reason: null,
        people: 1,
        smartphones: 12,
        already_installed: 0,
        installed_now: 1,
        leaflet_given: true,
        location: { source: "gps", lat: households[5]?.lat ?? 18.347, lon: households[5]?.lon ?? 105.9, accuracy_m: 14 },
        notes: null,
      },
    });
  }

  let corrections: Correction[] = (opts.corrections ?? []).map((c) => ({ ...c }));
  if (sample && !opts.corrections && households[2]) {
    const hh = households[2];
    corrections.push({
      id: uuidv7(Date.now() - 900_000),
      visit_id: uuidv7(Date.now() - 7200_000),
      revision: 1,
      comment: "Hộ này có 4 người, không phải 1; kiểm tra lại số điện thoại thông minh.",
      requested_by: "tt.bacha",
      requested_at: new Date(Date.now() - 900_000).toISOString(),
      visited_at: new Date(Date.now() - 7200_000).toISOString(),
      answered: false,
      draft: {
        household_id: hh.id,
        address: hh.address,
        area_code: hh.area_code,
        outcome: "already_installed",
        reason: null,
        people: 1,
        smartphones: 1,
        already_installed: 1,
        installed_now: 0,
        leaflet_given: true,
        location: { source: "gps", lat: hh.lat ?? undefined, lon: hh.lon ?? undefined, accuracy_m: 11 },
        notes: null,
      },
    });
  }
  const openCorrections = () => corrections.filter((c) => !c.answered).length;
  // Venues and the venue visits waiting on this fake phone (the fake does not send them).
  const venues: Venue[] = sample
    ? [
        { id: "0190f5a0-3333-7000-8000-000000000001", area_code: "18077", kind: "agency", name: "UBND phường Bắc Hà", address: "Đường Nguyễn Du", lat: 18.3452, lon: 105.8996, visits_here: 1, last_visited_at: null },
      ]
    : [];
  const venueVisits: VenueVisitDraft[] = [];
  // Photos with their pictures (base64), as the phone keeps them.
  const photos: { photo: LocalPhoto; picture: string }[] = [];
  const photoCounts = () => ({
    pending: photos.filter((p) => p.photo.state === "pending").length,
    sent: photos.filter((p) => p.photo.state === "sent").length,
    rejected: photos.filter((p) => p.photo.state === "rejected").length,
  });

  let status: Status = {
    enrolled,
    device_id: enrolled ? "0190f5a0-1111-7000-8000-000000000001" : "",
    volunteer: enrolled ? { username: "tnv.bacha", role: "volunteer", area_code: "18077" } : null,
    server: settings.server,
    online: opts.online ?? (sample ? (typeof navigator === "undefined" ? true : navigator.onLine !== false) : false),
    syncing: false,
    sync_progress: null,
    last_sync_ok: sample ? new Date(Date.now() - 47 * 60000).toISOString() : null,
    queue: { pending: 0, sent: sample ? 14 : 0, rejected: rejected.length, venues_pending: 0, venues_rejected: 0 },
    clock_warning: null,
    auth_problem: null,
    language: settings.language,
    corrections_open: openCorrections(),
    photos: photoCounts(),
    ...opts.status,
  };

  const listeners = new Map<string, Set<(p: unknown) => void>>();
  const failures = new Map<string, ErrorBody>();
  const calls: FakeCall[] = [];
  const stepMs = opts.syncStepMs ?? 400;

  function emit(event: string, payload: unknown) {
    for (const cb of listeners.get(event) ?? []) cb(structuredClone(payload));
  }
  function announce() {
    status.queue = {
      pending: visits.filter((v) => v.state === "pending").length,
      sent: status.queue.sent,
      rejected: rejected.length,
      venues_pending: venueVisits.length,
      venues_rejected: 0,
    };
    status.corrections_open = openCorrections();
    status.photos = photoCounts();
    emit("status", status);
  }
  function refuseIfRevoked() {
    if (status.revoked) {
      throw err(
        "device_revoked",
        null,
        "Điện thoại này đã bị thu hồi: không ghi thêm được. Những gì đã ghi sẽ được gửi về máy chủ rồi xoá khỏi máy.",
        "This phone was revoked: nothing more can be recorded. What was recorded is sent to the server, then erased from the phone.",
      );
    }
  }

  function pushStatus(patch: Partial<Status>) {
    status = { ...status, ...patch };
    emit("status", status);
  }

  function applyVisitToHousehold(d: VisitDraft): Household {
    let h = d.household_id ? households.find((x) => x.id === d.household_id) : undefined;
    if (!h) {
      h = {
        id: d.household_id ?? uuidv7(),
        area_code: d.area_code,
        address: d.address?.trim() || null,
        lat: d.location.lat ?? null,
        lon: d.location.lon ?? null,
        latest_outcome: null,
        visits: 0,
        revisit_due: false,
        distance_m: null,
      };
      households.push(h);
    }
    const def = campaign.outcomes.find((o) => o.code === d.outcome);
    h.latest_outcome = d.outcome;
    h.visits += 1;
    // As the phone's store: due again the outcome's hours after the visit.
    h.revisit_due_at_ms = def?.revisit ? Date.now() + (def.revisit_after_hours ?? 0) * 3_600_000 : null;
    h.revisit_due = h.revisit_due_at_ms !== null && h.revisit_due_at_ms <= Date.now();
    if (d.address?.trim()) h.address = d.address.trim();
    // As the phone's store: the visit makes this volunteer the household's latest, so it is
    // theirs, unless a leader gave it (or its street) to someone else.
    const now = Date.now();
    h.latest_volunteer = status.volunteer?.username ?? null;
    h.latest_visited_at_ms = now;
    if (!h.holder || h.holder.kind === "visit" || h.holder.until_ms <= now) {
      h.holder = { volunteer_id: SAMPLE_VOLUNTEER, volunteer: h.latest_volunteer, until_ms: now + 72 * 3_600_000, kind: "visit", claim_id: null };
      h.taken = false;
    }
    return h;
  }

  function record(d: VisitDraft): { id: string } {
    const e = validateDraft(d, campaign, areas);
    if (e) throw e;
    const h = applyVisitToHousehold(d);
    const id = uuidv7();
    seq += 1;
    visits.push({
      id,
      household_id: h.id,
      address: h.address,
      area_code: d.area_code,
      outcome: d.outcome,
      visited_at: rfc3339(new Date(), campaign.utc_offset_minutes),
      state: "pending",
      device_seq: seq,
      draft: structuredClone(d),
    });
    announce();
    if (status.online && !status.syncing) setTimeout(startSync, stepMs);
    return { id };
  }

  // A revoked phone erases its data once nothing is pending or refused (as crates/device's
  // `erase_if_drained`): only a marker saying why is left, and the phone can be enrolled again.
  function maybeWipe() {
    const r = status.revoked;
    if (!r) return;
    const pending = visits.filter((v) => v.state === "pending").length + venueVisits.length + photoCounts().pending;
    const refused = rejected.length + photoCounts().rejected;
    if (pending > 0 || refused > 0) {
      status.revoked = { ...r, pending, refused };
      announce();
      return;
    }
    const recordsSent = status.queue.sent + photoCounts().sent;
    visits.length = 0;
    photos.length = 0;
    households = [];
    corrections = [];
    status = {
      ...status,
      enrolled: false,
      device_id: uuidv7(),
      volunteer: null,
      queue: { pending: 0, sent: 0, rejected: 0, venues_pending: 0, venues_rejected: 0 },
      last_sync_ok: null,
      auth_problem: null,
      corrections_open: 0,
      revoked: null,
      wiped: { revoked_at: r.revoked_at, reason: r.reason, wiped_at: new Date().toISOString(), records_sent: recordsSent },
    };
    announce();
  }

  function startSync() {
    if (status.syncing || !status.online || !status.enrolled || status.auth_problem) return;
    // The fake sends venue visits whole and at once, as it does photos.
    if (status.revoked) venueVisits.length = 0;
    // Photos go whole in the fake; the real client sends them in chunks after the visits.
    for (const p of photos) if (p.photo.state === "pending") p.photo.state = "sent";
    const batch = visits.filter((v) => v.state === "pending");
    if (batch.length === 0) {
      status.last_sync_ok = new Date().toISOString();
      announce();
      maybeWipe();
      return;
    }
    status.syncing = true;
    status.sync_progress = { sent: 0, total: batch.length };
    announce();
    let i = 0;
    const step = () => {
      if (!status.online) {
        status.syncing = false;
        status.sync_progress = null;
        announce();
        return;
      }
      const v = batch[i];
      if (v.draft.notes && /\bREJECT\b/.test(v.draft.notes)) {
        // For trying the refused-record screens in a browser: a note saying REJECT is refused.
        v.state = "rejected";
        rejected.push({
          device_seq: v.device_seq,
          id: v.id,
          rejected_at: new Date().toISOString(),
          draft: v.draft,
          error: err("id_reused", null, "Mã bản ghi này đã được dùng cho một lượt thăm khác; bản ghi không được ghi đè. Hãy báo cho tổ trưởng.", "This record id was already used for a different visit; records are never overwritten. Tell your team leader."),
        });
      } else {
        v.state = "sent";
        status.queue.sent += 1;
      }
      i += 1;
      status.sync_progress = { sent: i, total: batch.length };
      if (i >= batch.length) {
        status.syncing = false;
        status.sync_progress = null;
        status.last_sync_ok = new Date().toISOString();
        announce();
        maybeWipe();
        return;
      }
      announce();
      setTimeout(step, stepMs);
    };
    setTimeout(step, stepMs);
  }

  let lastEnrolCa: string | null = null;
  const handlers: Record<string, (a: Record<string, unknown>) => unknown> = {
    get_status: () => status,
    enrol: (a) => {
      const server = String(a.server ?? "").trim();
      const code = String(a.code ?? "");
      if (!/^https?:\/\/[^\s/]+/i.test(server)) {
        throw err("bad_server_url", "server", "Địa chỉ máy chủ không hợp lệ; ví dụ: https://doorstep.example.vn", "The server address is not valid; for example: https://doorstep.example.vn");
      }
      const ca = a.ca == null ? "" : String(a.ca);
      if (ca && !ca.includes("-----BEGIN CERTIFICATE-----")) {
        throw err(
          "server_ca_invalid",
          "ca",
          "Chứng chỉ của máy chủ không đọc được: hãy dán nguyên khối từ -----BEGIN CERTIFICATE----- đến -----END CERTIFICATE-----.",
          "The server's certificate cannot be read: paste all of it, from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----.",
        );
      }
      lastEnrolCa = ca || null;
      const normal = code.replace(/[\s-]/g, "").toUpperCase().replace(/O/g, "0").replace(/[IL]/g, "1");
      if (!/^[0-9A-HJKMNP-TV-Z]{10}$/.test(normal) || normal === "0000000000") {
        throw err("enrolment_code_invalid", "code", "Mã đăng ký không đúng, đã dùng hoặc đã hết hạn. Hãy xin tổ trưởng mã mới.", "The enrolment code is wrong, used or expired. Ask your team leader for a new one.");
      }
      settings.server = server;
      status = {
        ...status,
        enrolled: true,
        server,
        device_id: uuidv7(),
        volunteer: { username: "tnv.bacha", role: "volunteer", area_code: "18077" },
        auth_problem: null,
        online: true,
        revoked: null,
        wiped: null,
      };
      if (households.length === 0) households = sampleHouseholds();
      announce();
      return status;
    },
    get_campaign: () => campaign,
    get_areas: () => areas,
    get_work_areas: () => (status.volunteer ? [status.volunteer.area_code] : []),
    get_households: (a) => {
      const area = (a.area as string | null | undefined) ?? null;
      if (area === null) return households;
      const inside = new Set([area]);
      let grew = true;
      while (grew) {
        grew = false;
        for (const x of areas) if (x.parent && inside.has(x.parent) && !inside.has(x.code)) { inside.add(x.code); grew = true; }
      }
      return households.filter((h) => inside.has(h.area_code));
    },
    get_nearby: (a) => {
      const lat = Number(a.lat), lon = Number(a.lon), limit = Number(a.limit ?? 10);
      return households
        .filter((h) => h.lat !== null && h.lon !== null)
        .map((h) => ({ ...h, distance_m: Math.round(distanceM(lat, lon, h.lat as number, h.lon as number)) }))
        .sort((x, y) => (x.distance_m ?? 0) - (y.distance_m ?? 0))
        .slice(0, limit);
    },
    // The walk list: another volunteer's households after the free ones, as the Rust side.
    get_revisits: () =>
      [...households.filter((h) => (h.revisit_due_at_ms != null ? h.revisit_due_at_ms <= Date.now() : h.revisit_due))].sort(
        (a, b) => Number(!!a.taken) - Number(!!b.taken),
      ),
    get_my_claims: () =>
      myClaims
        .filter((c) => c.until_ms > Date.now())
        .map((c) => {
          const covered = households.filter((hh) => hh.holder?.claim_id === c.claim.id);
          // Counted from the households that carry it; as given when none does.
          if (covered.length === 0) return c;
          return { ...c, households: covered.length, visited: covered.filter((hh) => (hh.latest_visited_at_ms ?? -1) >= c.claim.created_at_ms).length };
        }),
    get_today: () => {
      const day = campaignDay(new Date().toISOString(), campaign.utc_offset_minutes);
      const mine = visits
        .filter((v) => campaignDay(v.visited_at, campaign.utc_offset_minutes) === day)
        .map(({ id, household_id, address, area_code, outcome, visited_at, state }) => ({ id, household_id, address, area_code, outcome, visited_at, state }));
      return [...todayExtra, ...mine].sort((x, y) => (x.visited_at < y.visited_at ? 1 : -1));
    },
    get_rejected: () => rejected,
    locate: () => fix,
    check_location: (a) => {
      const out: LocationWarning[] = [];
      const acc = a.accuracyM as number | null | undefined;
      if (typeof acc === "number" && acc > settings.accuracy_threshold_m) {
        out.push({
          code: "poor_accuracy",
          messages: {
            vi: `Vị trí chưa chính xác (±${Math.round(acc)} m, cần ≤ ${settings.accuracy_threshold_m} m). Hãy ra chỗ thoáng và chờ một chút.`,
            en: `The location is not precise (±${Math.round(acc)} m, needs ≤ ${settings.accuracy_threshold_m} m). Step into the open and wait a moment.`,
          },
        });
      }
      const centre = AREA_CENTRES[String(a.areaCode)];
      if (centre && distanceM(Number(a.lat), Number(a.lon), centre[0], centre[1]) > 3000) {
        out.push({
          code: "outside_area",
          messages: { vi: "Vị trí này nằm ngoài địa bàn được giao.", en: "This point is outside your assigned area." },
        });
      }
      return out;
    },
    record_visit: (a) => {
      refuseIfRevoked();
      return record(a.draft as VisitDraft);
    },
    fix_rejected: (a) => {
      const deviceSeq = Number(a.deviceSeq);
      const r = rejected.find((x) => x.device_seq === deviceSeq);
      if (!r) throw err("not_found", null, "Không tìm thấy bản ghi bị trả lại này.", "This refused record was not found.");
      const d = a.draft as VisitDraft;
      const e = validateDraft(d, campaign, areas);
      if (e) throw e;
      rejected = rejected.filter((x) => x !== r);
      return record(d);
    },
    record_venue_visit: (a) => {
      refuseIfRevoked();
      const d = a.draft as VenueVisitDraft;
      const e = validateVenueDraft(d);
      if (e) throw e;
      let v = d.venue_id ? venues.find((x) => x.id === d.venue_id) : undefined;
      if (!v) {
        v = { id: d.venue_id ?? uuidv7(), area_code: d.area_code, kind: d.kind, name: d.name.trim(), address: d.address, lat: d.location.lat ?? null, lon: d.location.lon ?? null, visits_here: 0, last_visited_at: null };
        venues.push(v);
      }
      v.visits_here += 1;
      v.last_visited_at = new Date().toISOString();
      venueVisits.push(d);
      announce();
      return { id: uuidv7() };
    },
    get_venues: (a) => venues.filter((v) => !a.area || v.area_code === a.area),
    get_rejected_venue_visits: () => [],
    get_corrections: () => corrections,
    correct_visit: (a) => {
      const c = corrections.find((x) => x.id === a.correctionId && !x.answered);
      if (!c) {
        throw err(
          "correction_not_open",
          null,
          "Lượt thăm này không còn chờ sửa (đã sửa, hoặc tổ trưởng đã rút yêu cầu).",
          "This visit no longer waits for a correction (corrected already, or the leader withdrew it).",
        );
      }
      const d = a.draft as VisitDraft;
      const e = validateDraft(d, campaign, areas);
      if (e) throw e;
      c.answered = true;
      return record(d);
    },
    attach_photo: (a) => {
      const d = a.draft as PhotoDraft;
      const picture = String(a.picture ?? "");
      let head = "";
      try {
        head = atob(picture.slice(0, 16));
      } catch {
        head = "";
      }
      // JPEG or PNG, as the phone's decoder takes.
      const jpeg = head.charCodeAt(0) === 0xff && head.charCodeAt(1) === 0xd8;
      const png = head.startsWith("\x89PNG");
      if (!jpeg && !png) {
        throw err("photo_unreadable", "photo", "Không đọc được ảnh này (chỉ nhận ảnh JPEG hoặc PNG); hãy chụp lại.", "This picture cannot be read (only JPEG or PNG are taken); take it again.");
      }
      if (!status.enrolled) {
        throw err("not_enrolled", null, "Điện thoại chưa được đăng ký; hãy nhập mã của tổ trưởng trước.", "This phone is not enrolled yet; enter your team leader's code first.");
      }
      const visit = visits.find((v) => v.id === d.target_id);
      if (d.target_kind === "visit" && !visit) {
        throw err("photo_target_unknown", "photo", "Không tìm thấy lượt thăm để gắn ảnh trên máy này; hãy lưu lượt thăm trước.", "The visit to attach the photo to is not on this phone; save the visit first.");
      }
      const caption = d.caption?.trim().normalize("NFC") || null;
      if (caption && [...caption].length > 200) {
        throw err("too_long", "caption", "Trường «caption» dài quá 200 ký tự; hãy viết ngắn lại.", "The field 'caption' is longer than 200 characters; shorten it.");
      }
      const photo: LocalPhoto = {
        id: uuidv7(),
        sha256: hex(Math.floor(Math.random() * 0xffffffff), 8).repeat(8),
        size: Math.floor((picture.length * 3) / 4),
        target_kind: d.target_kind,
        target_id: d.target_id,
        area_code: visit?.area_code ?? d.area_code ?? status.volunteer?.area_code ?? "",
        caption,
        taken_at: rfc3339(new Date(), campaign.utc_offset_minutes),
        state: "pending",
        error: null,
      };
      photos.push({ photo, picture });
      announce();
      if (status.online && !status.syncing) setTimeout(startSync, stepMs);
      return photo;
    },
    get_photos: (a) =>
      photos.filter((p) => p.photo.target_kind === a.targetKind && p.photo.target_id === a.targetId).map((p) => p.photo),
    get_daily_report_photos: (a) =>
      photos.filter((p) => p.photo.target_kind === "day" && p.photo.target_id === a.day).map((p) => p.photo),
    get_photo_image: (a) => {
      const p = photos.find((x) => x.photo.id === a.id);
      if (!p) throw err("photo_not_found", null, "Không có ảnh này trên máy.", "This photo is not on this phone.");
      return p.picture;
    },
    sync_now: () => {
      if (status.online) setTimeout(startSync, 0);
      return status;
    },
    take_enrol_link: () => {
      const link = enrolLink;
      enrolLink = null;
      return link;
    },
    get_settings: () => settings,
    set_settings: (a) => {
      const s = a.settings as Settings;
      if (!/^https?:\/\/[^\s/]+/i.test(s.server.trim())) {
        throw err("bad_server_url", "server", "Địa chỉ máy chủ không hợp lệ; ví dụ: https://doorstep.example.vn", "The server address is not valid; for example: https://doorstep.example.vn");
      }
      if (!(s.accuracy_threshold_m >= 5 && s.accuracy_threshold_m <= 1000)) {
        throw err("out_of_range", "accuracy_threshold_m", "Ngưỡng độ chính xác phải từ 5 đến 1000 m.", "The accuracy threshold must be between 5 and 1000 m.");
      }
      Object.assign(settings, s, { server: s.server.trim() });
      status = { ...status, language: settings.language, server: status.enrolled ? status.server : settings.server };
      announce();
      return settings;
    },
  };

  const fake: FakeBackend = {
    kind: "fake",
    calls,
    async invoke(cmd, args = {}) {
      calls.push({ cmd, args: structuredClone(args) });
      const f = failures.get(cmd);
      if (f) {
        failures.delete(cmd);
        throw structuredClone(f);
      }
      const h = handlers[cmd];
      if (!h) throw `command ${cmd} not found`;
      return structuredClone(h(args));
    },
    async listen(event, cb) {
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set);
      set.add(cb);
      return () => set.delete(cb);
    },
    failNext(cmd, error) {
      failures.set(cmd, error);
    },
    pushStatus,
    enrolCa: () => lastEnrolCa,
    status: () => structuredClone(status),
    households: () => structuredClone(households),
    setFix(f) {
      fix = f;
    },
    setOnline(online) {
      status.online = online;
      announce();
      if (online) setTimeout(startSync, stepMs);
    },
    openLink(url) {
      // As the Rust side: only an enrolment link with an http(s) server and a code is kept.
      const q = /^doorstep:\/\/enrol\?/.test(url.trim()) ? new URLSearchParams(url.trim().slice("doorstep://enrol?".length)) : null;
      const server = q?.get("server")?.trim() ?? "";
      const code = q?.get("code")?.trim() ?? "";
      if (!/^https?:\/\/[^\s/]+/i.test(server) || !code) return;
      const ca = q?.get("ca")?.trim() ?? "";
      enrolLink = { server, code, ca: ca.includes("-----BEGIN CERTIFICATE-----") ? ca : null };
      emit("enrol-link", null);
    },
    revoke(reason = null) {
      const pending = visits.filter((v) => v.state === "pending").length + venueVisits.length + photoCounts().pending;
      status.revoked = { revoked_at: new Date().toISOString(), reason, pending, refused: rejected.length + photoCounts().rejected };
      announce();
      if (status.online) setTimeout(startSync, stepMs);
    },
  };

  if (sample && typeof window !== "undefined") {
    window.addEventListener("online", () => fake.setOnline(true));
    window.addEventListener("offline", () => fake.setOnline(false));
  }
  return fake;
}

