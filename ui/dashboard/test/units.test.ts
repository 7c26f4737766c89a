import { beforeEach, describe, expect, it } from "vitest";
import { $, defaultRoutes, fakeServer, flush, signIn, startApp, waitFor } from "./helpers";

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
