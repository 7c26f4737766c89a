// Revisits due, today's visits, and the visits the server refused (each with its reason and a Fix).

import type { Ctx, View } from "../app";
import { h, fill } from "../dom";
import { claimChip, freeFirst, untilText } from "../claims";
import { fmtDate, fmtTime, pick, t, type Key } from "../i18n";
import { compass, distanceM, locate, walkOrder, type Point } from "../location";
import type { Campaign, Correction, Household, MyClaim, Status, VisitState } from "../types";
import { areaName } from "./home";

/** A record's field (as the server names it) in the volunteer's words. */
export function fieldLabel(campaign: Campaign | null, field: string): string {
  const app = campaign?.target_app ?? "";
  const keys: Record<string, Key> = {
    people: "count.people",
    smartphones: "count.smartphones",
    already_installed: "count.already_installed",
    installed_now: "count.installed_now",
    reason: "visit.reason",
    address: "visit.address",
    "household.address": "visit.address",
    notes: "visit.notes",
    outcome: "visit.outcome",
    area_code: "visit.area",
    location: "field.location",
    "location.accuracy_m": "field.location",
    "location.lat": "field.location",
    "location.lon": "field.location",
    visited_at: "field.visited_at",
  };
  const k = keys[field];
  return k ? t(k, { app }) : field;
}

function outcomeLabel(campaign: Campaign | null, code: string | null): string {
  if (!code) return t("map.unvisited");
  const o = campaign?.outcomes.find((x) => x.code === code);
  return o ? pick(o.label) : code;
}

function listPage(testid: string, title: string, ...rest: (Node | null)[]): HTMLElement {
  return h("section", { class: "page list", testid }, h("h1", null, title), ...rest);
}

/** "Due again at 14:30" (another day: with its date) for a household due again later, in the
 * campaign's time zone; null when it is due now or is not to be revisited. */
export function dueAgain(hh: Pick<Household, "revisit_due" | "revisit_due_at_ms">, now: number, offsetMin: number): string | null {
  const at = hh.revisit_due_at_ms;
  if (hh.revisit_due || at === null || at === undefined || at <= now) return null;
  const iso = new Date(at).toISOString();
  const today = fmtDate(new Date(now).toISOString(), offsetMin);
  const day = fmtDate(iso, offsetMin);
  return t("revisits.due_at", { time: day === today ? fmtTime(iso, offsetMin) : `${fmtTime(iso, offsetMin)} ${day}` });
}

/**
 * "25 m về phía Đông Bắc · thăm lần cuối 14:20": where a household is from the volunteer and when
 * it was last visited (another day: with its date), in the campaign's time zone. What is not
 * known is left out; null when nothing is.
 */
export function whereText(
  here: Point | null,
  hh: Pick<Household, "lat" | "lon" | "latest_visited_at_ms">,
  offsetMin: number,
  now = Date.now(),
): string | null {
  const parts: string[] = [];
  if (here && typeof hh.lat === "number" && typeof hh.lon === "number") {
    const m = Math.round(distanceM(here.lat, here.lon, hh.lat, hh.lon));
    parts.push(m < 3 ? t("where.here") : t("where.from", { m, dir: t(`dir.${compass(here, { lat: hh.lat, lon: hh.lon })}` as Key) }));
  }
  if (typeof hh.latest_visited_at_ms === "number") {
    const iso = new Date(hh.latest_visited_at_ms).toISOString();
    const sameDay = fmtDate(iso, offsetMin) === fmtDate(new Date(now).toISOString(), offsetMin);
    parts.push(t("where.last", { time: sameDay ? fmtTime(iso, offsetMin) : `${fmtTime(iso, offsetMin)} ${fmtDate(iso, offsetMin)}` }));
  }
  return parts.length ? parts.join(" · ") : null;
}

/**
 * The walk list: the free households in walking order from where the volunteer stands (nearest
 * next), then another volunteer's, nearest first. Without a fix, as the back end gave them.
 */
export function walkList(here: Point | null, hs: Household[]): Household[] {
  if (!here) return freeFirst(hs);
  const free = walkOrder(here, hs.filter((x) => !x.taken));
  const dist = (x: Household) => (typeof x.lat === "number" && typeof x.lon === "number" ? distanceM(here.lat, here.lon, x.lat, x.lon) : Infinity);
  const taken = hs.filter((x) => x.taken).sort((a, b) => dist(a) - dist(b));
  return [...free, ...taken];
}

/** "Assigned to you": the streets and households a leader gave this volunteer, until when, and
 * how many of their households are visited. Nothing when there is none. */
