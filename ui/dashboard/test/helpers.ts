// A fake server for the dashboard's tests: routes keyed by "METHOD /path", answering JSON, with
// every request recorded (URL, headers) so that tests can check what was asked.

import { vi } from "vitest";
import { App } from "../src/app";
import type { Person, AreaProps, Campaign, Coverage, Day, DeviceList, FeatureCollection, HouseholdProps, Progress, Revisit, Unit, Visit, VolunteerDay } from "../src/types";

export type Call = { method: string; path: string; query: URLSearchParams; headers: Record<string, string>; body: unknown };
export type Handler = (call: Call) => Response | Promise<Response>;

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
}

export function apiError(status: number, code: string, vi: string, en: string, headers: Record<string, string> = {}): Response {
  return json({ error: { code, message: vi, messages: { vi, en } } }, status, headers);
}

/** A request's body: JSON as its value, anything else (a file) as it came. */
function readBody(body: unknown): unknown {
  if (typeof body !== "string") return body;
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}

export function fakeServer(routes: Record<string, Handler | unknown>) {
  const calls: Call[] = [];
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = new URL(String(input), "http://dashboard.test");
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries((init.headers ?? {}) as Record<string, string>)) headers[k.toLowerCase()] = v;
    const method = (init.method ?? "GET").toUpperCase();
    const call: Call = { method, path: url.pathname, query: url.searchParams, headers, body: init.body ? readBody(init.body) : undefined };
    calls.push(call);
    const route = routes[`${method} ${url.pathname}`];
    if (route === undefined) return apiError(404, "not_found", "Không có", "Not found");
    if (typeof route === "function") return (route as Handler)(call);
    return json(route);
  });
  vi.stubGlobal("fetch", fetchMock);
  return { calls, fetchMock, routes };
}

export async function flush(times = 6): Promise<void> {
  for (let i = 0; i < times; i++) await new Promise((r) => setTimeout(r, 0));
}

/** Waits until `fn` returns something truthy (or fails after ~1 s). */
export async function waitFor<T>(fn: () => T | null | undefined | false, what = "condition"): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = fn();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export const $ = (testid: string, root: ParentNode = document) => root.querySelector<HTMLElement>(`[data-testid="${testid}"]`);

export const CAMPAIGN: Campaign = {
  code: "bluezone-2020",
  name: { vi: "Cài đặt Bluezone", en: "Install Bluezone" },
  target_app: "Bluezone",
  utc_offset_minutes: 420,
  outcomes: [
    { code: "installed_now", label: { vi: "Đã cài ngay", en: "Installed now" }, reached: true, revisit: false },
    { code: "already_installed", label: { vi: "Đã cài từ trước", en: "Already installed" }, reached: true, revisit: false },
    { code: "refused", label: { vi: "Từ chối", en: "Refused" }, reached: true, revisit: true },
    { code: "not_home", label: { vi: "Vắng nhà", en: "Not at home" }, reached: false, revisit: true },
  ],
};

export function coverage(code: string, name: string, known: number, visited: number, phones: number, withApp: number): Coverage {
  return {
    area_code: code,
    area_name: name,
    households_known: known,
    households_visited: visited,
    by_outcome: { installed_now: Math.floor(visited / 2) },
    visits: visited + 3,
    smartphones_seen: phones,
    already_installed: Math.floor(withApp / 2),
    installed_now: withApp - Math.floor(withApp / 2),
    coverage_rate: known ? visited / known : null,
    install_rate: phones ? withApp / phones : null,
  };
}

export const ROOT = coverage("42", "Tỉnh Hà Tĩnh", 4380, 2880, 4516, 3266);

/** Three districts; ranks by install rate: Đức Thọ (0.9), Can Lộc (0.5), Vũ Quang (none). */
export const UNITS: Unit[] = [
  { ...coverage("443", "Huyện Can Lộc", 340, 240, 100, 50), rank: 2 },
  { ...coverage("440", "Huyện Đức Thọ", 320, 100, 200, 180), rank: 1 },
  { ...coverage("445", "Huyện Vũ Quang", 0, 0, 0, 0), rank: 3 },
];

export const DAYS: Day[] = [
  { date: "2020-08-03", visits: 12, households: 10, installed_now: 4 },
  { date: "2020-08-04", visits: 30, households: 25, installed_now: 9 },
  { date: "2020-08-05", visits: 22, households: 20, installed_now: 7 },
];

