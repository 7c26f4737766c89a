// The only module that talks to the back end (the Tauri commands in src-tauri).
//
// In the app, Tauri injects `window.__TAURI__` (app.withGlobalTauri = true) before any page script
// runs. When it is absent (vitest, `vite dev` in a browser) an in-memory fake back end with the same
// commands is used instead, so the UI can be built and tested without Rust.

import type {
  Area,
  Campaign,
  Correction,
  EnrolLink,
  ErrorBody,
  Fix,
  Household,
  MyClaim,
  LocalPhoto,
  LocationWarning,
  PhotoDraft,
  Rejected,
  Settings,
  RejectedVenueVisit,
  Status,
  TargetKind,
  TodayVisit,
  Venue,
  VenueVisitDraft,
  VisitDraft,
} from "./types";

/** What a back end must offer: Tauri's invoke and listen, or the fake's. */
export interface Backend {
  readonly kind: "tauri" | "fake";
  invoke(cmd: string, args?: Record<string, unknown>): Promise<unknown>;
  /** Calls `cb` with each event's payload; resolves to a function that stops listening. */
  listen(event: string, cb: (payload: unknown) => void): Promise<() => void>;
}

type TauriGlobal = {
  core: { invoke(cmd: string, args?: Record<string, unknown>): Promise<unknown>; convertFileSrc?(path: string, protocol?: string): string };
  event: { listen(event: string, cb: (e: { payload: unknown }) => void): Promise<() => void> };
};

function tauriGlobal(): TauriGlobal | null {
  const g = (globalThis as unknown as { __TAURI__?: Partial<TauriGlobal> }).__TAURI__;
  if (g && g.core && typeof g.core.invoke === "function" && g.event && typeof g.event.listen === "function") {
    return g as TauriGlobal;
  }
  return null;
}

function tauriBackend(g: TauriGlobal): Backend {
  return {
    kind: "tauri",
    invoke: (cmd, args) => g.core.invoke(cmd, args ?? {}),
    listen: (event, cb) => g.event.listen(event, (e) => cb(e.payload)),
  };
}

let backend: Backend | null = null;
let pendingFake: Promise<Backend> | null = null;

async function getBackend(): Promise<Backend> {
  if (backend) return backend;
  const g = tauriGlobal();
  if (g) {
    backend = tauriBackend(g);
    return backend;
  }
  // Loaded on demand so that the fake's sample data is not in the app's main chunk.
  pendingFake ??= import("./fake").then((m) => {
    backend ??= m.createFakeBackend({ sample: true, fix: m.fixFromQuery(globalThis.location?.search) });
    return backend;
  });
  return pendingFake;
}

/** For tests: use this back end (a fake made with particular data, usually). */
export function setBackend(b: Backend | null): void {
  backend = b;
  pendingFake = null;
}

/** True inside the Tauri app. */
export function inTauri(): boolean {
  return tauriGlobal() !== null;
}

/** A URL the web view can load for a file path on the device (Tauri's asset protocol), or the input. */
export function fileUrl(pathOrUrl: string): string {
  const s = pathOrUrl.trim();
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) return s; // already a URL
  const g = tauriGlobal();
  if (g?.core.convertFileSrc && (s.startsWith("/") || /^[A-Za-z]:[\\/]/.test(s))) return g.core.convertFileSrc(s);
  return s;
}

export function isErrorBody(e: unknown): e is ErrorBody {
  if (!e || typeof e !== "object") return false;
  const o = e as Record<string, unknown>;
  const m = o.messages as Record<string, unknown> | undefined;
  return typeof o.code === "string" && !!m && typeof m.vi === "string" && typeof m.en === "string";
}