function assignedSection(claims: MyClaim[], households: Household[], off: number): HTMLElement | null {
  if (claims.length === 0) return null;
  const address = (id: string | null) => (id ? households.find((x) => x.id === id)?.address : null);
  return h(
    "section",
    { class: "assigned", testid: "assigned" },
    h("h2", { class: "section-title" }, t("claims.title")),
    h(
      "ul",
      { class: "cards" },
      claims.map((c) =>
        h(
          "li",
          { class: "card item", testid: `assigned-${c.claim.id}` },
          h(
            "div",
            { class: "item-text" },
            h("strong", null, c.claim.street ?? address(c.claim.household_id) ?? t("claims.household")),
            h("span", null, t("claims.progress", { visited: c.visited, n: c.households })),
            h("span", { class: "hint" }, t("claims.until", { until: untilText(c.until_ms, off) })),
          ),
        ),
      ),
    ),
  );
}

export function revisitsView(ctx: Ctx): View {
  const assigned = h("div", { class: "assigned-box" });
  const body = h("div", { class: "items" }, h("p", { class: "loading" }, t("app.loading")));
  const off = ctx.state.campaign?.utc_offset_minutes ?? 420;
  let destroyed = false;
  async function loadAssigned() {
    try {
      const claims = await ctx.api.getMyClaims();
      const households = claims.some((c) => c.claim.household_id) ? await ctx.api.getHouseholds(null) : [];
      if (destroyed) return;
      fill(assigned, assignedSection(claims, households, off));
    } catch {
      /* the list below is what matters; the section waits for the next load */
    }
  }
  let here: Point | null = null;
  async function load() {
    void loadAssigned();
    try {
      const [due, fix] = await Promise.all([ctx.api.getRevisits(), locate(ctx.api)]);
      if (destroyed) return;
      here = typeof fix.lat === "number" && typeof fix.lon === "number" ? { lat: fix.lat, lon: fix.lon } : null;
      // Walking order from here; another volunteer's households last, greyed: someone else's.
      const hs = walkList(here, due);
      fill(
        body,
        hs.length === 0
          ? h("p", { class: "empty", testid: "revisits-empty" }, t("revisits.empty"))
          : h(
              "ol",
              { class: "cards walk", testid: "revisits-list" },
              hs.map((hh, i) =>
                h(
                  "li",
                  { class: `card item${hh.taken ? " taken" : ""}`, testid: `revisit-${hh.id}` },
                  here && !hh.taken ? h("span", { class: "walk-step", "aria-hidden": "true" }, String(i + 1)) : null,
                  h(
                    "div",
                    { class: "item-text" },
                    h("strong", null, hh.address ?? t("visit.no_address")),
                    h("span", null, [outcomeLabel(ctx.state.campaign, hh.latest_outcome), t("revisits.visits", { n: hh.visits }), areaName(ctx, hh.area_code)].join(" · ")),
                    h("span", { class: "where", testid: `revisit-where-${hh.id}` }, whereText(here, hh, off)),
                    claimChip(hh, off),
                  ),
                  h("button", { type: "button", class: `btn ${hh.taken ? "" : "primary"}`.trim(), testid: `revisit-visit-${hh.id}`, onclick: () => ctx.go("visit", { household: hh }) }, t("revisits.visit")),
                ),
              ),
            ),
      );
    } catch (e) {
      fill(body, h("p", { class: "field-error" }, pick((e as { messages?: { vi: string; en: string } }).messages)));
    }
  }
  void load();
  return {
    el: listPage("revisits", t("revisits.title"), assigned, body),
    destroy: () => {
      destroyed = true;
    },
  };
}

const STATE_KEY: Record<VisitState, Key> = { pending: "state.pending", sent: "state.sent", rejected: "state.rejected" };

export function todayView(ctx: Ctx): View {
  const body = h("div", { class: "items" }, h("p", { class: "loading" }, t("app.loading")));
  const off = ctx.state.campaign?.utc_offset_minutes ?? 420;
  let destroyed = false;
  async function load() {
    try {
      const vs = await ctx.api.getToday();
      if (destroyed) return;
      fill(
        body,
        vs.length === 0
          ? h("p", { class: "empty", testid: "today-empty" }, t("today.empty"))
          : h(
              "ul",
              { class: "cards" },
              vs.map((v) =>
                h(
                  "li",
                  { class: "card item", testid: `today-${v.id}` },
                  h("span", { class: "time" }, fmtTime(v.visited_at, off)),
                  h(
                    "div",
                    { class: "item-text" },
                    h("strong", null, outcomeLabel(ctx.state.campaign, v.outcome)),
                    h("span", null, v.address ?? t("visit.no_address")),
                  ),
                  v.state === "rejected"
                    ? h("button", { type: "button", class: `chip ${v.state}`, testid: `today-state-${v.id}`, "data-state": v.state, onclick: () => ctx.go("rejected") }, t(STATE_KEY[v.state]))
                    : h("span", { class: `chip ${v.state}`, testid: `today-state-${v.id}`, "data-state": v.state }, t(STATE_KEY[v.state])),
                  // The visit's photos, to add one later (the poster put up after the talk).
                  h(
                    "button",
                    {
                      type: "button",
                      class: "btn small",
                      testid: `today-photos-${v.id}`,
                      onclick: () => ctx.go("photos", { photo: { kind: "visit", id: v.id, area: v.area_code } }),
                    },
                    t("photo.take"),
                  ),
                ),
              ),
            ),
      );
    } catch (e) {
      fill(body, h("p", { class: "field-error" }, pick((e as { messages?: { vi: string; en: string } }).messages)));
    }
  }
  void load();
  return {
    el: listPage("today", t("today.title"), body),
    onStatus: () => void load(),
    destroy: () => {
      destroyed = true;
    },
  };
}

