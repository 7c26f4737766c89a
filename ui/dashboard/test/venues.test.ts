import { describe, expect, it } from "vitest";
import { setLang } from "../src/i18n";
import type { VenueFigures, VenueGroup, VenueProgress } from "../src/types";
import { renderVenues, rowTotals, venueCollection } from "../src/venues";

const zero: VenueFigures = {
  venues: 0,
  visits: 0,
  people_reached: 0,
  smartphones: 0,
  already_installed: 0,
  installed_now: 0,
  notices_posted: 0,
  visitors_came_in: 0,
  visitors_told: 0,
  visitors_installed: 0,
};
const groups = (over: Partial<Record<VenueGroup, Partial<VenueFigures>>>) =>
  (["agency", "school", "business", "transport_hub"] as VenueGroup[]).map((group) => ({ group, figures: { ...zero, ...over[group] } }));

describe("venues table", () => {
  it("lists units with venue visits and a total row, with the visitor logs summed", () => {
    setLang("vi");
    const p: VenueProgress = {
      totals: groups({
        agency: { venues: 1, visits: 2, people_reached: 60, installed_now: 15, visitors_came_in: 170, visitors_told: 140, visitors_installed: 40 },
        school: { venues: 1, visits: 1, people_reached: 600, installed_now: 90, notices_posted: 4 },
      }),
      units: [
        { area_code: "18073", area_name: "Phường Nam Hà", groups: groups({ agency: { venues: 1, visits: 2, people_reached: 60 }, school: { venues: 1, visits: 1, people_reached: 600 } }) },
        { area_code: "18077", area_name: "Phường Bắc Hà", groups: groups({}) },
      ],
    };
    expect(rowTotals(p.totals)).toMatchObject({ people_reached: 660, installed_now: 105, came_in: 170, visits: 3 });
    const el = renderVenues(p);
    const rows = [...el.querySelectorAll<HTMLElement>("tbody tr")].map((r) => r.dataset.testid);
    // A unit without venue visits is left out.
    expect(rows).toEqual(["venue-row-18073", "venue-row-total"]);
    const total = el.querySelector<HTMLElement>('[data-testid="venue-row-total"]')!;
    const cells = [...total.querySelectorAll("td")].map((c) => c.textContent);
    expect(cells).toEqual(["1", "1", "0", "0", "660", "105", "4", "170 / 140 / 40"]);
    expect(el.querySelector("thead")!.textContent).toContain("Trường học");
  });

  it("says so when no venue was visited", () => {
    setLang("en");
    expect(renderVenues(undefined).textContent).toContain("No venue");
    expect(renderVenues({ totals: groups({}), units: [] }).textContent).toContain("No venue");
  });
});

describe("venue points", () => {
  it("puts venues with a location on the map and leaves the others out", () => {
    const base = { area_code: "18073", kind: "school", visits: 1, people_reached: 10, installed_now: 2, notices_posted: 0 };
    const fc = venueCollection([
      { ...base, id: "a", name: "Trường A", lat: 18.34, lon: 105.9 },
      { ...base, id: "b", name: "Trường B", lat: null, lon: null },
    ]);
    expect(fc.features).toHaveLength(1);
    expect(fc.features[0].geometry).toEqual({ type: "Point", coordinates: [105.9, 18.34] });
    expect(fc.features[0].properties).toMatchObject({ name: "Trường A", kind: "school", visits: 1 });
  });
});
