import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  EXPORTS,
  FilterPanel,
  STREET_ZOOM,
  emptyFilters,
  filterParams,
  filterQuery,
  isFiltered,
  keepsNothing,
  layerForZoom,
  resolutionForZoom,
  validRange,
  type MapFilters,
} from "../src/filters";
import { setLang } from "../src/i18n";
import { $, CAMPAIGN, defaultRoutes, fakeServer, signIn, startApp, waitFor } from "./helpers";

const CODES = CAMPAIGN.outcomes.map((o) => o.code);
const last = <T>(xs: T[]): T | undefined => xs[xs.length - 1];

describe("zoom", () => {
  it("shows hexagons at province zoom and households at street zoom", () => {
    expect(layerForZoom(5)).toBe("hexagons");
    expect(layerForZoom(9)).toBe("hexagons");
    expect(layerForZoom(STREET_ZOOM - 0.01)).toBe("hexagons");
    expect(layerForZoom(STREET_ZOOM)).toBe("points");
    expect(layerForZoom(17)).toBe("points");
  });

  it("asks for finer hexagons as the map zooms in, within what the server takes", () => {
    expect(resolutionForZoom(7)).toBe(6); // a province on screen
    expect(resolutionForZoom(9)).toBe(7); // a district
    expect(resolutionForZoom(11)).toBe(8); // a commune
    expect(resolutionForZoom(12.5)).toBe(9);
    expect(resolutionForZoom(Number.NaN)).toBe(6);
    let last = 0;
    for (let z = 0; z <= 22; z += 0.25) {
      const r = resolutionForZoom(z);
      expect(r).toBeGreaterThanOrEqual(Math.max(5, last));
      expect(r).toBeLessThanOrEqual(9);
      last = r;
    }
  });
});

describe("filters to a query", () => {
  const f = (over: Partial<MapFilters>): MapFilters => ({ ...emptyFilters(), ...over });

  it("asks for nothing when nothing is filtered", () => {
    expect(filterParams(emptyFilters(), CODES)).toEqual({});
    expect(filterQuery(emptyFilters(), CODES)).toBe("");
    expect(isFiltered(emptyFilters(), CODES)).toBe(false);
  });

  it("names the dates, the team and the outcomes kept", () => {
    const filters = f({ from: "2020-08-01", to: "2020-08-05", team: "Đội Nam Hà", hidden: new Set(["refused", ""]) });
    const p = new URLSearchParams(filterQuery(filters, CODES));
    expect(p.get("from")).toBe("2020-08-01");
    expect(p.get("to")).toBe("2020-08-05");
    expect(p.get("team")).toBe("Đội Nam Hà");
    expect(p.get("outcome")).toBe("installed_now,already_installed,not_home");
    expect(isFiltered(filters, CODES)).toBe(true);
  });

  it("says 'none' for households not visited yet, and knows when nothing is kept", () => {
    const only = f({ hidden: new Set(CODES) });
    expect(filterParams(only, CODES)).toEqual({ outcome: "none" });
    expect(keepsNothing(only, CODES)).toBe(false);
    expect(keepsNothing(f({ hidden: new Set([...CODES, ""]) }), CODES)).toBe(true);
  });

  it("accepts a range in order, either end open", () => {
    expect(validRange({ from: "", to: "" })).toBe(true);
    expect(validRange({ from: "2020-08-01", to: "" })).toBe(true);
    expect(validRange({ from: "2020-08-04", to: "2020-08-04" })).toBe(true);
    expect(validRange({ from: "2020-08-05", to: "2020-08-04" })).toBe(false);
    expect(validRange({ from: "4/8/2020", to: "" })).toBe(false);
  });
});

describe("the filter panel", () => {
  beforeEach(() => setLang("vi"));

  function panel() {
    const changes: MapFilters[] = [];
    const visible: string[][] = [];
    const exports: string[] = [];
    const p = new FilterPanel({
      outcomes: () => CODES,
      outcomeLabel: (c) => CAMPAIGN.outcomes.find((o) => o.code === c)!.label.vi,
      colorOf: () => "#123456",
      onChange: (f) => changes.push({ ...f, hidden: new Set(f.hidden) }),
      onVisible: (v) => visible.push(v),
      onExport: (k) => exports.push(`${k.what}.${k.format}`),
    });
    p.setTeams([
      { name: "Đội Nam Hà", area_code: "18073" },
      { name: "Đội Bắc Hà", area_code: "18070" },
    ]);
    document.body.replaceChildren(p.element());
    return { p, changes, visible, exports };
  }

  it("reports dates, refuses a range out of order, and keeps its state across renders", () => {
    const { p, changes } = panel();
    const from = $("filter-from") as HTMLInputElement;
    const to = $("filter-to") as HTMLInputElement;
    from.value = "2020-08-05";
    from.dispatchEvent(new Event("change"));
    to.value = "2020-08-04";
    to.dispatchEvent(new Event("change"));
    expect(changes.map((c) => [c.from, c.to])).toEqual([["2020-08-05", ""]]);
    expect(($("filter-range-error") as HTMLElement).hidden).toBe(false);
    to.value = "2020-08-06";
    to.dispatchEvent(new Event("change"));
    expect(last(changes)).toMatchObject({ from: "2020-08-05", to: "2020-08-06" });
    expect(p.params()).toEqual({ from: "2020-08-05", to: "2020-08-06" });
    document.body.replaceChildren(p.element());
    expect(($("filter-from") as HTMLInputElement).value).toBe("05/08/2020");
  });

  it("offers the teams and the outcomes, hides dots at once and reloads", () => {
    const { p, changes, visible } = panel();
    const team = $("filter-team") as HTMLSelectElement;
    expect([...team.options].map((o) => o.textContent)).toEqual(["Tất cả các đội", "Đội Nam Hà", "Đội Bắc Hà"]);
    team.value = "Đội Bắc Hà";
    team.dispatchEvent(new Event("change"));
    expect(last(changes)!.team).toBe("Đội Bắc Hà");
    const refused = $("outcome-filter-refused") as HTMLInputElement;
    refused.checked = false;
    refused.dispatchEvent(new Event("change"));
    expect(last(visible)).not.toContain("refused");
    expect(last(visible)).toContain("");
    expect(p.params().outcome).toBe("installed_now,already_installed,not_home,none");
    // A team that is gone from the list is no longer asked for.
    p.setTeams([{ name: "Đội Nam Hà", area_code: "18073" }]);
    expect(p.params().team).toBeUndefined();
  });

  it("has a button for each export", () => {
    const { exports } = panel();
    for (const k of EXPORTS) ($(`export-${k.what}-${k.format}`) as HTMLButtonElement).click();
    expect(exports).toEqual(["households.csv", "households.geojson", "visits.csv", "visits.geojson"]);
  });
});