export function rejectedView(ctx: Ctx): View {
  const body = h("div", { class: "items" }, h("p", { class: "loading" }, t("app.loading")));
  const off = ctx.state.campaign?.utc_offset_minutes ?? 420;
  let destroyed = false;
  let lastCount = -1;
  async function load() {
    try {
      const rs = await ctx.api.getRejected();
      if (destroyed) return;
      lastCount = rs.length;
      fill(
        body,
        rs.length === 0
          ? h("p", { class: "empty", testid: "rejected-empty" }, t("rejected.empty"))
          : h(
              "ul",
              { class: "cards" },
              rs.map((r) =>
                h(
                  "li",
                  { class: "card item rejected", testid: `rejected-${r.device_seq}` },
                  h(
                    "div",
                    { class: "item-text" },
                    h("strong", null, outcomeLabel(ctx.state.campaign, r.draft.outcome)),
                    h("span", null, r.draft.address ?? t("visit.no_address")),
                    h("p", { class: "field-error", testid: `rejected-reason-${r.device_seq}` }, pick(r.error.messages)),
                    r.error.field ? h("span", { class: "hint" }, t("rejected.field", { field: fieldLabel(ctx.state.campaign, r.error.field) })) : null,
                    h("span", { class: "hint" }, t("rejected.at", { when: `${fmtTime(r.rejected_at, off)} ${fmtDate(r.rejected_at, off)}` })),
                  ),
                  h("button", { type: "button", class: "btn primary", testid: `rejected-fix-${r.device_seq}`, onclick: () => ctx.go("visit", { fix: r }) }, t("rejected.fix")),
                ),
              ),
            ),
      );
    } catch (e) {
      fill(body, h("p", { class: "field-error" }, pick((e as { messages?: { vi: string; en: string } }).messages)));
    }
  }
  void load();
  return {
    el: listPage("rejected", t("rejected.title"), h("p", { class: "lead" }, t("rejected.explain")), body),
    onStatus: (s: Status) => {
      if (s.queue.rejected !== lastCount) void load();
    },
    destroy: () => {
      destroyed = true;
    },
  };
}

/** The visits the team leader sent back, each with the leader's note and a Correct button. */
export function correctionsView(ctx: Ctx): View {
  const body = h("div", { class: "items" }, h("p", { class: "loading" }, t("app.loading")));
  const off = ctx.state.campaign?.utc_offset_minutes ?? 420;
  let destroyed = false;
  let lastOpen = -1;
  const when = (iso: string) => `${fmtTime(iso, off)} ${fmtDate(iso, off)}`;
  async function load() {
    try {
      const cs: Correction[] = await ctx.api.getCorrections();
      if (destroyed) return;
      lastOpen = cs.filter((c) => !c.answered).length;
      fill(
        body,
        cs.length === 0
          ? h("p", { class: "empty", testid: "corrections-empty" }, t("corrections.empty"))
          : h(
              "ul",
              { class: "cards" },
              cs.map((c) =>
                h(
                  "li",
                  { class: "card item", testid: `correction-${c.id}` },
                  h(
                    "div",
                    { class: "item-text" },
                    h("strong", null, outcomeLabel(ctx.state.campaign, c.draft.outcome)),
                    h("span", null, c.draft.address ?? t("visit.no_address")),
                    h("p", { class: "comment", testid: `correction-comment-${c.id}` }, c.comment),
                    h("span", { class: "hint" }, t("corrections.by", { by: c.requested_by, when: when(c.requested_at) })),
                    h("span", { class: "hint" }, t("corrections.visited", { when: when(c.visited_at) })),
                  ),
                  c.answered
                    ? h("span", { class: "chip pending", testid: `correction-answered-${c.id}` }, t("corrections.answered"))
                    : h("button", { type: "button", class: "btn primary", testid: `correction-fix-${c.id}`, onclick: () => ctx.go("visit", { correct: c }) }, t("corrections.fix")),
                ),
              ),
            ),
      );
    } catch (e) {
      fill(body, h("p", { class: "field-error" }, pick((e as { messages?: { vi: string; en: string } }).messages)));
    }
  }
  void load();
  return {
    el: listPage("corrections", t("corrections.title"), h("p", { class: "lead" }, t("corrections.explain")), body),
    onStatus: (s: Status) => {
      if (s.corrections_open !== lastOpen) void load();
    },
    destroy: () => {
      destroyed = true;
    },
  };
}