/** Whatever a command rejected with, as an ErrorBody (Tauri itself may reject with a bare string). */
export function toErrorBody(e: unknown): ErrorBody {
  if (isErrorBody(e)) return e;
  if (e && typeof e === "object" && isErrorBody((e as { error?: unknown }).error)) {
    return (e as { error: ErrorBody }).error;
  }
  const text = e instanceof Error ? e.message : typeof e === "string" ? e : JSON.stringify(e);
  return {
    code: "internal",
    message: text,
    field: null,
    messages: { vi: `Lỗi trong ứng dụng: ${text}`, en: `Error in the app: ${text}` },
  };
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  const b = await getBackend();
  try {
    return (await b.invoke(cmd, args)) as T;
  } catch (e) {
    throw toErrorBody(e);
  }
}

export const api = {
  getStatus: () => call<Status>("get_status"),
  enrol: (server: string, code: string, ca?: string | null) => call<Status>("enrol", { server, code, ca: ca || null }),
  getCampaign: () => call<Campaign>("get_campaign"),
  getAreas: () => call<Area[]>("get_areas"),
  /** The codes of the areas the volunteer works in (assignments), as the server last said. */
  getWorkAreas: () => call<string[]>("get_work_areas"),
  getHouseholds: (area: string | null) => call<Household[]>("get_households", { area }),
  getNearby: (lat: number, lon: number, limit: number) => call<Household[]>("get_nearby", { lat, lon, limit }),
  getRevisits: () => call<Household[]>("get_revisits"),
  /** The leaders' claims given to this volunteer and in force ("Assigned to you"). */
  getMyClaims: () => call<MyClaim[]>("get_my_claims"),
  getToday: () => call<TodayVisit[]>("get_today"),
  getRejected: () => call<Rejected[]>("get_rejected"),
  locate: () => call<Fix>("locate"),
  checkLocation: (lat: number, lon: number, accuracyM: number | null, areaCode: string) =>
    call<LocationWarning[]>("check_location", { lat, lon, accuracyM, areaCode }),
  recordVisit: (draft: VisitDraft) => call<{ id: string }>("record_visit", { draft }),
  fixRejected: (deviceSeq: number, draft: VisitDraft) => call<{ id: string }>("fix_rejected", { deviceSeq, draft }),
  getCorrections: () => call<Correction[]>("get_corrections"),
  correctVisit: (correctionId: string, draft: VisitDraft) => call<{ id: string }>("correct_visit", { correctionId, draft }),
  recordVenueVisit: (draft: VenueVisitDraft) => call<{ id: string }>("record_venue_visit", { draft }),
  getVenues: (area: string | null) => call<Venue[]>("get_venues", { area }),
  getRejectedVenueVisits: () => call<RejectedVenueVisit[]>("get_rejected_venue_visits"),
  /** `picture` is the file's bytes in base64 (the IPC carries JSON only on Android). */
  attachPhoto: (draft: PhotoDraft, picture: string) => call<LocalPhoto>("attach_photo", { draft, picture }),
  getPhotos: (targetKind: TargetKind, targetId: string) => call<LocalPhoto[]>("get_photos", { targetKind, targetId }),
  getDailyReportPhotos: (day: string) => call<LocalPhoto[]>("get_daily_report_photos", { day }),
  /** The stored JPEG, base64. */
  getPhotoImage: (id: string) => call<string>("get_photo_image", { id }),
  syncNow: () => call<Status>("sync_now"),
  getSettings: () => call<Settings>("get_settings"),
  setSettings: (settings: Settings) => call<Settings>("set_settings", { settings }),
  /** An enrolment link the system handed to the app, once; null when none waits. */
  takeEnrolLink: () => call<EnrolLink | null>("take_enrol_link"),
  /** Each enrolment link the system hands over while the app runs (then take it). */
  onEnrolLink: async (cb: () => void): Promise<() => void> => {
    const b = await getBackend();
    return b.listen("enrol-link", () => cb());
  },
  /** Every Status the back end announces (sync start, progress and end, a visit saved, enrolment, network). */
  onStatus: async (cb: (s: Status) => void): Promise<() => void> => {
    const b = await getBackend();
    return b.listen("status", (p) => cb(p as Status));
  },
};

export type Api = typeof api;
