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

// ---------------------------------------------------------------- distances on the ground

export type Point = { lat: number; lon: number };

/** Metres between two points (haversine; plenty for a street). */
export function distanceM(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const r = 6_371_008.8;
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLon = (lon2 - lon1) * rad;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * r * Math.asin(Math.min(1, Math.sqrt(a)));
}

/** The eight compass points, clockwise from north. */
export const COMPASS = ["n", "ne", "e", "se", "s", "sw", "w", "nw"] as const;
export type Compass = (typeof COMPASS)[number];

/** Which way to walk from `from` to `to`: the nearest of the eight compass points. */
export function compass(from: Point, to: Point): Compass {
  const rad = Math.PI / 180;
  const y = Math.sin((to.lon - from.lon) * rad) * Math.cos(to.lat * rad);
  const x = Math.cos(from.lat * rad) * Math.sin(to.lat * rad) - Math.sin(from.lat * rad) * Math.cos(to.lat * rad) * Math.cos((to.lon - from.lon) * rad);
  const deg = ((Math.atan2(y, x) / rad) + 360) % 360;
  return COMPASS[Math.round(deg / 45) % 8];
}

/**
 * A walking order through places: from where the volunteer stands to the nearest, then from there
 * to the nearest left, and so on. Places without a position keep their order, at the end. Greedy
 * rather than optimal: a street's dozen doors, and it is what a person would do.
 */
export function walkOrder<T extends { lat: number | null; lon: number | null }>(here: Point, places: T[]): T[] {
  const placed = places.filter((p) => typeof p.lat === "number" && typeof p.lon === "number");
  const rest = places.filter((p) => !(typeof p.lat === "number" && typeof p.lon === "number"));
  const out: T[] = [];
  let at = here;
  while (placed.length > 0) {
    let best = 0;
    let bestD = Infinity;
    placed.forEach((p, i) => {
      const d = distanceM(at.lat, at.lon, p.lat as number, p.lon as number);
      if (d < bestD) {
        bestD = d;
        best = i;
      }
    });
    const [next] = placed.splice(best, 1);
    out.push(next);
    at = { lat: next.lat as number, lon: next.lon as number };
  }
  return [...out, ...rest];
}
