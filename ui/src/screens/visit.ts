// The visit form, outcome first. The commonest visit is New visit, the outcome, the counts by
// quick picks (0 1 2 3 4 5+), Save; a refusal picks its reason from the campaign's chips; a
// revisit from the list is the outcome and Save. Known households are offered only when they may
// be the door (within the campaign's matching distance): exactly one is asked about ("the same
// household as Số 12?"), never chosen for the volunteer; more are listed, three at a time.
// "Installed now" follows from the phones minus those that already had the app. Save is always on
// screen. A field the back end refuses is shown next to that field; nothing is lost.

import type { Ctx, View } from "../app";
import { toErrorBody } from "../api";
import { claimChip, freeFirst } from "../claims";
import { h, fill } from "../dom";
import { mapSupported } from "../colors";
import { DICTIONARIES, fmtNumber, pick, t, type Key } from "../i18n";
import { icon } from "../icons";
import { fixToLocation, locate } from "../location";
import type { MapHandle } from "../map";
import { areaName } from "./home";
import { dueAgain, whereText } from "./lists";
import {
  COUNT_FIELDS,
  type Campaign,
  type CountField,
  type Correction,
  type ErrorBody,
  type Fix,
  type Household,
  type Location,
  type LocationWarning,
  type OutcomeDef,
  type Rejected,
  type VisitDraft,
} from "../types";

export type VisitParams = {
  /** Start from this household (a revisit). */
  household?: Household;
  /** Correct this refused record: the form is filled with its draft; Save calls fix_rejected. */
  fix?: Rejected;
  /** Correct a visit the team leader sent back: filled with it; Save calls correct_visit. */
  correct?: Correction;
};

/** Nearby households asked of the back end; those within `doorRadius` are offered. */
export const NEARBY_LIMIT = 8;
/** Households listed before "more". */
export const LIST_FIRST = 3;
/** Counts offered as one tap each; past them, "5+" opens a stepper. */
export const QUICK_PICKS = [0, 1, 2, 3, 4] as const;
/** How much a fix's stated error may widen the matching distance (metres). */
const ACCURACY_WIDENS_UP_TO_M = 20;
const LAST_AREA_KEY = "doorstep.last_area";

// ---------------------------------------------------------------- outcome rules (pure)

/** The counts the form asks for with this outcome. */
export function visibleCounts(o: OutcomeDef | null | undefined): CountField[] {
  if (!o) return [];
  if (!o.reached) return [];
  if (o.requires_no_smartphone) return ["people"];
  return [...COUNT_FIELDS];
}

/** The counts a volunteer most often records with this outcome (hidden counts are 0). */
export function defaultCounts(o: OutcomeDef | null | undefined): Record<CountField, number> {
  const zero = { people: 0, smartphones: 0, already_installed: 0, installed_now: 0 };
  if (!o || !o.reached) return zero;
  if (o.requires_no_smartphone) return { ...zero, people: 1 };
  return {
    people: 1,
    smartphones: 1,
    already_installed: o.requires_already_installed ? 1 : 0,
    installed_now: o.requires_installed_now ? 1 : 0,
  };
}

/**
 * How far (metres) a known household may be from the fix and still be offered as the one at the
 * door: the campaign's matching distance, widened by the fix's stated error (at most 20 m), since
 * both the fix and the household's recorded place may be off by that much.
 */
export function doorRadius(campaign: Pick<Campaign, "match_enumerated_m"> | null, accuracyM: number | null | undefined): number {
  const match = campaign?.match_enumerated_m ?? 10;
  const acc = typeof accuracyM === "number" && Number.isFinite(accuracyM) && accuracyM > 0 ? accuracyM : 0;
  return match + Math.min(acc, ACCURACY_WIDENS_UP_TO_M);
}

/**
 * The counts the volunteer did not set, brought in line with those they did: "installed now" is
 * the phones minus those that already had the app when the outcome is installed now (and the
 * other way round for already installed), installs never exceed the phones, and the phones are
 * at least the installs.
 */
export function settleCounts(
  o: OutcomeDef | null | undefined,
  counts: Record<CountField, number>,
  touched: Set<CountField>,
): Record<CountField, number> {
  const visible = new Set(visibleCounts(o));
  const out = { ...counts };
  if (!visible.has("smartphones")) return out;
  if (!touched.has("smartphones")) out.smartphones = Math.max(out.smartphones, out.already_installed + out.installed_now);
  if (o?.requires_installed_now && !touched.has("installed_now")) {
    out.installed_now = Math.max(0, out.smartphones - out.already_installed);
  } else if (o?.requires_already_installed && !touched.has("already_installed")) {
    out.already_installed = Math.max(0, out.smartphones - out.installed_now);
  }
  // Fewer phones than installs: the installs the volunteer did not set give way.
  for (const f of ["installed_now", "already_installed"] as const) {
    const over = out.already_installed + out.installed_now - out.smartphones;
    if (over > 0 && !touched.has(f)) out[f] = Math.max(0, out[f] - over);
  }
  return out;
}

