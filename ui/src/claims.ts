// Who covers which doors ("no door knocked twice"), as the household lists show it. The phone
// judges each household's holder (crates/device, store/claims.rs); here it is only shown.

import { h } from "./dom";
import { fmtDayMonth, fmtTime, t } from "./i18n";
import type { Household } from "./types";

/** "14:30 30/11" in the campaign's time zone. */
export function untilText(ms: number, offsetMin: number): string {
  const iso = new Date(ms).toISOString();
  return `${fmtTime(iso, offsetMin)} ${fmtDayMonth(iso, offsetMin)}`;
}

/** The holder's name as the volunteer reads it. */
export function holderName(hh: Pick<Household, "holder">): string {
  return hh.holder?.volunteer || t("claim.someone");
}

/** A leader gave this household (or its street) to this volunteer. */
export function assignedToMe(hh: Pick<Household, "holder" | "taken">): boolean {
  return !hh.taken && !!hh.holder && hh.holder.kind !== "visit";
}

/** The chip's text: "Lan đang phụ trách · đến 14:30 30/11", "Giao cho bạn", or null. */
export function claimText(hh: Pick<Household, "holder" | "taken">, offsetMin: number): string | null {
  if (hh.taken && hh.holder) return t("claim.taken", { name: holderName(hh), until: untilText(hh.holder.until_ms, offsetMin) });
  if (assignedToMe(hh)) return t("claim.assigned");
  return null;
}

export function claimChip(hh: Household, offsetMin: number): HTMLElement | null {
  const text = claimText(hh, offsetMin);
  if (!text) return null;
  return h("span", { class: `chip ${hh.taken ? "taken" : "assigned"}`, testid: `claim-${hh.id}` }, text);
}

/** Free households (and this volunteer's) first, those another volunteer holds after; the order
 * within each is kept. */
export function freeFirst<T extends Pick<Household, "taken">>(list: T[]): T[] {
  return [...list].sort((a, b) => Number(!!a.taken) - Number(!!b.taken));
}