export const PROGRESS: Progress = { area: ROOT, units: UNITS, days: DAYS };

export const MAP_AREAS: FeatureCollection<AreaProps> = {
  type: "FeatureCollection",
  features: UNITS.map((u, i) => ({
    type: "Feature",
    geometry: { type: "Polygon", coordinates: [[[105.5 + i, 18], [105.9 + i, 18], [105.9 + i, 18.4], [105.5 + i, 18]]] },
    properties: {
      code: u.area_code,
      name: u.area_name,
      level: 1,
      households_known: u.households_known,
      households_visited: u.households_visited,
      coverage_rate: u.coverage_rate,
      install_rate: u.install_rate,
      smartphones_seen: u.smartphones_seen,
      with_app: u.already_installed + u.installed_now,
    },
  })),
};

export const HOUSEHOLDS: FeatureCollection<HouseholdProps> = {
  type: "FeatureCollection",
  truncated: false,
  features: [
    { type: "Feature", geometry: { type: "Point", coordinates: [105.7, 18.2] }, properties: { id: "h1", area_code: "443", address: "12 Trần Phú", outcome: "not_home", visits: 1, revisit_due: true } },
  ],
};

export const REVISITS: Revisit[] = [
  { id: "h1", area_code: "18073", area_name: "Phường Nam Hà", address: "12 Trần Phú", latest_outcome: "not_home", visits: 1, lat: 18.2, lon: 105.7 },
  { id: "h2", area_code: "18073", area_name: "Phường Nam Hà", address: null, latest_outcome: "refused", visits: 2, lat: null, lon: null },
];

export const FLAGGED: Visit[] = [
  {
    server_seq: 7,
    id: "v1",
    revision: 1,
    household_id: "h1",
    area_code: "443",
    volunteer_id: "01a22126-4d53-77af-a076-af84ab3a5cd4",
    volunteer_name: "Trần Thị Lan",
    device_id: "d1",
    visited_at: "2020-08-04T02:30:00+07:00",
    outcome: "installed_now",
    reason: null,
    people: 3,
    smartphones: 2,
    already_installed: 0,
    installed_now: 2,
    leaflet_given: true,
    location_source: "gps",
    lat: 18.2,
    lon: 105.7,
    accuracy_m: 12.4,
    notes: null,
    received_at: "2020-08-04T02:31:00Z",
    flags: ["outside_assignment", "other_volunteer"],
  },
];

export const VOLUNTEER_DAYS: VolunteerDay[] = [
  { volunteer_id: "01a22126-4d53-77af-a076-af84ab3a5cd4", username: "tnv.lan", display_name: "Trần Thị Lan", date: "2020-08-04", visits: 12, households: 11, installed_now: 7, flagged: 2 },
  { volunteer_id: "01a22126-4d53-77af-a076-af84ab3a5cd4", username: "tnv.lan", display_name: "Trần Thị Lan", date: "2020-08-05", visits: 1234, households: 1200, installed_now: 800, flagged: 0 },
  { volunteer_id: "01a22126-4d53-77af-a076-000000000002", username: null, date: "2020-08-05", visits: 3, households: 3, installed_now: 1, flagged: 3 },
];

export const DEVICES: DeviceList = {
  area_code: "42",
  stale_after_hours: 24,
  checked_at: "2020-08-06T03:00:00Z",
  devices: [
    { device_id: "dev-never-0000", volunteer: "tnv.minh", volunteer_name: "Lê Văn Minh", volunteer_area: "443", enrolled_at: "2020-08-01T01:00:00Z", last_sync: null, minutes_since_sync: null, pushes: 0, clock_skew_seconds: null, flagged_visits: 0, revoked: false, stale: true },
    { device_id: "dev-silent-000", volunteer: "tnv.lan", volunteer_name: "Trần Thị Lan", volunteer_area: "443", enrolled_at: "2020-08-01T01:00:00Z", last_sync: "2020-08-04T21:00:00Z", minutes_since_sync: 1800, pushes: 9, clock_skew_seconds: 600, flagged_visits: 2, revoked: false, app_version: "0.9.2", stale: true },
    { device_id: "dev-fresh-0000", volunteer: "tnv.hoa", volunteer_name: "Nguyễn Thị Hoa", volunteer_area: "440", enrolled_at: "2020-08-01T01:00:00Z", last_sync: "2020-08-06T02:50:00Z", minutes_since_sync: 10, pushes: 40, clock_skew_seconds: 2, flagged_visits: 0, revoked: false, app_version: "0.10.0", stale: false },
    { device_id: "dev-lost-00000", volunteer: "tnv.lan", volunteer_name: "Trần Thị Lan", volunteer_area: "443", enrolled_at: "2020-07-30T01:00:00Z", last_sync: "2020-08-02T01:00:00Z", minutes_since_sync: 5880, pushes: 3, clock_skew_seconds: 0, flagged_visits: 0, revoked: true, revoke_reason: "Mất máy ở chợ", stale: false },
  ],
};

