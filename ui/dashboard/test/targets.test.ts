// Coverage three ways (issue 8): found coverage, target coverage, installs of smartphones seen
// and of smartphone owners targeted, each labelled with its denominator; "—" with a hint where
// there is no target; the partial roll-up marker ("the target covers 8 of 12 areas below").

import { beforeEach, describe, expect, it } from "vitest";
import { renderCardList } from "../src/cards";
import { setLang } from "../src/i18n";
import { DEFAULT_THRESHOLDS } from "../src/thresholds";
import type { Coverage, Unit } from "../src/types";
import { DEFAULT_SORT, renderUnitsTable, sortUnits } from "../src/units";
import { $, coverage, defaultRoutes, fakeServer, json, PROGRESS, ROOT, signIn, startApp, UNITS, waitFor, type Call } from "./helpers";

/** The province: 2.880 visited of 4.380 found; 3.266 with the app of 4.516 phones; households targeted in all 12 districts, owners in 8 (so the server draws no rate from that sum). */
const WITH_TARGETS: Coverage = {
  ...ROOT,
  targets: {
    households: 5760,
    population: null,
    smartphone_owners: 6532,
    partial: true,
    households_sum: { areas_with_target: 12, areas: 12 },
    population_sum: null,
    smartphone_owners_sum: { areas_with_target: 8, areas: 12 },
  },
  target_coverage_rate: 2880 / 5760,
  install_rate_of_owners: null,
};

const card = (cards: HTMLElement[], testid: string) => {
  const el = cards.find((c) => c.dataset.testid === testid);
  if (!el) throw new Error(`no ${testid}`);
  return el;
};

describe("the cards, three ways", () => {
  beforeEach(() => setLang("vi"));

  it("labels each rate with its denominator and shows the targets' figures", () => {
    const cards = renderCardList(WITH_TARGETS, "Bluezone");
    const found = card(cards, "card-found-coverage");
    expect(found.textContent).toContain("Độ phủ trên số hộ đã gặp");
    expect(found.textContent).toContain("65,8 %");
    expect(found.textContent).toContain("2.880 hộ đã thăm / 4.380 hộ đã biết");
    const target = card(cards, "card-target-coverage");
    expect(target.textContent).toContain("Độ phủ trên số hộ mục tiêu");
    expect(target.textContent).toContain("50,0 %");
    expect(target.textContent).toContain("2.880 hộ đã thăm / 5.760 hộ mục tiêu");
    const seen = card(cards, "card-install-rate");
    expect(seen.textContent).toContain("Tỷ lệ cài trên số điện thoại thông minh đã gặp");
    expect(seen.textContent).toContain("72,3 %");
    const owners = card(cards, "card-install-rate-owners");
    expect(owners.textContent).toContain("Tỷ lệ cài trên số người có điện thoại thông minh (mục tiêu)");
    expect(owners.textContent).toContain("3.266 máy có Bluezone / 6.532 người");
    // The owners target leaves 4 districts out: no rate, and its card says why (not "no target");
    // the households target covers all 12.
    expect(owners.querySelector(".card-value")!.textContent).toBe("—");
    expect(owners.querySelector('[data-testid="card-install-rate-owners-missing"]')).toBeNull();
    expect(owners.querySelector('[data-testid="card-install-rate-owners-partial"]')!.textContent).toContain("Mục tiêu chỉ gồm 8/12 địa bàn cấp dưới");
    expect(target.querySelector('[data-testid="card-target-coverage-partial"]')).toBeNull();
    // Households with the app, as the campaign's installed outcomes count them.
    const withApp = card(renderCardList({ ...WITH_TARGETS, households_with_app: 2512 }, "Bluezone"), "card-households-with-app");
    expect(withApp.textContent).toContain("Hộ đã có Bluezone");
    expect(withApp.querySelector(".card-value")!.getAttribute("data-value")).toBe("2512");
    // No card carries a bare "coverage" or "install rate" without its denominator.
    for (const c of cards) expect(c.querySelector(".card-label")!.textContent).not.toMatch(/^(Bao phủ|Tỷ lệ cài)$/);
  });

  it("shows a dash and says why where there is no target", () => {
    const cards = renderCardList(ROOT, "Bluezone");
    for (const id of ["card-target-coverage", "card-install-rate-owners"]) {
      const c = card(cards, id);
      expect(c.querySelector(".card-value")!.textContent).toBe("—");
      expect(c.querySelector(".card-value")!.getAttribute("data-none")).toBe("true");
      // What is missing, for which area, and who enters it: in words, never a command.
      const missing = c.querySelector(`[data-testid="${id}-missing"]`)!.textContent!;
      expect(missing).toContain("Tỉnh Hà Tĩnh");
      expect(missing).toContain("nhờ ban chỉ đạo nhập");
      expect(missing).not.toMatch(/doorstep|import-targets|admin/);
    }
    // Found coverage and the install rate of phones seen do not need targets.
    expect(card(cards, "card-found-coverage").querySelector(".card-value")!.textContent).toBe("65,8 %");
    setLang("en");
    const en = renderCardList(ROOT, "Bluezone");
    expect(card(en, "card-target-coverage").textContent).toContain("Target coverage");
    expect(card(en, "card-target-coverage").textContent).toContain("No target number of households for Tỉnh Hà Tĩnh yet: ask the steering committee");
    expect(card(en, "card-install-rate-owners").textContent).toContain("Install rate of smartphone owners targeted");
    expect(card(en, "card-found-coverage").textContent).toContain("2,880 households visited of 4,380 known");
  });

  it("fills the cards from the server's coverage in the app", async () => {
    sessionStorage.clear();
    localStorage.clear();
    const routes = defaultRoutes();
    routes["GET /api/v1/coverage"] = (c: Call) => json(c.query.get("area") === "42" || !c.query.get("area") ? WITH_TARGETS : ROOT);
    fakeServer(routes);
    const { root } = await startApp();
    await signIn(root);
    const target = await waitFor(() => $("card-target-coverage", root), "the target coverage card");
    expect(target.textContent).toContain("50,0 %");
    expect($("card-install-rate-owners-partial", root)!.textContent).toContain("8/12");
  });
});

