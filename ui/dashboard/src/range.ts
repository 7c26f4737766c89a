// The range of days the dashboard opens on (issue 19, item 7): the days that hold the campaign's
// data, not "the last 60 days" (the 2020 demo opened on an empty range). The API has no "first and
// last day with visits", so the first progress read asks from the campaign's first day (or ten
// years back) to today, and the range is narrowed to the days its curve has visits on.

import type { Day } from "./types";

/** The longest range opened by default: what /api/v1/volunteers/daily accepts (366 days). */
export const MAX_SPAN_DAYS = 365;

export function addDays(day: string, n: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

export type Range = { from: string; to: string };

/** How far back the first progress read looks when the campaign names no first day. */
export const PROBE_YEARS = 10;

/** What the first progress read asks for: from the campaign's first day (however long ago: the
 * curve only has the days with visits) or ten years back, to today. */
export function probeRange(today: string, campaignStart: string | null): Range {
  const from = campaignStart && campaignStart <= today ? campaignStart : addDays(today, -365 * PROBE_YEARS);
  return { from, to: today };
}

/**
 * The range to open on, from the curve the probe read: its first to its last day with visits
 * (never after today; a year at most, ending on the last); without visits, from the campaign's
 * first day (or 60 days back) to today.
 */
export function dataRange(days: Day[], today: string, campaignStart: string | null): Range {
  const active = days
    .filter((d) => /^\d{4}-\d{2}-\d{2}$/.test(d.date) && d.date <= today && (d.visits > 0 || d.households > 0))
    .map((d) => d.date)
    .sort();
  if (active.length === 0) {
    const from = campaignStart && campaignStart <= today && campaignStart >= addDays(today, -MAX_SPAN_DAYS) ? campaignStart : addDays(today, -60);
    return { from, to: today };
  }
  const to = active[active.length - 1];
  const first = active[0];
  const earliest = addDays(to, -MAX_SPAN_DAYS);
  return { from: first < earliest ? earliest : first, to };
}