export const TEAMS = [
  { name: "Đội 1", area_code: "443", leader: "totruong.lan", members: [{ username: "tnv.minh", areas: ["443", "18073"] }] },
  { name: "Đội khác", area_code: "440", leader: "totruong.khac", members: [] },
];

export const USER = { username: "uyban.hatinh", role: "committee", area_code: "42" };

/** Routes of a healthy server for the province and its districts. */
export function defaultRoutes(): Record<string, Handler | unknown> {
  return {
    "GET /api/v1/campaign": CAMPAIGN,
    "POST /api/v1/auth/login": { token: "tok-1", expires_at: "2030-01-01T00:00:00Z", user: USER },
    "GET /api/v1/auth/me": USER,
    "POST /api/v1/auth/logout": () => new Response(null, { status: 204 }),
    "GET /api/v1/coverage": (c: Call) => {
      const code = c.query.get("area");
      const u = UNITS.find((x) => x.area_code === code);
      return json(u ? { ...u, rank: undefined } : ROOT);
    },
    "GET /api/v1/progress": (c: Call) => {
      const code = c.query.get("area");
      const u = UNITS.find((x) => x.area_code === code);
      return json(u ? { area: u, units: [], days: DAYS.slice(0, 1) } : PROGRESS);
    },
    "GET /api/v1/map/areas": (c: Call) => json(c.query.get("parent") === "42" ? MAP_AREAS : { type: "FeatureCollection", features: [] }),
    "GET /api/v1/map/households": HOUSEHOLDS,
    "GET /api/v1/revisits": REVISITS,
    "GET /api/v1/visits": FLAGGED,
    "GET /api/v1/volunteers/daily": VOLUNTEER_DAYS,
    "GET /api/v1/devices": DEVICES,
    "GET /api/v1/users": PEOPLE,
    "GET /api/v1/teams": TEAMS,
  };
}

/** The accounts of the area: a leader with a password, a volunteer with a phone, a disabled one. */
export const PEOPLE: Person[] = [
  { username: "totruong.lan", display_name: "Nguyễn Thị Lan", role: "leader", area_code: "436", area_name: "Huyện Đức Thọ", disabled: false, has_password: true, teams: ["Đội 1"], phones: [] },
  {
    username: "tnv.minh",
    display_name: "Lê Văn Minh",
    role: "volunteer",
    area_code: "18073",
    area_name: "Xã Đức Lạc",
    disabled: false,
    has_password: false,
    teams: ["Đội 1"],
    phones: [{ device_id: "0190a1b2-0000-7000-8000-000000000001", enrolled_at: "2020-08-04T01:00:00+00:00", last_sync: "2020-08-05T03:00:00+00:00", revoked: false }],
  },
  { username: "tnv.cu", display_name: "Trần Văn Cũ", role: "volunteer", area_code: "18073", area_name: "Xã Đức Lạc", disabled: true, has_password: false, teams: [], phones: [] },
];

/** Starts the app on a fresh document; the map is reported unsupported (jsdom has no WebGL). */
export async function startApp(): Promise<{ app: App; root: HTMLElement }> {
  document.body.replaceChildren();
  const root = document.createElement("div");
  document.body.append(root);
  const app = new App(root, { mapSupported: () => false });
  await app.start();
  await flush();
  return { app, root };
}

/** Signs in through the form and waits for the dashboard's cards. */
export async function signIn(root: HTMLElement): Promise<void> {
  const u = $("login-username", root) as HTMLInputElement;
  const p = $("login-password", root) as HTMLInputElement;
  u.value = "uyban.hatinh";
  p.value = "doorstep-demo-committee";
  ($("login-submit", root) as HTMLButtonElement).click();
  await waitFor(() => $("card-visited", root)?.querySelector("[data-value]"), "the cards");
  await flush();
}
