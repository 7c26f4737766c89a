// Venues (cơ sở): the list of the area's agencies, schools, businesses and transport hubs, and the
// form for a visit to one (registering it on its first visit). Saved on the phone first, like a
// household visit; sent by the same sync.

import type { Ctx, View } from "../app";
import { h, fill } from "../dom";
import { fmtDate, fmtTime, pick, t, type Key } from "../i18n";
import { icon } from "../icons";
import { fixToLocation, locate } from "../location";
import type { ErrorBody, Location, Status, Venue, VenueKind, VenueVisitDraft } from "../types";
import { areaName } from "./home";
import { areaChoices } from "./visit";

export const VENUE_KINDS: VenueKind[] = ["agency", "school", "hotel", "restaurant", "shop", "business", "transport_hub"];

export type VenueParams = { venue?: Venue };

const KIND_KEY: Record<VenueKind, Key> = {
  agency: "venue.kind.agency",
  school: "venue.kind.school",
  hotel: "venue.kind.hotel",
  restaurant: "venue.kind.restaurant",
  shop: "venue.kind.shop",
  business: "venue.kind.business",
  transport_hub: "venue.kind.transport_hub",
};

export function kindLabel(kind: VenueKind): string {
  return t(KIND_KEY[kind]);
}

export function venuesView(ctx: Ctx): View {
  let destroyed = false;
  const body = h("div", { class: "items" }, h("p", { class: "loading" }, t("app.loading")));
  const refused = h("div", { class: "banners" });
  async function load() {
    try {
      const [venues, rejected] = await Promise.all([ctx.api.getVenues(null), ctx.api.getRejectedVenueVisits()]);
      if (destroyed) return;
      fill(
        refused,
        rejected.length === 0
          ? null
          : h(
              "section",
              { class: "card error", testid: "venues-rejected" },
              h("h2", null, t("venues.rejected")),
              rejected.map((r) => h("p", null, h("strong", null, r.venue_name), ": ", pick(r.error.messages))),
            ),
      );
      fill(
        body,
        venues.length === 0
          ? h("p", { class: "empty", testid: "venues-empty" }, t("venues.empty"))
          : h(
              "ul",
              { class: "cards" },
              venues.map((v) =>
                h(
                  "li",
                  { class: "card item", testid: `venue-${v.id}` },
                  h("div", { class: "item-main" }, h("strong", null, v.name), h("span", { class: "hint" }, `${kindLabel(v.kind)} · ${areaName(ctx, v.area_code)}`)),
                  v.visits_here > 0 ? h("span", { class: "hint" }, t("venues.visits_here", { n: v.visits_here })) : null,
                  h(
                    "button",
                    { type: "button", class: "btn", testid: `venue-visit-${v.id}`, onclick: () => ctx.go("venue", { venue: v }) },
                    t("venues.visit"),
                  ),
                ),
              ),
            ),
      );
    } catch (e) {
      if (!destroyed) fill(body, h("p", { class: "error" }, pick((e as ErrorBody).messages)));
    }
  }
  void load();
  const el = h(
    "section",
    { class: "page list", testid: "venues" },
    h("h1", null, t("venues.title")),
    h("p", { class: "hint" }, t("venues.explain")),
    refused,
    h("button", { type: "button", class: "btn primary", testid: "venue-add", onclick: () => ctx.go("venue", {}) }, icon("plus"), t("venues.add")),
    body,
  );
  return {
    el,
    onStatus: (_s: Status) => void load(),
    destroy: () => {
      destroyed = true;
    },
  };
}

type CountKey = "people_reached" | "smartphones" | "already_installed" | "installed_now" | "notices_posted";
const COUNT_KEY: Record<CountKey, Key> = {
  people_reached: "venue.people_reached",
  smartphones: "venue.smartphones",
  already_installed: "venue.already_installed",
  installed_now: "venue.installed_now",
  notices_posted: "venue.notices_posted",
};
const COUNTS = Object.keys(COUNT_KEY) as CountKey[];
type LogKey = "came_in" | "told" | "installed";
const LOG_KEY: Record<LogKey, Key> = { came_in: "venue.came_in", told: "venue.told", installed: "venue.installed" };
const LOG = Object.keys(LOG_KEY) as LogKey[];

function numberField(testid: string, label: string, value: number, onChange: (n: number) => void): HTMLElement {
  const input = h("input", {
    type: "number",
    inputmode: "numeric",
    min: "0",
    step: "1",
    value: String(value),
    testid,
    "aria-label": label,
    oninput: (e: Event) => {
      const n = Number((e.target as HTMLInputElement).value);
      onChange(Number.isFinite(n) ? Math.trunc(n) : 0);
    },
  }) as HTMLInputElement;
  return h("label", { class: "field", "data-field": testid }, h("span", null, label), input);
}

