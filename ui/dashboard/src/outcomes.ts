// Outcome labels and colours come from the campaign (data); the i18n table has the Bluezone
// campaign's labels as a fallback for when /campaign could not be read.

import { outcomeColor, UNVISITED_COLOR } from "./colors";
import { DICTIONARIES, getLang, pick, t, type Key } from "./i18n";
import { DEFAULT_THRESHOLDS, type Thresholds } from "./thresholds";
import type { Campaign } from "./types";

let campaign: Campaign | null = null;

export function setCampaign(c: Campaign | null): void {
  campaign = c;
}

export function getCampaign(): Campaign | null {
  return campaign;
}

const FALLBACK = ["installed_now", "already_installed", "refused", "not_home", "no_smartphone", "unsupported_phone", "partial"];

/** The campaign's outcome codes, in its order. */
export function outcomeCodes(): string[] {
  return campaign?.outcomes.length ? campaign.outcomes.map((o) => o.code) : FALLBACK;
}

export function outcomeLabel(code: string | null | undefined): string {
  if (!code) return t("map.unvisited");
  const def = campaign?.outcomes.find((o) => o.code === code);
  if (def) return pick(def.label);
  const key = `outcome.${code}` as Key;
  return key in DICTIONARIES[getLang()] ? t(key) : code;
}

export function colorOf(code: string | null | undefined): string {
  if (!code) return UNVISITED_COLOR;
  const i = outcomeCodes().indexOf(code);
  return outcomeColor(code, i < 0 ? 0 : i);
}

/** The campaign's time zone (minutes east of UTC); Vietnam's when unknown. */
export function campaignOffset(): number {
  return typeof campaign?.utc_offset_minutes === "number" ? campaign.utc_offset_minutes : 420;
}

export function targetApp(): string {
  return campaign?.target_app || "Bluezone";
}

/** The coverage bands the campaign sets; the defaults when it sets none. */
export function campaignThresholds(): Thresholds {
  const b = campaign?.coverage_bands;
  if (b && Number.isFinite(b.low_percent) && Number.isFinite(b.high_percent)) return { low: b.low_percent, high: b.high_percent };
  return { ...DEFAULT_THRESHOLDS };
}

const isDay = (s: unknown): s is string => typeof s === "string" && /^\d{4}-\d{2}-\d{2}$/.test(s);

/** The campaign's first day ("YYYY-MM-DD"), when its file names one (`starts_on`). */
export function campaignStart(): string | null {
  const s = campaign?.starts_on;
  return isDay(s) ? s : null;
}

/** The campaign's last day ("YYYY-MM-DD"), when its file names one (`ends_on`). */
export function campaignEnd(): string | null {
  const s = campaign?.ends_on;
  return isDay(s) ? s : null;
}
