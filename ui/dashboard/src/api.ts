// The only module that talks to the server: same origin, JSON, the bearer token from
// sessionStorage, Accept-Language in the chosen language. A 401 on any call but the sign-in
// forgets the token and calls the handler set by the app (which shows the sign-in screen).

import { getLang, pick, t } from "./i18n";
import type {
  ApiErrorBody,
  Area,
  AreaProps,
  BasemapInfo,
  Campaign,
  Claim,
  ClaimsResponse,
  Correction,
  Coverage,
  DeviceList,
  EnrolmentCode,
  FeatureCollection,
  HouseholdProps,
  ImportResponse,
  LineError,
  LoginResponse,
  Messages,
  NewClaimRequest,
  NewUser,
  NewUserResponse,
  PasswordCode,
  Person,
  Photo,
  Progress,
  Revisit,
  Street,
  Team,
  User,
  UserPatch,
  VenueDto,
  Visit,
  VisitHistory,
  VolunteerDay,
} from "./types";
import type { ExportKind, HexagonProps } from "./filters";

const TOKEN_KEY = "doorstep.dashboard.token";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly messages: Messages | null = null,
    readonly field: string | null = null,
    /** Seconds to wait (429), from Retry-After. */
    readonly retryAfter: number | null = null,
    /** For a file refused whole: every line that does not hold. */
    readonly lines: LineError[] = [],
  ) {
    super(message);
  }
}

/** What to tell the user about a failure, in the current language. */
export function errorText(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.messages) return pick(e.messages);
    if (e.status === 0) return t("app.network");
    return e.message || t("app.server_error", { status: String(e.status) });
  }
  return e instanceof Error && e.message ? e.message : t("app.network");
}

let unauthorized: (() => void) | null = null;

/** Called (once per failing call) when the server says the session is gone. */
export function onUnauthorized(fn: (() => void) | null): void {
  unauthorized = fn;
}

export function getToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(token: string | null): void {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage disabled: the session ends with the page */
  }
}