/** The venue visit form: a new venue (no `venue`), or a visit to a listed one. */
export function venueView(ctx: Ctx, params: VenueParams): View {
  const known = params.venue;
  const app = ctx.state.campaign?.target_app ?? "Bluezone";
  const offset = ctx.state.campaign?.utc_offset_minutes ?? 420;
  const areas = areaChoices(ctx);
  const draft: VenueVisitDraft = {
    venue_id: known?.id ?? null,
    kind: known?.kind ?? "agency",
    name: known?.name ?? "",
    address: known?.address ?? null,
    area_code: known?.area_code ?? areas[0]?.code ?? ctx.state.status?.volunteer?.area_code ?? "",
    people_reached: 0,
    smartphones: 0,
    already_installed: 0,
    installed_now: 0,
    notices_posted: 0,
    visitor_log: null,
    location: { source: "none" },
    notes: null,
  };
  let location: Location = { source: "none" };
  let saving = false;
  const errorBox = h("div", { class: "form-error", testid: "venue-error", role: "alert", hidden: true });
  const locLine = h("p", { class: "hint", testid: "venue-location" }, t("app.loading"));
  const logBox = h("div", { class: "log", hidden: true });

  const kindSelect = h(
    "select",
    {
      testid: "venue-kind",
      disabled: !!known,
      onchange: (e: Event) => {
        draft.kind = (e.target as HTMLSelectElement).value as VenueKind;
      },
    },
    VENUE_KINDS.map((k) => h("option", { value: k, selected: k === draft.kind }, kindLabel(k))),
  );
  const nameInput = h("input", {
    type: "text",
    testid: "venue-name",
    value: draft.name,
    readonly: !!known,
    oninput: (e: Event) => {
      draft.name = (e.target as HTMLInputElement).value;
    },
  });
  const addressInput = h("input", {
    type: "text",
    testid: "venue-address",
    value: draft.address ?? "",
    oninput: (e: Event) => {
      const v = (e.target as HTMLInputElement).value;
      draft.address = v.trim() ? v : null;
    },
  });
  const areaSelect = h(
    "select",
    {
      testid: "venue-area",
      disabled: !!known,
      onchange: (e: Event) => {
        draft.area_code = (e.target as HTMLSelectElement).value;
      },
    },
    (known ? [{ code: known.area_code, name: areaName(ctx, known.area_code) }] : areas).map((a) =>
      h("option", { value: a.code, selected: a.code === draft.area_code }, a.name),
    ),
  );
  const countLabel = (k: CountKey) => t(COUNT_KEY[k], { app });
  const log = { came_in: 0, told: 0, installed: 0 };
  fill(
    logBox,
    LOG.map((k) =>
      numberField(`venue-log-${k}`, t(LOG_KEY[k]), 0, (n) => {
        log[k] = n;
      }),
    ),
  );
  const logToggle = h("input", {
    type: "checkbox",
    testid: "venue-log-use",
    onchange: (e: Event) => {
      logBox.hidden = !(e.target as HTMLInputElement).checked;
    },
  }) as HTMLInputElement;
  const notes = h("textarea", {
    testid: "venue-notes",
    rows: 2,
    oninput: (e: Event) => {
      const v = (e.target as HTMLTextAreaElement).value;
      draft.notes = v.trim() ? v : null;
    },
  });

  function showError(e: ErrorBody) {
    errorBox.hidden = false;
    fill(errorBox, pick(e.messages));
  }

  async function save() {
    if (saving) return;
    errorBox.hidden = true;
    if (!draft.name.trim()) {
      showError({
        code: "empty",
        message: "",
        field: "venue.name",
        messages: { vi: "Hãy nhập tên cơ sở.", en: "Enter the venue's name." },
      });
      return;
    }
    saving = true;
    try {
      const saved = await ctx.api.recordVenueVisit({ ...draft, location, visitor_log: logToggle.checked ? { ...log } : null });
      ctx.go("venues");
      // A photo of the notice posted, as the letter asks, is one tap away.
      const photo = { kind: "venue_visit" as const, id: saved.id, area: draft.area_code };
      ctx.toast(t("venue.saved"), "saved-toast", { label: t("photo.take"), testid: "saved-take-photo", run: () => ctx.go("photos", { photo }) });
    } catch (e) {
      showError(e as ErrorBody);
    } finally {
      saving = false;
    }
  }

  void (async () => {
    const fix = await locate(ctx.api);
    location = fixToLocation(fix);
    locLine.textContent =
      location.source === "none"
        ? t("field.location")
        : `${t("field.location")}: ${location.lat?.toFixed(5)}, ${location.lon?.toFixed(5)}${location.accuracy_m ? ` (±${Math.round(location.accuracy_m)} m)` : ""}`;
  })();

  const el = h(
    "section",
    { class: "page form", testid: "venue-form" },
    h("h1", null, known ? t("venue.title_visit") : t("venue.title_new")),
    known ? h("p", { class: "hint" }, `${kindLabel(known.kind)} · ${known.last_visited_at ? `${fmtDate(known.last_visited_at, offset)} ${fmtTime(known.last_visited_at, offset)}` : ""}`) : null,
    h("label", { class: "field" }, h("span", null, t("venue.kind")), kindSelect),
    h("label", { class: "field" }, h("span", null, t("venue.name")), nameInput),
    h("label", { class: "field" }, h("span", null, t("venue.address")), addressInput),
    h("label", { class: "field" }, h("span", null, t("venue.area")), areaSelect),
    h(
      "section",
      { class: "counts" },
      COUNTS.map((k) =>
        numberField(`venue-${k}`, countLabel(k), 0, (n) => {
          draft[k] = n;
        }),
      ),
    ),
    h("section", { class: "card" }, h("h2", null, t("venue.log")), h("label", { class: "check" }, logToggle, t("venue.log_use")), logBox),
    h("label", { class: "field" }, h("span", null, t("venue.notes")), notes),
    locLine,
    errorBox,
  );
  const footer = h("button", { type: "button", class: "btn primary huge", testid: "venue-save", onclick: () => void save() }, t("venue.save"));
  return { el, footer };
}
