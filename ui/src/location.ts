// Where the volunteer stands. The Rust side answers first (the phone's GPS, or a preset position);
// when it says "webview", the web view's own geolocation is asked (10 s, high accuracy); when that
// fails too there is no fix, and the volunteer may pin the household on the map or save without.

import type { Api } from "./api";
import type { Fix, Location } from "./types";

export const WEBVIEW_TIMEOUT_MS = 10_000;

function webviewFix(timeoutMs: number): Promise<Fix> {
  const none: Fix = { source: "none", lat: null, lon: null, accuracy_m: null };
  const geo = typeof navigator !== "undefined" ? navigator.geolocation : undefined;
  if (!geo || typeof geo.getCurrentPosition !== "function") return Promise.resolve(none);
  return new Promise((resolve) => {
    let done = false;
    const finish = (f: Fix) => {
      if (!done) {
        done = true;
        resolve(f);
      }
    };
    // Some web views never call back at all: do not wait past the timeout either way.
    const timer = setTimeout(() => finish(none), timeoutMs + 1000);
    try {
      geo.getCurrentPosition(
        (p) => {
          clearTimeout(timer);
          finish({ source: "webview", lat: p.coords.latitude, lon: p.coords.longitude, accuracy_m: p.coords.accuracy ?? null });
        },
        () => {
          clearTimeout(timer);
          finish(none);
        },
        { enableHighAccuracy: true, timeout: timeoutMs, maximumAge: 15_000 },
      );
    } catch {
      clearTimeout(timer);
      finish(none);
    }
  });
}

function hasPoint(f: Fix): boolean {
  return typeof f.lat === "number" && typeof f.lon === "number" && Number.isFinite(f.lat) && Number.isFinite(f.lon);
}

/** A fix from the Rust provider, else from the web view, else none. Never rejects. */
export async function locate(api: Api, timeoutMs = WEBVIEW_TIMEOUT_MS): Promise<Fix> {
  let fix: Fix;
  try {
    fix = await api.locate();
  } catch {
    fix = { source: "webview", lat: null, lon: null, accuracy_m: null };
  }
  if (fix.source === "webview" && !hasPoint(fix)) fix = await webviewFix(timeoutMs);
  if (fix.source !== "none" && !hasPoint(fix)) return { source: "none", lat: null, lon: null, accuracy_m: null };
  return fix;
}

/**
 * The location a visit records for a fix. A GPS-like fix (the phone's, the web view's or a preset
 * one) is "gps" when it carries a positive accuracy, which the server requires of GPS points;
 * without one it can only be recorded as a point placed by hand ("manual").
 */
export function fixToLocation(fix: Fix): Location {
  if (fix.source === "none" || !hasPoint(fix)) return { source: "none" };
  const lat = fix.lat as number;
  const lon = fix.lon as number;
  if (typeof fix.accuracy_m === "number" && fix.accuracy_m > 0) {
    return { source: "gps", lat, lon, accuracy_m: Math.round(fix.accuracy_m * 10) / 10 };
  }
  return { source: "manual", lat, lon };
}