/** Applies an outcome to counts: hidden ones become 0, untouched ones take the defaults. */
export function applyOutcome(
  o: OutcomeDef | null | undefined,
  counts: Record<CountField, number>,
  touched: Set<CountField>,
): Record<CountField, number> {
  const visible = new Set(visibleCounts(o));
  const d = defaultCounts(o);
  const out = { ...counts };
  for (const f of COUNT_FIELDS) {
    if (!visible.has(f)) out[f] = 0;
    else if (!touched.has(f)) out[f] = d[f];
  }
  return settleCounts(o, out, touched);
}

/** A count set by the volunteer, and what follows from it. */
export function pickCount(
  o: OutcomeDef | null | undefined,
  counts: Record<CountField, number>,
  touched: Set<CountField>,
  f: CountField,
  value: number,
  max: { people: number; smartphones: number },
): Record<CountField, number> {
  const limit = f === "people" ? max.people : max.smartphones;
  touched.add(f);
  let c = { ...counts, [f]: Math.max(0, Math.min(limit, value)) };
  if (f === "smartphones" && c.people > 0 && c.smartphones > c.people * 3 && !touched.has("people")) {
    c.people = Math.min(max.people, Math.ceil(c.smartphones / 3));
  }
  c = settleCounts(o, c, touched);
  // More installs set than phones: the phones were under-counted.
  if (c.already_installed + c.installed_now > c.smartphones) {
    c.smartphones = Math.min(max.smartphones, c.already_installed + c.installed_now);
  }
  return c;
}

/**
 * Where a new household can be placed: the finest areas of the pulled tree that lie within the
 * volunteer's assigned areas; else the assigned areas themselves; else the tree's finest areas.
 */
export function areaChoices(ctx: Ctx): { code: string; name: string }[] {
  const areas = ctx.state.areas;
  const byCode = new Map(areas.map((a) => [a.code, a]));
  const parents = new Set(areas.map((a) => a.parent).filter((p): p is string => !!p));
  const leaves = areas.filter((a) => !parents.has(a.code));
  const work = new Set(ctx.state.workAreas);
  const within = (code: string) => {
    for (let c: string | null | undefined = code, n = 0; c && n < 32; c = byCode.get(c)?.parent, n++) if (work.has(c)) return true;
    return false;
  };
  const named = (code: string) => ({ code, name: byCode.get(code)?.name ?? code });
  if (work.size > 0) {
    const inside = leaves.filter((a) => within(a.code));
    if (inside.length > 0) return inside.map((a) => named(a.code));
    return [...work].map(named);
  }
  return leaves.map((a) => named(a.code));
}

// ---------------------------------------------------------------- the view

type LocState =
  | { phase: "locating" }
  | { phase: "done"; location: Location; origin: Fix["source"] | "manual" | "original" };