function parseRetryAfter(v: string | null): number | null {
  if (!v) return null;
  const n = Number(v.trim());
  if (Number.isFinite(n)) return Math.max(0, Math.ceil(n));
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/** `body` is sent as JSON; `raw` as it is (a file), with `contentType`. */
type Options = { method?: string; body?: unknown; raw?: Blob; contentType?: string; auth?: boolean; accept?: string };

async function send(path: string, opts: Options = {}): Promise<Response> {
  const headers: Record<string, string> = { Accept: opts.accept ?? "application/json", "Accept-Language": getLang() };
  if (opts.body !== undefined) headers["Content-Type"] = "application/json";
  else if (opts.raw !== undefined) headers["Content-Type"] = opts.contentType || "application/octet-stream";
  const auth = opts.auth ?? true;
  if (auth) {
    const token = getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
  }
  let res: Response;
  try {
    res = await fetch(path, {
      method: opts.method ?? "GET",
      headers,
      body: opts.body === undefined ? opts.raw : JSON.stringify(opts.body),
      credentials: "same-origin",
    });
  } catch (e) {
    throw new ApiError(0, "network", e instanceof Error ? e.message : String(e));
  }
  if (res.ok) return res;
  let body: Partial<ApiErrorBody> | null = null;
  try {
    body = (await res.json()) as ApiErrorBody;
  } catch {
    body = null;
  }
  const err = body?.error;
  const error = new ApiError(
    res.status,
    err?.code ?? `http_${res.status}`,
    err?.message ?? `HTTP ${res.status}`,
    err?.messages ?? null,
    err?.field ?? null,
    parseRetryAfter(res.headers.get("Retry-After")),
    err?.lines ?? [],
  );
  if (res.status === 401 && auth) {
    setToken(null);
    unauthorized?.();
  }
  throw error;
}

async function json<T>(path: string, opts: Options = {}): Promise<T> {
  const res = await send(path, opts);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

function q(params: Record<string, string | number | boolean | null | undefined>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== "") u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : "";
}

const V1 = "/api/v1";

export async function login(username: string, password: string): Promise<LoginResponse> {
  const r = await json<LoginResponse>(`${V1}/auth/login`, { method: "POST", body: { username, password }, auth: false });
  setToken(r.token);
  return r;
}

export async function logout(): Promise<void> {
  try {
    if (getToken()) await send(`${V1}/auth/logout`, { method: "POST" });
  } finally {
    setToken(null);
  }
}

export const me = () => json<User>(`${V1}/auth/me`);

// People (issue 19): accounts, password codes, enrolment codes.
export const users = (area: string) => json<Person[]>(`${V1}/users${q({ area })}`);
export const createUser = (req: NewUser) => json<NewUserResponse>(`${V1}/users`, { method: "POST", body: req });
export const updateUser = (username: string, patch: UserPatch) =>
  json<Person>(`${V1}/users/${encodeURIComponent(username)}`, { method: "PATCH", body: patch });
export const passwordCode = (username: string) =>
  json<PasswordCode>(`${V1}/users/${encodeURIComponent(username)}/reset`, { method: "POST" });
export const enrolmentCode = (volunteer: string) => json<EnrolmentCode>(`${V1}/enrolments`, { method: "POST", body: { volunteer } });
/** Adds everyone a roster file (CSV or XLSX) lists, or no one (`ApiError.lines` says why). */
export const importUsers = (file: Blob, contentType: string) =>
  json<ImportResponse>(`${V1}/users/import`, { method: "POST", raw: file, contentType: contentType || "text/csv" });
/** The printable page of enrolment cards for an area (or one team of it): fresh codes. */
export async function enrolmentCards(area: string, team: string | null): Promise<string> {
  const res = await send(`${V1}/enrolments/cards${q({ area, team })}`, { accept: "text/html" });
  return res.text();
}
/** Sets a new password with a one-time code; no session needed. */
export const resetPassword = (username: string, code: string, newPassword: string) =>
  json<void>(`${V1}/auth/reset`, { method: "POST", body: { username, code, new_password: newPassword }, auth: false });
export const campaign = () => json<Campaign>(`${V1}/campaign`, { auth: false });
/** The base map the server holds (404 `no_basemap` when IT has loaded none). */
export const basemap = () => json<BasemapInfo>(`${V1}/basemap`);
/** Where the base map's bytes are read by range, and the headers that authorise it. */
export function basemapSource(): { url: string; headers: Record<string, string> } {
  const token = getToken();
  return { url: `${location.origin}${V1}/basemap.pmtiles`, headers: token ? { Authorization: `Bearer ${token}` } : {} };
}
export const areas = (parent: string | null) => json<Area[]>(`${V1}/areas${q({ parent })}`);
export const coverage = (area: string) => json<Coverage>(`${V1}/coverage${q({ area })}`);
export const progress = (area: string, from: string | null, to: string | null) =>
  json<Progress>(`${V1}/progress${q({ area, from, to })}`);
export const mapAreas = (parent: string, filters: Record<string, string> = {}) =>
  json<FeatureCollection<AreaProps>>(`${V1}/map/areas${q({ parent, ...filters })}`);
export const mapHouseholds = (area: string, filters: Record<string, string> = {}) =>
  json<FeatureCollection<HouseholdProps>>(`${V1}/map/households${q({ area, ...filters })}`);
export const venues = (area: string) => json<VenueDto[]>(`${V1}/venues${q({ area })}`);
export const revisits = (area: string) => json<Revisit[]>(`${V1}/revisits${q({ area })}`);
export const householdVisits = (id: string) => json<VisitHistory[]>(`${V1}/households/${encodeURIComponent(id)}/visits`);
export const sendBack = (visitId: string, comment: string, revision: number) =>
  json<Correction>(`${V1}/visits/${encodeURIComponent(visitId)}/send-back`, { method: "POST", body: { comment, revision } });
export const flaggedVisits = (area: string) => json<Visit[]>(`${V1}/visits${q({ area, flagged: true, limit: 100 })}`);
export const volunteerDays = (area: string, from: string | null, to: string | null) =>
  json<VolunteerDay[]>(`${V1}/volunteers/daily${q({ area, from, to })}`);
/** A leader revokes a lost phone, saying why (the phone shows it before erasing itself). */
export const revokeDevice = (id: string, reason: string) =>
  json<void>(`${V1}/devices/${encodeURIComponent(id)}/revoke`, { method: "POST", body: reason ? { reason } : {} });
export const devices = (area: string, staleHours: number | null) => json<DeviceList>(`${V1}/devices${q({ area, stale_hours: staleHours })}`);

/** Photos of an area's subtree, on a day and/or of one target (a visit). */
export const photos = (area: string, day: string | null, targetKind: string | null = null, targetId: string | null = null) =>
  json<Photo[]>(`${V1}/photos${q({ area, day, target_kind: targetKind, target_id: targetId })}`);

/** A photo's JPEG (it needs the bearer token, so it is fetched, not linked). */
export async function photoImage(sha256: string): Promise<Blob> {
  const res = await send(`${V1}/photos/${encodeURIComponent(sha256)}/image`, { accept: "image/jpeg" });
  return res.blob();
}

/** The daily workbook as a blob, with the file name the server suggests. */
export async function dailyReport(area: string, date: string): Promise<{ blob: Blob; filename: string }> {
  const res = await send(`${V1}/reports/daily.xlsx${q({ area, date })}`, {
    accept: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  });
  const cd = res.headers.get("Content-Disposition") ?? "";
  const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(cd);
  const filename = m ? decodeURIComponent(m[1]) : `doorstep-${area}-${date}.xlsx`;
  return { blob: await res.blob(), filename };
}

// Hexagons, teams for the filter, exports (see filters.ts).
export const mapHexagons = (area: string, res: number, filters: Record<string, string> = {}) =>
  json<FeatureCollection<HexagonProps>>(`${V1}/map/hexagons${q({ area, res, ...filters })}`);
export const teams = () => json<Team[]>(`${V1}/teams`);
export const createTeam = (name: string, areaCode: string, leader: string | null) =>
  json<Team>(`${V1}/teams`, { method: "POST", body: leader ? { name, area_code: areaCode, leader } : { name, area_code: areaCode } });
/** Assigns a volunteer an area in a team (adding them to it). */
export const assign = (team: string, volunteer: string, areaCode: string) =>
  json<void>(`${V1}/assignments`, { method: "POST", body: { team, volunteer, area_code: areaCode } });
export const unassign = (team: string, volunteer: string, areaCode: string) =>
  json<void>(`${V1}/assignments${q({ team, volunteer, area_code: areaCode })}`, { method: "DELETE" });
/** Takes a volunteer out of a team; `teamArea` tells teams of one name apart. */
export const removeMember = (team: string, volunteer: string, teamArea: string) =>
  json<void>(`${V1}/teams/members${q({ team, volunteer, area_code: teamArea })}`, { method: "DELETE" });

// Claims: who covers which doors (see claims.ts).
export const claims = (area: string) => json<ClaimsResponse>(`${V1}/claims${q({ area })}`);
export const streets = (area: string) => json<Street[]>(`${V1}/streets${q({ area })}`);
export const giveClaim = (req: NewClaimRequest) => json<Claim>(`${V1}/claims`, { method: "POST", body: req });
export const releaseClaim = (id: string) => json<void>(`${V1}/claims/${encodeURIComponent(id)}`, { method: "DELETE" });

/** An export (CSV or GeoJSON) as a blob, with the file name the server suggests. */
export async function exportFile(kind: ExportKind, area: string, filters: Record<string, string>): Promise<{ blob: Blob; filename: string }> {
  const accept = kind.format === "csv" ? "text/csv" : "application/geo+json";
  const res = await send(`${V1}/exports/${kind.what}.${kind.format}${q({ area, ...filters })}`, { accept });
  const cd = res.headers.get("Content-Disposition") ?? "";
  const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(cd);
  const filename = m ? decodeURIComponent(m[1]) : `doorstep-${kind.what}-${area}.${kind.format}`;
  return { blob: await res.blob(), filename };
}