describe("the dashboard's map filters", () => {
  beforeEach(() => {
    sessionStorage.clear();
    localStorage.clear();
  });
  afterEach(() => vi.restoreAllMocks());

  it("asks the server for hexagons, areas and exports under the filters, and no households at province zoom", async () => {
    const routes = defaultRoutes();
    routes["GET /api/v1/teams"] = [{ name: "Đội Nam Hà", area_code: "42", leader: "l", members: [] }];
    routes["GET /api/v1/map/hexagons"] = { type: "FeatureCollection", res: 6, features: [] };
    routes["GET /api/v1/exports/visits.csv"] = () =>
      new Response(new Blob(["\uFEFFserver_seq\r\n"]), {
        status: 200,
        headers: { "Content-Type": "text/csv; charset=utf-8", "Content-Disposition": 'attachment; filename="doorstep-visits-42.csv"' },
      });
    const server = fakeServer(routes);
    URL.createObjectURL = vi.fn(() => "blob:fake");
    URL.revokeObjectURL = vi.fn();
    const saved: string[] = [];
    vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
      saved.push(this.download);
    });
    const { root } = await startApp();
    await signIn(root);
    const hex = server.calls.filter((c) => c.path === "/api/v1/map/hexagons");
    expect(hex.length).toBeGreaterThan(0);
    expect(hex[0].query.get("area")).toBe("42");
    expect(hex[0].query.get("res")).toBe("6");
    await waitFor(() => ($("filter-team", root) as HTMLSelectElement).options.length === 2, "the teams");

    const team = $("filter-team", root) as HTMLSelectElement;
    team.value = "Đội Nam Hà";
    team.dispatchEvent(new Event("change"));
    const from = $("filter-from", root) as HTMLInputElement;
    from.value = "2020-08-04";
    from.dispatchEvent(new Event("change"));
    await waitFor(() => server.calls.some((c) => c.path === "/api/v1/map/hexagons" && c.query.get("from") === "2020-08-04"), "a filtered reload");
    // A province is not a leaf and the map is not at street zoom: its households are not read.
    expect(server.calls.some((c) => c.path === "/api/v1/map/households")).toBe(false);
    for (const path of ["/api/v1/map/hexagons", "/api/v1/map/areas"]) {
      const call = last(server.calls.filter((c) => c.path === path))!;
      expect(call.query.get("team"), path).toBe("Đội Nam Hà");
      expect(call.query.get("from"), path).toBe("2020-08-04");
    }

    ($("export-visits-csv", root) as HTMLButtonElement).click();
    await waitFor(() => saved.length > 0, "the download");
    expect(saved).toEqual(["doorstep-visits-42.csv"]);
    const call = server.calls.find((c) => c.path === "/api/v1/exports/visits.csv")!;
    expect(call.query.get("area")).toBe("42");
    expect(call.query.get("team")).toBe("Đội Nam Hà");
    expect(call.headers.authorization).toBe("Bearer tok-1");
    await waitFor(() => $("export-status", root)!.textContent!.includes("doorstep-visits-42.csv"), "the note");
  });
});

describe("the zoom a fitted map will show", () => {
  it("follows MapLibre's fitBounds: 512-pixel world at zoom 0, padding on each side", async () => {
    const { fitZoom, bboxOf, resolutionForZoom } = await import("../src/filters");
    expect(fitZoom([-180, -85, 180, 85], 512 + 64, 2000)).toBeCloseTo(0, 5);
    // Twice as wide, where the width decides: one zoom level out.
    const strip = fitZoom([105, 18, 106, 18.1], 1000, 600);
    expect(fitZoom([105, 18, 107, 18.1], 1000, 600)).toBeCloseTo(strip - 1, 5);
    const z = fitZoom([105.1, 17.9, 106.5, 18.8], 1000, 600);
    expect(z).toBeGreaterThan(8.5);
    expect(z).toBeLessThan(9);
    expect(fitZoom([105.9, 18.3, 105.9, 18.3], 1000, 600)).toBe(16);
    expect(fitZoom([105.9, 18.3, 105.90001, 18.30001], 1000, 600)).toBe(17);
    // Hà Tĩnh on a desktop map: resolution 7 hexagons.
    expect(resolutionForZoom(z)).toBe(7);
    expect(bboxOf({ features: [{ geometry: { coordinates: [[[105, 18], [106, 19]]] } }, { geometry: null }] })).toEqual([105, 18, 106, 19]);
  });
});
