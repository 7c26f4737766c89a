// The venues table: agencies, schools, businesses and transport hubs visited, by unit and in
// total, with people reached, installs, notices posted and the visitor logs' figures.

import { h } from "./dom";
import { fmtNumber, t, type Key } from "./i18n";
import type { FeatureCollection, VenueDto, VenueGroup, VenueGroupFigures, VenueProgress, VenueProps } from "./types";

const GROUP_KEY: Record<VenueGroup, Key> = {
  agency: "venues.group.agency",
  school: "venues.group.school",
  business: "venues.group.business",
  transport_hub: "venues.group.transport_hub",
};
export const GROUPS = Object.keys(GROUP_KEY) as VenueGroup[];

/** Sums of a row's groups (the venue counts stay per group). */
export function rowTotals(groups: VenueGroupFigures[]) {
  const sum = { people_reached: 0, installed_now: 0, notices_posted: 0, came_in: 0, told: 0, installed: 0, visits: 0 };
  for (const g of groups) {
    sum.people_reached += g.figures.people_reached;
    sum.installed_now += g.figures.installed_now;
    sum.notices_posted += g.figures.notices_posted;
    sum.came_in += g.figures.visitors_came_in;
    sum.told += g.figures.visitors_told;
    sum.installed += g.figures.visitors_installed;
    sum.visits += g.figures.visits;
  }
  return sum;
}

function venuesOf(groups: VenueGroupFigures[], g: VenueGroup): number {
  return groups.find((x) => x.group === g)?.figures.venues ?? 0;
}

export function renderVenues(p: VenueProgress | undefined): HTMLElement {
  if (!p || rowTotals(p.totals).visits === 0) return h("p", { class: "muted", testid: "venues-table" }, t("venues.empty"));
  const row = (name: string, groups: VenueGroupFigures[], testid: string, total = false) => {
    const s = rowTotals(groups);
    return h(
      "tr",
      { testid, class: total ? "total" : null },
      h("th", { scope: "row" }, name),
      GROUPS.map((g) => h("td", { class: "num" }, fmtNumber(venuesOf(groups, g)))),
      h("td", { class: "num" }, fmtNumber(s.people_reached)),
      h("td", { class: "num" }, fmtNumber(s.installed_now)),
      h("td", { class: "num" }, fmtNumber(s.notices_posted)),
      h("td", { class: "num" }, `${fmtNumber(s.came_in)} / ${fmtNumber(s.told)} / ${fmtNumber(s.installed)}`),
    );
  };
  const head = h(
    "tr",
    null,
    h("th", { scope: "col" }, t("venues.unit")),
    GROUPS.map((g) => h("th", { scope: "col", class: "num" }, t(GROUP_KEY[g]))),
    h("th", { scope: "col", class: "num" }, t("venues.people_reached")),
    h("th", { scope: "col", class: "num" }, t("venues.installed_now")),
    h("th", { scope: "col", class: "num" }, t("venues.notices_posted")),
    h("th", { scope: "col", class: "num" }, t("venues.log")),
  );
  const units = p.units.filter((u) => rowTotals(u.groups).visits > 0);
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "data venues", testid: "venues-table" },
      h("thead", null, head),
      h("tbody", null, units.map((u) => row(u.area_name, u.groups, `venue-row-${u.area_code}`)), row(t("venues.total"), p.totals, "venue-row-total", true)),
    ),
  );
}

/** The venues with a location, as points for the map. */
export function venueCollection(list: VenueDto[]): FeatureCollection<VenueProps> {
  return {
    type: "FeatureCollection",
    features: list
      .filter((v) => typeof v.lat === "number" && typeof v.lon === "number")
      .map((v) => ({
        type: "Feature",
        geometry: { type: "Point", coordinates: [v.lon as number, v.lat as number] },
        properties: { id: v.id, name: v.name, kind: v.kind, visits: v.visits, people_reached: v.people_reached, installed_now: v.installed_now },
      })),
  } as FeatureCollection<VenueProps>;
}
