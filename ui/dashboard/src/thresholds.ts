// Coverage bands: an area is red below the low threshold, amber below the high one, green from
// there; grey when it has no known household. The thresholds are percentages: the campaign's
// (coverage_bands), editable in the map's settings panel and remembered in localStorage. The map's fill expression and the tables'
// swatches both come from here, so they always agree.

export type Thresholds = { low: number; high: number };
export type Band = "red" | "amber" | "green" | "none";

export const DEFAULT_THRESHOLDS: Thresholds = { low: 30, high: 70 };

export const BAND_COLORS: Record<Band, string> = {
  red: "#d7263d",
  amber: "#f5a300",
  green: "#1b9e4b",
  none: "#c4c4c4",
};

const STORAGE_KEY = "doorstep.dashboard.thresholds";

export function validThresholds(th: Thresholds): boolean {
  const ok = (n: number) => typeof n === "number" && Number.isFinite(n) && n >= 0 && n <= 100;
  return ok(th.low) && ok(th.high) && th.low <= th.high;
}

/** The thresholds saved in this browser, else `fallback` (the campaign's, else the defaults). */
export function loadThresholds(fallback: Thresholds = DEFAULT_THRESHOLDS): Thresholds {
  try {
    const raw = localStorage.getItem(STORAGE_KEY);
    if (raw) {
      const v = JSON.parse(raw) as Thresholds;
      const th = { low: Number(v.low), high: Number(v.high) };
      if (validThresholds(th)) return th;
    }
  } catch {
    /* unreadable: defaults */
  }
  return validThresholds(fallback) ? { ...fallback } : { ...DEFAULT_THRESHOLDS };
}

export function saveThresholds(th: Thresholds | null): void {
  try {
    if (th) localStorage.setItem(STORAGE_KEY, JSON.stringify(th));
    else localStorage.removeItem(STORAGE_KEY);
  } catch {
    /* private mode: for this page only */
  }
}

/** The band of a coverage rate (0..1, or null when nothing is known). */
export function coverageBand(rate: number | null | undefined, th: Thresholds): Band {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return "none";
  if (rate < th.low / 100) return "red";
  if (rate < th.high / 100) return "amber";
  return "green";
}

export function coverageColor(rate: number | null | undefined, th: Thresholds): string {
  return BAND_COLORS[coverageBand(rate, th)];
}

/**
 * The MapLibre expression for an area's fill, the same bands as coverageBand. (Typed loosely so
 * that this module does not load MapLibre.)
 */
export function coverageFillExpression(th: Thresholds, property = "coverage_rate"): unknown[] {
  const rate = ["get", property];
  const lo = th.low / 100;
  const hi = th.high / 100;
  // A step's stops must increase strictly: equal thresholds leave no amber band.
  const step = lo < hi ? ["step", rate, BAND_COLORS.red, lo, BAND_COLORS.amber, hi, BAND_COLORS.green] : ["step", rate, BAND_COLORS.red, lo, BAND_COLORS.green];
  return ["case", ["==", ["typeof", rate], "number"], step, BAND_COLORS.none];
}