describe("the units table's targets", () => {
  beforeEach(() => setLang("vi"));

  const units: Unit[] = [
    {
      ...UNITS[0],
      targets: { households: 480, population: null, smartphone_owners: 200, partial: false },
      target_coverage_rate: 240 / 480,
      install_rate_of_owners: 50 / 200,
    },
    {
      ...UNITS[1],
      targets: { households: 150, population: null, smartphone_owners: null, partial: true, households_sum: { areas_with_target: 3, areas: 5 } },
      target_coverage_rate: 100 / 150,
      install_rate_of_owners: null,
    },
    { ...coverage("445", "Huyện Vũ Quang", 0, 0, 0, 0), rank: 3 },
  ];
  const cell = (root: HTMLElement, testid: string) => root.querySelector<HTMLElement>(`[data-testid="${testid}"]`)!;

  it("has target households, target coverage and installs of owners, with the partial marker", () => {
    const table = renderUnitsTable({ units, sort: DEFAULT_SORT, thresholds: DEFAULT_THRESHOLDS, onSort: () => {}, onOpen: () => {} });
    const heads = [...table.querySelectorAll("th[scope=col]")].map((th) => th.textContent);
    expect(heads).toContain("Số hộ mục tiêu");
    expect(heads).toContain("Độ phủ trên số hộ mục tiêu");
    expect(heads).toContain("Tỷ lệ cài trên số người có ĐTTM (mục tiêu)");
    expect(heads).toContain("Độ phủ trên số hộ đã gặp");
    expect(cell(table, "unit-target-443").textContent).toBe("480");
    expect(cell(table, "unit-target-coverage-443").textContent).toBe("50,0 %");
    expect(cell(table, "unit-owners-rate-443").textContent).toBe("25,0 %");
    // Đức Thọ's households target is a sum over 3 of its 5 communes.
    expect(cell(table, "unit-target-440").textContent).toBe("150 (mục tiêu gồm 3/5 địa bàn)");
    expect(cell(table, "unit-partial-440").getAttribute("title")).toContain("Mục tiêu chỉ gồm 3/5");
    // Its target coverage is marked too: the rate is over part of the district only.
    expect(cell(table, "unit-target-coverage-440").textContent).toBe("66,7 % ⚠");
    expect(cell(table, "unit-target-coverage-440-partial").getAttribute("title")).toContain("3/5");
    expect(table.querySelector('[data-testid="unit-target-coverage-443-partial"]')).toBeNull();
    expect(cell(table, "unit-owners-rate-440").textContent).toBe("—");
    expect(cell(table, "unit-owners-rate-440").getAttribute("title")).toBe("Chưa có mục tiêu");
    // Vũ Quang: no target at all, never a zero.
    expect(cell(table, "unit-target-445").textContent).toBe("—");
    expect(cell(table, "unit-target-445").getAttribute("title")).toBe("Chưa có mục tiêu");
    expect(cell(table, "unit-target-coverage-445").textContent).toBe("—");
  });

  it("sorts by the target columns, units without a target last", () => {
    const codes = (key: "target_households" | "target_coverage" | "install_rate_owners", dir: "asc" | "desc") =>
      sortUnits(units, { key, dir }).map((u) => u.area_code);
    expect(codes("target_households", "desc")).toEqual(["443", "440", "445"]);
    expect(codes("target_households", "asc")).toEqual(["440", "443", "445"]);
    expect(codes("target_coverage", "desc")).toEqual(["440", "443", "445"]);
    expect(codes("install_rate_owners", "desc")).toEqual(["443", "440", "445"]);
  });

  it("comes from the progress the server sends", async () => {
    sessionStorage.clear();
    localStorage.clear();
    const routes = defaultRoutes();
    routes["GET /api/v1/progress"] = { ...PROGRESS, units };
    fakeServer(routes);
    const { root } = await startApp();
    await signIn(root);
    const target = await waitFor(() => $("unit-target-440", root), "the target cell");
    expect(target.textContent).toContain("150");
    expect($("unit-partial-440", root)).not.toBeNull();
  });
});