export function visitView(ctx: Ctx, params: VisitParams): View {
  const correcting = params.correct ?? null;
  // Both corrections start from a recorded visit and keep its household and location.
  const fixing: { draft: VisitDraft; error: ErrorBody | null } | null = params.fix
    ? { draft: params.fix.draft, error: params.fix.error }
    : correcting
      ? { draft: correcting.draft, error: null }
      : null;
  const backTo = correcting ? "corrections" : params.fix ? "rejected" : "home";
  const campaign: Campaign | null = ctx.state.campaign;
  const maxCounts = { people: campaign?.max_people ?? 60, smartphones: campaign?.max_smartphones ?? 60 };
  let destroyed = false;
  let pinMap: MapHandle | null = null;

  const leaves = areaChoices(ctx);
  const volunteerArea = ctx.state.status?.volunteer?.area_code ?? null;
  const lastArea = (() => {
    try {
      return localStorage.getItem(LAST_AREA_KEY);
    } catch {
      return null;
    }
  })();
  const defaultArea =
    (lastArea && leaves.some((a) => a.code === lastArea) && lastArea) ||
    (volunteerArea && leaves.some((a) => a.code === volunteerArea) && volunteerArea) ||
    leaves[0]?.code ||
    volunteerArea ||
    "";

  const st = {
    household: (params.household ?? null) as Household | null,
    householdTouched: !!params.household,
    /** Known households that may be the door (within `doorRadius`), nearest first. */
    nearby: [] as Household[],
    address: "",
    areaCode: params.household?.area_code ?? defaultArea,
    areaTouched: false,
    outcome: null as string | null,
    /** The outcome buttons are open (until one is chosen; "Change" opens them again). */
    outcomesOpen: true,
    counts: { people: 0, smartphones: 0, already_installed: 0, installed_now: 0 } as Record<CountField, number>,
    touched: new Set<CountField>(),
    /** The chosen reason chip (its index in the outcome's list), "other" (typed), or none. */
    reasonChoice: null as number | "other" | null,
    reason: "",
    leaflet: true,
    notes: "",
    loc: { phase: "locating" } as LocState,
    warnings: [] as LocationWarning[],
    error: null as ErrorBody | null,
    saving: false,
    saveRequested: false,
    pinOpen: false,
  };

  const outcomeDef = () => campaign?.outcomes.find((o) => o.code === st.outcome) ?? null;

  if (fixing) {
    const d = fixing.draft;
    st.household = d.household_id
      ? { id: d.household_id, area_code: d.area_code, address: d.address, lat: d.location.lat ?? null, lon: d.location.lon ?? null, latest_outcome: null, visits: 0, revisit_due: false, distance_m: null }
      : null;
    st.householdTouched = true;
    st.address = d.address ?? "";
    st.areaCode = d.area_code;
    st.areaTouched = true;
    st.outcome = d.outcome;
    st.outcomesOpen = !outcomeDef();
    st.counts = { people: d.people, smartphones: d.smartphones, already_installed: d.already_installed, installed_now: d.installed_now };
    st.touched = new Set(COUNT_FIELDS);
    st.reason = d.reason ?? "";
    const listed = (outcomeDef()?.reasons ?? []).findIndex((r) => r.vi === st.reason);
    st.reasonChoice = listed >= 0 ? listed : st.reason ? "other" : null;
    st.leaflet = d.leaflet_given;
    st.notes = d.notes ?? "";
    st.loc = { phase: "done", location: d.location, origin: "original" };
    st.error = fixing.error;
  }

  /** One known household may be the door and the volunteer has not said whether it is. */
  const asking = () => (!fixing && !st.householdTouched && st.nearby.length === 1 ? st.nearby[0] : null);
  const here = () => (st.loc.phase === "done" && typeof st.loc.location.lat === "number" && typeof st.loc.location.lon === "number" ? { lat: st.loc.location.lat, lon: st.loc.location.lon } : null);

  // ---- static pieces (text inputs are built once, so typing is never interrupted)
  const locBox = h("section", { class: "loc", "aria-live": "polite" });
  const pinBox = h("div", { class: "pinbox", hidden: true });
  const householdBox = h("section", { class: "households" });
  const addressInput = h("input", {
    id: "visit-address",
    testid: "address",
    type: "text",
    autocomplete: "off",
    maxlength: "200",
    value: st.address,
    oninput: (e: Event) => {
      st.address = (e.target as HTMLInputElement).value;
      clearError("address");
    },
  });
  const addressLabel = h("label", { for: "visit-address" }, t("visit.address"));
  const addressRow = h("div", { class: "field", testid: "address-row" }, addressLabel, addressInput, slot("address"));
  const areaSelect = h(
    "select",
    {
      id: "visit-area",
      testid: "area",
      onchange: (e: Event) => {
        st.areaCode = (e.target as HTMLSelectElement).value;
        st.areaTouched = true;
        clearError("area_code");
        void checkLocation();
      },
    },
    leaves.map((a) => h("option", { value: a.code, selected: a.code === st.areaCode ? true : null }, a.name)),
  );
  const areaRow = h("div", { class: "field" }, h("label", { for: "visit-area" }, t("visit.area")), areaSelect, slot("area_code"));
  const outcomeBox = h("section", { class: "outcomes", "aria-label": t("visit.outcome") });
  // Named for screen readers; the buttons say what they are, and the height goes to the counts.
  const outcomeTitle = h("h2", { class: "section-title visually-hidden" }, t("visit.outcome"));
  const outcomeSlot = slot("outcome");
  const countsBox = h("section", { class: "counts" });
  const reasonInput = h("input", {
    id: "visit-reason",
    testid: "reason",
    type: "text",
    maxlength: "200",
    placeholder: t("visit.reason_other_hint"),
    value: st.reasonChoice === "other" || st.reasonChoice === null ? st.reason : "",
    oninput: (e: Event) => {
      st.reason = (e.target as HTMLInputElement).value;
      clearError("reason");
    },
  });
  const reasonChips = h("div", { class: "picks reasons", role: "group", "aria-labelledby": "label-reason" });
  const reasonRow = h(
    "div",
    { class: "field", testid: "reason-row" },
    h("span", { class: "field-label", id: "label-reason" }, t("visit.reason")),
    reasonChips,
    reasonInput,
    slot("reason"),
  );
  const leaflet = h("input", {
    id: "visit-leaflet",
    testid: "leaflet",
    type: "checkbox",
    checked: st.leaflet,
    onchange: (e: Event) => (st.leaflet = (e.target as HTMLInputElement).checked),
  });
  const leafletRow = h("label", { class: "toggle", for: "visit-leaflet" }, leaflet, h("span", null, t("visit.leaflet")));
  const notesInput = h("textarea", {
    id: "visit-notes",
    testid: "notes",
    rows: "2",
    maxlength: "1000",
    oninput: (e: Event) => {
      st.notes = (e.target as HTMLTextAreaElement).value;
      clearError("notes");
    },
  });
  notesInput.value = st.notes;
  const notesRow = h(
    "div",
    { class: "field" },
    h("label", { for: "visit-notes" }, t("visit.notes")),
    notesInput,
    h("p", { class: "hint" }, t("visit.notes_hint")),
    slot("notes"),
  );
  const generalErrors = h("div", { class: "general-errors" });
  const saveBtn = h("button", { type: "button", class: "btn primary big", testid: "visit-save", onclick: () => void onSave() });

  const el = h(
    "section",
    { class: "page visit", testid: "visit-form" },
    h(
      "div",
      { class: "row-between" },
      h("h1", null, correcting ? t("visit.correct_title") : fixing ? t("visit.fix_title") : t("visit.title")),
      h("button", { type: "button", class: "btn ghost small", testid: "visit-cancel", onclick: () => ctx.go(backTo) }, t("visit.cancel")),
    ),
    correcting
      ? h("div", { class: "banner warn", testid: "correction-comment" }, h("strong", null, t("visit.correct_reason", { by: correcting.requested_by })), h("p", null, correcting.comment))
      : params.fix
        ? h("div", { class: "banner warn" }, h("strong", null, t("visit.fix_reason")), h("p", null, pick(params.fix.error.messages)))
        : null,
    campaign ? null : h("div", { class: "banner danger", testid: "no-campaign" }, t("visit.no_campaign")),
    locBox,
    pinBox,
    householdBox,
  );
  // What follows the household is ordered by the outcome (see `layout`).
  const tail = h("div", { class: "page-tail" });
  el.append(tail);

  /**
   * Outcome first; a refusal's reason right under it; for a new household the outcome makes due
   * again, the address prompt next (the next visit must find the door); then the counts.
   */
  function layout() {
    const o = outcomeDef();
    const prompt = !!o?.revisit && !st.household && !fixing;
    addressLabel.textContent = prompt ? t("visit.address_prompt") : t("visit.address");
    addressRow.classList.toggle("prompt", prompt);
    const order: HTMLElement[] = [outcomeTitle, outcomeBox, outcomeSlot, reasonRow];
    if (prompt) order.push(addressRow, countsBox);
    else order.push(countsBox, addressRow);
    order.push(areaRow, leafletRow, notesRow, generalErrors);
    // Moved only when the order changes: moving an element keeps its value but not its focus.
    const now = Array.from(tail.children);
    if (now.length !== order.length || order.some((x, i) => now[i] !== x)) tail.append(...order);
  }

  // ---- error slots
  function slot(field: string): HTMLElement {
    return h("div", { class: "error-slot", "data-slot": field });
  }
  function clearError(field: string) {
    if (st.error && st.error.field === field) {
      st.error = null;
      renderErrors();
    }
  }
  function renderErrors() {
    const e = st.error;
    const slots = Array.from(el.querySelectorAll<HTMLElement>(".error-slot[data-slot]"));
    let placed = false;
    // The store names the address inside the household; the form has one address field.
    const errorField = e?.field === "household.address" ? "address" : e?.field;
    for (const s of slots) {
      const field = s.dataset.slot as string;
      const visible = !s.closest("[hidden]");
      if (e && errorField === field && visible && !placed) {
        fill(s, h("p", { class: "field-error", testid: `field-error-${field}`, role: "alert" }, pick(e.messages)));
        s.closest(".field, .count, section")?.classList.add("has-error");
        placed = true;
        s.scrollIntoView?.({ block: "center", behavior: "smooth" });
      } else {
        fill(s);
        s.closest(".has-error")?.classList.remove("has-error");
      }
    }
    if (e && !placed) {
      const testid = e.field ? `field-error-${e.field}` : "visit-error";
      fill(generalErrors, h("p", { class: "field-error", testid, role: "alert" }, pick(e.messages)));
      generalErrors.scrollIntoView?.({ block: "center", behavior: "smooth" });
    } else {
      fill(generalErrors);
    }
  }

  // ---- location
  function renderLocation() {
    const l = st.loc;
    let line: (Node | string)[] = [];
    if (l.phase === "locating") {
      line = [h("span", { class: "spinner", "aria-hidden": "true" }), t("visit.locating")];
    } else if (l.origin === "original") {
      line = [icon("pin"), t("visit.loc_original")];
    } else if (l.location.source === "gps") {
      const acc = l.location.accuracy_m;
      line = [icon("pin"), l.origin === "fixed" ? t("visit.loc_fixed") + (acc ? ` ±${fmtNumber(Math.round(acc))} m` : "") : acc ? t("visit.loc_gps", { m: Math.round(acc) }) : t("visit.loc_gps_unknown")];
    } else if (l.location.source === "manual") {
      line = [icon("pin"), l.origin === "fixed" ? t("visit.loc_fixed") : t("visit.loc_manual")];
    } else {
      line = [t("visit.loc_none")];
    }
    const canRetry = !fixing && l.phase === "done";
    fill(
      locBox,
      h(
        "div",
        { class: "loc-row" },
        h("p", { class: `loc-line${l.phase === "done" && l.location.source === "none" ? " none" : ""}`, testid: "location-line" }, line),
        canRetry
          ? h("button", { type: "button", class: "btn icon-btn", testid: "locate-again", title: t("visit.loc_retry"), "aria-label": t("visit.loc_retry"), onclick: () => void runLocate() }, icon("sync"))
          : null,
        mapSupported() && !fixing
          ? h("button", { type: "button", class: "btn icon-btn", testid: "visit-pin", title: t("visit.pin"), "aria-label": t("visit.pin"), "aria-expanded": String(st.pinOpen), onclick: () => void openPin() }, icon("pin"))
          : null,
      ),
      st.warnings.length
        ? h("ul", { class: "warnings", testid: "location-warnings" }, st.warnings.map((w) => h("li", { class: "banner warn", "data-code": w.code }, pick(w.messages))))
        : null,
      slot("location"),
      slot("location.accuracy_m"),
    );
    renderErrors();
  }

  async function checkLocation() {
    const l = st.loc;
    if (l.phase !== "done" || l.location.source === "none" || typeof l.location.lat !== "number" || typeof l.location.lon !== "number") {
      st.warnings = [];
      renderLocation();
      return;
    }
    const area = st.household?.area_code ?? st.areaCode;
    try {
      const w = await ctx.api.checkLocation(l.location.lat, l.location.lon, l.location.accuracy_m ?? null, area);
      if (destroyed) return;
      st.warnings = w;
    } catch {
      st.warnings = [];
    }
    renderLocation();
  }

  async function loadNearby(lat: number, lon: number, accuracyM: number | null) {
    try {
      const near = await ctx.api.getNearby(lat, lon, NEARBY_LIMIT);
      if (destroyed) return;
      const radius = doorRadius(campaign, accuracyM);
      st.nearby = near.filter((x) => x.distance_m !== null && x.distance_m <= radius);
      // Two or more that may be the door: listed at once (one is asked about instead).
      if (!st.householdTouched && !st.household) listOpen = st.nearby.length >= 2;
      // A new household most likely lies in the area of its nearest neighbour.
      const closest = near[0];
      if (!st.areaTouched && !st.household && closest && (closest.distance_m ?? Infinity) <= 300 && leaves.some((a) => a.code === closest.area_code)) {
        st.areaCode = closest.area_code;
        areaSelect.value = st.areaCode;
      }
    } catch {
      st.nearby = [];
    }
    renderHouseholds();
  }

  async function runLocate() {
    st.loc = { phase: "locating" };
    st.warnings = [];
    renderLocation();
    renderSave();
    const fix = await locate(ctx.api);
    if (destroyed) return;
    st.loc = { phase: "done", location: fixToLocation(fix), origin: fix.source };
    renderLocation();
    if (st.loc.location.source !== "none") {
      await Promise.all([loadNearby(st.loc.location.lat as number, st.loc.location.lon as number, fix.accuracy_m ?? null), checkLocation()]);
    }
    if (destroyed) return;
    renderSave();
    if (st.saveRequested) void doSave();
  }

  async function openPin() {
    st.pinOpen = !st.pinOpen;
    pinBox.hidden = !st.pinOpen;
    renderLocation();
    if (!st.pinOpen) return;
    if (pinMap) return;
    fill(pinBox, h("p", { class: "hint" }, t("map.pin_hint")));
    const mapEl = h("div", { class: "map small", testid: "pin-map" });
    pinBox.append(mapEl, h("button", { type: "button", class: "btn small", onclick: () => void openPin() }, t("map.pin_done")));
    try {
      const { basemapPath, createMap } = await import("../map");
      let households: Household[] = [];
      try {
        households = await ctx.api.getHouseholds(null);
      } catch {
        households = [];
      }
      if (destroyed) return;
      const centre = here();
      pinMap = await createMap(mapEl, { campaign, basemap: basemapPath(ctx.state.settings, ctx.state.status), households, centre });
      if (centre) pinMap.setPin(centre);
      pinMap.onTap((p) => {
        st.loc = { phase: "done", location: { source: "manual", lat: Math.round(p.lat * 1e6) / 1e6, lon: Math.round(p.lon * 1e6) / 1e6 }, origin: "manual" };
        pinMap?.setPin(p);
        clearError("location");
        void checkLocation();
        void loadNearby(p.lat, p.lon, null);
        renderSave();
      });
    } catch {
      fill(pinBox, h("p", { class: "hint" }, t("map.unavailable")));
    }
  }

  // ---- households
  // One line (the household taken to be at the door) so the outcomes stay in view; "Change"
  // opens the households that may be the door, three at a time, and "New household".
  let listOpen = false;
  let listAll = false;
  const offset = campaign?.utc_offset_minutes ?? 420;
  function renderHouseholds() {
    const choose = (hh: Household | null) => {
      st.household = hh;
      st.householdTouched = true;
      listOpen = false;
      clearError("household");
      if (hh) clearError("address");
      renderHouseholds();
      layout();
      void checkLocation();
    };
    const describe = (hh: Household) => {
      const o = campaign?.outcomes.find((x) => x.code === hh.latest_outcome);
      // A household nobody has visited yet (an enumerated building, or one a leader listed).
      const state = o ? pick(o.label) : hh.visits === 0 ? t("map.unvisited") : null;
      const later = dueAgain(hh, Date.now(), offset);
      return [whereText(here(), hh, offset), state, later, areaName(ctx, hh.area_code)].filter(Boolean).join(" · ");
    };
    let body: (HTMLElement | null)[];
    const ask = asking();
    if (fixing) {
      body = [
        h(
          "div",
          { class: "choice on static", testid: "household-current" },
          h("span", { class: "choice-main" }, st.household ? t("visit.household_same") : t("visit.household_new")),
          st.household ? h("span", { class: "choice-sub" }, st.household.address ?? t("visit.no_address")) : null,
        ),
      ];
    } else if (ask) {
      // Exactly one known household may be the door: asked, never chosen for the volunteer.
      body = [
        h(
          "div",
          { class: `ask${ask.taken ? " taken" : ""}`, testid: "household-ask", role: "group", "aria-labelledby": "ask-question" },
          h("strong", { id: "ask-question" }, ask.address ? t("visit.same_question", { address: ask.address }) : t("visit.same_question_here")),
          h("span", { class: "choice-sub" }, describe(ask)),
          claimChip(ask, offset),
          h(
            "div",
            { class: "ask-buttons" },
            h("button", { type: "button", class: "btn", testid: "household-same", onclick: () => choose(ask) }, t("visit.same_yes")),
            h("button", { type: "button", class: "btn", testid: "household-new", onclick: () => choose(null) }, t("visit.same_no")),
          ),
          slot("household"),
        ),
      ];
    } else {
      const current = st.household;
      const canChange = !!current || st.nearby.length > 0;
      body = [
        h(
          "button",
          {
            type: "button",
            class: `choice on current${canChange ? "" : " static"}`,
            testid: "household-current",
            "aria-expanded": canChange ? String(listOpen) : null,
            disabled: canChange ? null : true,
            onclick: () => {
              listOpen = !listOpen;
              renderHouseholds();
            },
          },
          h("span", { class: "choice-main" }, current ? current.address ?? t("visit.no_address") : t("visit.household_new_short")),
          current
            ? h("span", { class: "choice-sub" }, describe(current))
            : st.nearby.length > 0
              ? h("span", { class: "choice-sub" }, t("visit.nearby_count", { n: st.nearby.length }))
              : null,
          current ? claimChip(current, offset) : null,
          canChange ? h("span", { class: "change" }, t("visit.household_change")) : null,
        ),
      ];
      if (listOpen) {
        // Another volunteer's households after the free ones (nearest first within each), greyed;
        // still choosable: the volunteer may be at that door.
        const all = freeFirst(st.nearby.filter((x) => x.id !== current?.id));
        const shown = listAll ? all : all.slice(0, LIST_FIRST);
        const items: HTMLElement[] = shown.map((hh) =>
          h(
            "button",
            {
              type: "button",
              class: `choice${hh.taken ? " taken" : ""}`,
              testid: `household-${hh.id}`,
              "aria-pressed": "false",
              onclick: () => choose(hh),
            },
            h("span", { class: "choice-main" }, hh.address ?? t("visit.no_address")),
            h("span", { class: "choice-sub" }, describe(hh)),
            claimChip(hh, offset),
          ),
        );
        if (all.length > shown.length) {
          items.push(
            h(
              "button",
              { type: "button", class: "btn ghost small", testid: "household-more", onclick: () => ((listAll = true), renderHouseholds()) },
              t("visit.household_more", { n: all.length - shown.length }),
            ),
          );
        }
        items.push(
          h(
            "button",
            { type: "button", class: `choice${!current ? " on" : ""}`, testid: "household-new", "aria-pressed": String(!current), onclick: () => choose(null) },
            h("span", { class: "choice-main" }, t("visit.household_new")),
          ),
        );
        body.push(h("div", { class: "choice-list", testid: "household-list" }, items));
      }
      body.push(slot("household"));
    }
    // Recording at a door someone else covers is allowed (nothing is lost); the leader sees both.
    if (st.household?.taken) {
      body.push(h("p", { class: "hint overlap", testid: "overlap-note", role: "note" }, t("claim.overlap")));
    }
    fill(householdBox, h("h2", { class: "section-title visually-hidden" }, t("visit.household")), body);
    const isNew = !st.household;
    // A refused record may be refused for its address or area: both stay editable when fixing.
    addressRow.hidden = !((isNew && !ask) || fixing);
    areaRow.hidden = !(((isNew || fixing) && leaves.length > 1) || st.error?.field === "area_code" || fixing?.error?.field === "area_code");
    if (!areaRow.hidden && !leaves.some((a) => a.code === st.areaCode) && areaSelect.value) {
      // What is sent is what the volunteer sees selected.
      st.areaCode = areaSelect.value;
    }
    layout();
    renderErrors();
  }

  // ---- outcomes
  function renderOutcomes() {
    const o = outcomeDef();
    if (o && !st.outcomesOpen) {
      // Chosen: one line, so what the outcome asks next is in view.
      fill(
        outcomeBox,
        h(
          "button",
          {
            type: "button",
            class: "outcome on chosen",
            testid: "outcome-chosen",
            "data-outcome": o.code,
            "aria-expanded": "false",
            onclick: () => {
              st.outcomesOpen = true;
              renderOutcomes();
            },
          },
          icon("check"),
          h("span", { class: "outcome-label" }, pick(o.label)),
          h("span", { class: "change" }, t("visit.outcome_change")),
        ),
      );
      outcomeBox.classList.add("one");
      return;
    }
    outcomeBox.classList.remove("one");
    fill(
      outcomeBox,
      (campaign?.outcomes ?? []).map((x) => {
        const on = st.outcome === x.code;
        return h(
          "button",
          {
            type: "button",
            class: `outcome${on ? " on" : ""}`,
            testid: `outcome-${x.code}`,
            "aria-pressed": String(on),
            "data-outcome": x.code,
            onclick: () => chooseOutcome(x.code),
          },
          on ? icon("check") : null,
          pick(x.label),
        );
      }),
    );
  }

  function chooseOutcome(code: string) {
    const changed = st.outcome !== code;
    st.outcome = code;
    st.outcomesOpen = false;
    st.counts = applyOutcome(outcomeDef(), st.counts, st.touched);
    if (changed) {
      st.reasonChoice = null;
      st.reason = "";
      reasonInput.value = "";
    }
    if (st.error && ["outcome", ...COUNT_FIELDS, "reason"].includes(st.error.field ?? "")) st.error = null;
    renderOutcomes();
    renderCounts();
    renderReason();
    renderHouseholds();
    renderSave();
  }

  // ---- the reason
  function renderReason() {
    const o = outcomeDef();
    reasonRow.hidden = !o?.requires_reason;
    const reasons = o?.reasons ?? [];
    const chip = (label: string, choice: number | "other", testid: string) =>
      h(
        "button",
        {
          type: "button",
          class: `pick wide${st.reasonChoice === choice ? " on" : ""}`,
          testid,
          "aria-pressed": String(st.reasonChoice === choice),
          onclick: () => {
            st.reasonChoice = choice;
            st.reason = typeof choice === "number" ? reasons[choice].vi : reasonInput.value;
            clearError("reason");
            renderReason();
            if (choice === "other") reasonInput.focus();
          },
        },
        label,
      );
    fill(reasonChips, reasons.length ? [...reasons.map((r, i) => chip(pick(r), i, `reason-${i}`)), chip(t("visit.reason_other"), "other", "reason-other")] : null);
    reasonChips.hidden = reasons.length === 0;
    // Typed when the campaign lists none, or for "other".
    reasonInput.hidden = reasons.length > 0 && st.reasonChoice !== "other";
  }

  // ---- counts
  function countLabel(f: CountField): string {
    const app = campaign?.target_app ?? "";
    return t(`count.${f}` as Key, { app });
  }

  function setCount(f: CountField, value: number) {
    st.counts = pickCount(outcomeDef(), st.counts, st.touched, f, value, maxCounts);
    if (st.error && (COUNT_FIELDS as readonly string[]).includes(st.error.field ?? "")) st.error = null;
    renderCounts();
    renderErrors();
  }

  function renderCounts() {
    const shown = visibleCounts(outcomeDef());
    countsBox.hidden = shown.length === 0;
    const more = QUICK_PICKS.length;
    fill(
      countsBox,
      shown.map((f) => {
        const v = st.counts[f];
        const max = f === "people" ? maxCounts.people : maxCounts.smartphones;
        return h(
          "div",
          { class: "count", "data-field": f, role: "group", "aria-labelledby": `label-${f}` },
          h("span", { class: "count-label", id: `label-${f}` }, countLabel(f)),
          h(
            "div",
            { class: "picks" },
            QUICK_PICKS.map((n) =>
              h("button", { type: "button", class: `pick${v === n ? " on" : ""}`, testid: `count-${f}-${n}`, "aria-pressed": String(v === n), onclick: () => setCount(f, n) }, fmtNumber(n)),
            ),
            h(
              "button",
              { type: "button", class: `pick${v >= more ? " on" : ""}`, testid: `count-${f}-more`, "aria-pressed": String(v >= more), onclick: () => setCount(f, Math.max(v, more)) },
              `${fmtNumber(more)}+`,
            ),
          ),
          // Past the quick picks: a stepper for the exact number.
          v >= more
            ? h(
                "div",
                { class: "stepper-ctrl" },
                h("button", { type: "button", class: "step", testid: `stepper-${f}-minus`, "aria-label": `${t("visit.less")}: ${countLabel(f)}`, onclick: () => setCount(f, v - 1) }, icon("minus")),
                h("output", { class: "step-value", testid: `stepper-${f}-value`, "aria-labelledby": `label-${f}` }, fmtNumber(v)),
                h("button", { type: "button", class: "step", testid: `stepper-${f}-plus`, "aria-label": `${t("visit.more")}: ${countLabel(f)}`, disabled: v >= max, onclick: () => setCount(f, v + 1) }, icon("plus")),
              )
            : null,
          slot(f),
        );
      }),
    );
  }

  // ---- saving
  function renderSave() {
    let label: string;
    if (st.saving) label = t("visit.saving");
    else if (st.saveRequested && st.loc.phase === "locating") label = t("visit.wait_location");
    else label = t("visit.save");
    saveBtn.disabled = st.saving;
    fill(saveBtn, st.saving ? null : icon("check"), label);
  }

  function draft(): VisitDraft {
    const o = outcomeDef();
    const hh = st.household;
    const loc: Location = st.loc.phase === "done" ? st.loc.location : { source: "none" };
    const shown = new Set(visibleCounts(o));
    const count = (f: CountField) => (shown.has(f) || fixing ? st.counts[f] : 0);
    const listed = typeof st.reasonChoice === "number" ? o?.reasons?.[st.reasonChoice]?.vi : undefined;
    return {
      household_id: hh ? hh.id : null,
      address: hh && !fixing ? hh.address : st.address.trim() || null,
      area_code: hh && !fixing ? hh.area_code : st.areaCode,
      outcome: st.outcome ?? "",
      reason: o?.requires_reason ? (listed ?? st.reason).trim() || null : null,
      people: count("people"),
      smartphones: count("smartphones"),
      already_installed: count("already_installed"),
      installed_now: count("installed_now"),
      leaflet_given: st.leaflet,
      location: loc,
      notes: st.notes.trim() || null,
    };
  }

  const required = (field: string, key: Key): ErrorBody => ({
    code: "required",
    message: DICTIONARIES.en[key],
    field,
    messages: { vi: DICTIONARIES.vi[key], en: DICTIONARIES.en[key] },
  });

  async function onSave() {
    if (st.saving) return;
    if (!st.outcome) {
      st.error = required("outcome", "visit.choose_outcome");
      renderErrors();
      return;
    }
    if (asking()) {
      st.error = required("household", "visit.answer_household");
      renderErrors();
      return;
    }
    if (st.loc.phase === "locating" && !st.saveRequested) {
      // Wait for the location that is on its way (at most the geolocation timeout); a second tap
      // saves at once without it.
      st.saveRequested = true;
      renderSave();
      return;
    }
    await doSave();
  }

  async function doSave() {
    if (st.saving || destroyed) return;
    // The location that arrived may have brought a household to ask about.
    if (asking()) {
      st.saveRequested = false;
      st.error = required("household", "visit.answer_household");
      renderErrors();
      renderSave();
      return;
    }
    st.saving = true;
    st.error = null;
    renderErrors();
    renderSave();
    const d = draft();
    try {
      let saved: { id: string };
      if (correcting) saved = await ctx.api.correctVisit(correcting.id, d);
      else if (params.fix) saved = await ctx.api.fixRejected(params.fix.device_seq, d);
      else saved = await ctx.api.recordVisit(d);
      if (!d.household_id) {
        try {
          localStorage.setItem(LAST_AREA_KEY, d.area_code);
        } catch {
          /* private mode */
        }
      }
      st.saving = false;
      ctx.go("home");
      // A photo of the visit (a poster, the app installed) is one tap away. Online or not, the
      // visit is on the phone now; whether it has reached the server, the home counts say.
      const photo = { kind: "visit" as const, id: saved.id, area: d.area_code };
      ctx.toast(
        correcting ? t("home.saved_correction") : fixing ? t("home.saved_fix") : ctx.state.status?.online ? t("home.saved_online") : t("home.saved"),
        "saved-toast",
        { label: t("photo.take"), testid: "saved-take-photo", run: () => ctx.go("photos", { photo }) },
      );
    } catch (e) {
      st.saving = false;
      st.saveRequested = false;
      st.error = toErrorBody(e);
      if (st.error.field === "area_code") renderHouseholds();
      renderErrors();
      renderSave();
    }
  }

  renderLocation();
  renderHouseholds();
  renderOutcomes();
  renderReason();
  renderCounts();
  layout();
  renderErrors();
  renderSave();
  if (!fixing) void runLocate();

  return {
    el,
    footer: saveBtn,
    destroy() {
      destroyed = true;
      pinMap?.destroy();
      pinMap = null;
    },
  };
}
