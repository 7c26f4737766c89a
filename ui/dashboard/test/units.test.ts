import { beforeEach, describe, expect, it } from "vitest";
import { $, CAMPAIGN, defaultRoutes, fakeServer, flush, PROGRESS, signIn, startApp, UNITS, waitFor } from "./helpers";
import type { Finish } from "../src/types";

const rowCodes = (root: HTMLElement) =>
  [...root.querySelectorAll<HTMLElement>('[data-testid="units-table"] tbody tr')].map((r) => r.dataset.testid?.replace("unit-row-", ""));
const ranks = (root: HTMLElement) => [...root.querySelectorAll<HTMLElement>('[data-testid="units-table"] td.rank')].map((c) => c.textContent);
const header = (root: HTMLElement, key: string) => root.querySelector<HTMLButtonElement>(`[data-testid="units-table"] button[data-sort="${key}"]`)!;

describe("units table", () => {
  beforeEach(() => {
    sessionStorage.clear();
    localStorage.clear();
  });

  it("shows the rank and sorts by any column", async () => {
    fakeServer(defaultRoutes());
    const { root } = await startApp();
    await signIn(root);
    const table = await waitFor(() => $("units-table", root), "units table");
    expect(table.tagName).toBe("TABLE");
    // Rank order by default (rank 1 = highest install rate).
    expect(rowCodes(root)).toEqual(["440", "443", "445"]);
    expect(ranks(root)).toEqual(["1", "2", "3"]);
    expect($("unit-row-440", root)!.textContent).toContain("Huyện Đức Thọ");
    expect($("unit-row-440", root)!.textContent).toContain("90,0 %");

    // Names in Vietnamese order: Can Lộc, Đức Thọ, Vũ Quang (Đ after D, before V).
    header(root, "name").click();
    expect(rowCodes(root)).toEqual(["443", "440", "445"]);
    header(root, "name").click();
    expect(rowCodes(root)).toEqual(["445", "440", "443"]);

    // Figures sort descending first; a missing rate stays last.
    header(root, "coverage").click();
    expect(rowCodes(root)).toEqual(["443", "440", "445"]);
    expect(header(root, "coverage").closest("th")!.getAttribute("aria-sort")).toBe("descending");
    header(root, "coverage").click();
    expect(rowCodes(root)).toEqual(["440", "443", "445"]);

    header(root, "known").click();
    expect(rowCodes(root)).toEqual(["443", "440", "445"]);
    // The ranks travel with their rows.
    expect(ranks(root)).toEqual(["2", "1", "3"]);
  });

  it("forecasts each unit's finish and names first the units that will miss the campaign's end", async () => {
    const finish = (f: Partial<Finish>): Finish => ({
      goal: "target",
      goal_households: 300,
      households_last_7_days: 14,
      finishes_on: null,
      reached: false,
      misses_end: false,
      ...f,
    });
    const units = [
      { ...UNITS[0], finish: finish({ finishes_on: "2020-09-12", misses_end: true }) },
      { ...UNITS[1], finish: finish({ goal: "found85", goal_households: 272, finishes_on: "2020-08-20" }) },
      { ...UNITS[2], finish: finish({ households_last_7_days: 0, misses_end: true }) },
    ];
    const routes = defaultRoutes();
    fakeServer({
      ...routes,
      "GET /api/v1/campaign": { ...CAMPAIGN, ends_on: "2020-08-31" },
      "GET /api/v1/progress": { ...PROGRESS, units },
    });
    const { root } = await startApp();
    await signIn(root);
    await waitFor(() => $("units-table", root), "units table");
    // The units that will miss 31/08 come first, above the table: no pace first, then the latest date.
    const late = await waitFor(() => $("units-late", root), "late units");
    expect(late.textContent).toContain("2/3 đơn vị sẽ không kịp ngày kết thúc chiến dịch (31/08/2020)");
    expect([...late.querySelectorAll("li")].map((li) => li.dataset.testid)).toEqual(["units-late-445", "units-late-443"]);
    expect($("units-late-443", root)!.textContent).toContain("dự kiến đạt 12/09/2020");
    expect($("units-late-445", root)!.textContent).toContain("Không có hộ mới trong 7 ngày");
    // Each row: the date dd/mm/yyyy (red when late), its goal and pace said.
    expect($("unit-finish-440", root)!.textContent).toContain("20/08/2020");
    expect($("unit-finish-440", root)!.dataset.late).toBeUndefined();
    expect($("unit-finish-440", root)!.title).toBe("85% số hộ đã biết: 272 hộ; 7 ngày qua thăm mới 14 hộ");
    expect($("unit-finish-443", root)!.dataset.late).toBe("true");
    // Sorting by it: earliest first, no date last.
    root.querySelector<HTMLButtonElement>('[data-testid="units-table"] button[data-sort="finish"]')!.click();
    root.querySelector<HTMLButtonElement>('[data-testid="units-table"] button[data-sort="finish"]')!.click();
    expect(rowCodes(root)).toEqual(["440", "443", "445"]);
  });

  it("says nothing of missing when the campaign names no last day", async () => {
    const units = UNITS.map((u) => ({ ...u, finish: { goal: "target" as const, goal_households: 300, households_last_7_days: 0, finishes_on: null, reached: false, misses_end: false } }));
    fakeServer({ ...defaultRoutes(), "GET /api/v1/progress": { ...PROGRESS, units } });
    const { root } = await startApp();
    await signIn(root);
    await waitFor(() => $("units-table", root), "units table");
    await flush();
    expect($("units-late", root)).toBeNull();
    expect($("unit-finish-443", root)!.textContent).toContain("Không có hộ mới trong 7 ngày");
  });

  it("opens a unit: the breadcrumb grows and the figures are for that unit", async () => {
    const server = fakeServer(defaultRoutes());
    const { root } = await startApp();
    await signIn(root);
    expect($("breadcrumb", root)!.textContent).toContain("Tỉnh Hà Tĩnh");
    $("unit-row-443", root)!.click();
    await waitFor(() => $("breadcrumb", root)!.textContent!.includes("Huyện Can Lộc"), "breadcrumb");
    await flush();
    expect($("breadcrumb", root)!.textContent).toMatch(/Tỉnh Hà Tĩnh.*Huyện Can Lộc/);
    expect(server.calls.some((c) => c.path === "/api/v1/coverage" && c.query.get("area") === "443")).toBe(true);
    expect(server.calls.some((c) => c.path === "/api/v1/progress" && c.query.get("area") === "443")).toBe(true);
    expect($("card-visited", root)!.querySelector("[data-value]")!.getAttribute("data-value")).toBe("240");
    // A leaf: no units below it.
    expect($("units-table", root)!.textContent).toContain("không có đơn vị");
    // Back up through the breadcrumb.
    ($("breadcrumb", root)!.querySelector("button") as HTMLButtonElement).click();
    await waitFor(() => $("unit-row-440", root), "units again");
    expect($("breadcrumb", root)!.textContent).not.toContain("Can Lộc");
  });
});
