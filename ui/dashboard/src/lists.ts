// The walk list of revisits (printable), the flagged visits and the daily report download.

import { personCell } from "./person";
import { h } from "./dom";
import { fmtDateTime, fmtDay, fmtNumber, t, type Key } from "./i18n";
import { campaignOffset, colorOf, outcomeLabel } from "./outcomes";
import type { Revisit, Visit } from "./types";
import { compass, distanceM } from "../../src/location";

export const MAX_REVISIT_ROWS = 1000;
/** A household without an address is placed beside one that has one this close (metres). */
const LANDMARK_WITHIN_M = 100;

/**
 * Where a household without an address is, so that its row on the printed list is not the same
 * as every other such row: beside the nearest household of the list that has an address (within
 * 100 m: "cạnh Số 12, đường Nguyễn Du, 8 m về phía Bắc"), else its coordinates, which any phone's
 * map finds. Nothing without a position either.
 */
export function whereUnaddressed(r: Revisit, list: Revisit[]): string | null {
  if (typeof r.lat !== "number" || typeof r.lon !== "number") return null;
  const here = { lat: r.lat, lon: r.lon };
  let best: { m: number; other: Revisit } | null = null;
  for (const o of list) {
    if (!o.address || typeof o.lat !== "number" || typeof o.lon !== "number" || o.id === r.id) continue;
    const m = distanceM(o.lat, o.lon, r.lat, r.lon);
    if (m <= LANDMARK_WITHIN_M && (!best || m < best.m)) best = { m, other: o };
  }
  if (best) {
    const from = { lat: best.other.lat as number, lon: best.other.lon as number };
    const m = Math.round(best.m);
    return m < 3
      ? t("revisits.beside", { address: best.other.address as string })
      : t("revisits.near", { address: best.other.address as string, m, dir: t(`dir.${compass(from, here)}` as Key) });
  }
  return t("revisits.at", { lat: r.lat.toFixed(5), lon: r.lon.toFixed(5) });
}

export function renderRevisits(list: Revisit[], printedOn: string): HTMLElement {
  const wrap = h("div", { class: "revisits", testid: "revisits" });
  wrap.append(h("p", { class: "print-only print-title" }, t("revisits.printed", { date: fmtDay(printedOn) })));
  if (list.length === 0) {
    wrap.append(h("p", { class: "muted" }, t("revisits.empty")));
    return wrap;
  }
  wrap.append(h("p", null, t("revisits.count", { n: list.length })));
  const shown = list.slice(0, MAX_REVISIT_ROWS);
  if (shown.length < list.length) wrap.append(h("p", { class: "note" }, t("revisits.more", { shown: shown.length, n: list.length })));
  wrap.append(
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "data walk" },
        h(
          "thead",
          null,
          h(
            "tr",
            null,
            h("th", { scope: "col", class: "num" }, "#"),
            h("th", { scope: "col" }, t("revisits.area")),
            h("th", { scope: "col" }, t("revisits.address")),
            h("th", { scope: "col" }, t("revisits.outcome")),
            h("th", { scope: "col", class: "num" }, t("revisits.visits")),
            h("th", { scope: "col", class: "tick" }, t("revisits.done")),
          ),
        ),
        h(
          "tbody",
          null,
          shown.map((r, i) =>
            h(
              "tr",
              { testid: `revisit-${r.id}` },
              h("td", { class: "num" }, String(i + 1)),
              h("td", null, r.area_name || r.area_code),
              h("td", null, r.address || [t("popup.no_address"), " ", h("span", { class: "muted", testid: `revisit-where-${r.id}` }, whereUnaddressed(r, list))]),
              h("td", null, h("span", { class: "dot", style: { background: colorOf(r.latest_outcome) }, "aria-hidden": "true" }), outcomeLabel(r.latest_outcome)),
              h("td", { class: "num" }, fmtNumber(r.visits)),
              h("td", { class: "tick" }, h("span", { class: "box", "aria-hidden": "true" })),
            ),
          ),
        ),
      ),
    ),
  );
  return wrap;
}

/** The flags the server sets (doorstep_domain::quality::Flag), each explained in i18n.ts. */
export const KNOWN_FLAGS = ["outside_assignment", "other_volunteer", "poor_accuracy", "far_from_household", "outside_area", "implausible_speed", "burst", "revoked_device", "overlap", "household_in_other_area"];

export function flagText(flag: string): string {
  return KNOWN_FLAGS.includes(flag) ? t(`flag.${flag}` as Key) : t("flag.unknown", { code: flag });
}

/** `action`: what a leader may do with a visit's household (give it out), in the last column. */
export function renderFlagged(list: Visit[], areaNames: Map<string, string>, action?: (v: Visit) => HTMLElement): HTMLElement {
  const wrap = h("div", { class: "flagged", testid: "flagged" });
  if (list.length === 0) {
    wrap.append(h("p", { class: "muted" }, t("flagged.empty")));
    return wrap;
  }
  const off = campaignOffset();
  wrap.append(
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "data" },
        h(
          "thead",
          null,
          h(
            "tr",
            null,
            h("th", { scope: "col" }, t("flagged.time")),
            h("th", { scope: "col" }, t("flagged.area")),
            h("th", { scope: "col" }, t("flagged.volunteer")),
            h("th", { scope: "col" }, t("flagged.outcome")),
            h("th", { scope: "col", class: "num" }, t("flagged.accuracy")),
            h("th", { scope: "col" }, t("flagged.why")),
            action ? h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, t("claims.col_actions"))) : null,
          ),
        ),
        h(
          "tbody",
          null,
          list.map((v) =>
            h(
              "tr",
              { testid: `flagged-${v.id}` },
              h("td", null, fmtDateTime(v.visited_at, off)),
              h("td", null, areaNames.get(v.area_code) ?? v.area_code),
              h("td", null, personCell(v.volunteer_name, null, v.volunteer_id)),
              h("td", null, h("span", { class: "dot", style: { background: colorOf(v.outcome) }, "aria-hidden": "true" }), outcomeLabel(v.outcome)),
              h("td", { class: "num" }, v.accuracy_m === null || v.accuracy_m === undefined ? t("app.none") : t("flagged.meters", { n: Math.round(v.accuracy_m) })),
              h("td", null, h("ul", { class: "flags" }, v.flags.map((f) => h("li", { "data-flag": f }, flagText(f))))),
              action ? h("td", null, action(v)) : null,
            ),
          ),
        ),
      ),
    ),
  );
  return wrap;
}

/** Saves a blob under a file name: an object URL and a click on a temporary <a download>. */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: filename, style: { display: "none" } });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
