// Issue 19, item 7: dates shown and typed as dd/mm/yyyy in every browser, numbers by Intl with a
// decimal comma in Vietnamese, and the range the dashboard opens on holds the data.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { dateField, parseDay, spaceDigits } from "../src/datefield";
import { fmtNumber, fmtPercent, fmtPercentValue, setLang } from "../src/i18n";
import { dataRange, probeRange } from "../src/range";
import { $, CAMPAIGN, defaultRoutes, fakeServer, signIn, startApp, waitFor } from "./helpers";

describe("date fields", () => {
  beforeEach(() => {
    sessionStorage.clear();
    localStorage.clear();
    setLang("vi");
  });
  afterEach(() => setLang("vi"));

  it("reads dd/mm/yyyy, eight digits and yyyy-mm-dd; refuses what is not a day", () => {
    expect(parseDay("04/08/2020")).toBe("2020-08-04");
    expect(parseDay(" 4/8/2020 ")).toBe("2020-08-04");
    expect(parseDay("04.08.2020")).toBe("2020-08-04");
    expect(parseDay("04-08-20")).toBe("2020-08-04");
    expect(parseDay("04082020")).toBe("2020-08-04");
    expect(parseDay("2020-08-04")).toBe("2020-08-04");
    expect(parseDay("")).toBe("");
    // Day first, never month first: 08/04 is the 8th of April.
    expect(parseDay("08/04/2020")).toBe("2020-04-08");
    for (const bad of ["31/02/2020", "13/13/2020", "2020/08/04x", "hôm nay", "32/01/2020", "29/02/2021"]) expect(parseDay(bad), bad).toBeNull();
    expect(parseDay("29/02/2024")).toBe("2024-02-29");
  });

  it("spaces digits typed on the numeric keypad (no slash key) as dd/mm/yyyy", () => {
    expect(spaceDigits("04")).toBe("04");
    expect(spaceDigits("040")).toBe("04/0");
    expect(spaceDigits("0408")).toBe("04/08");
    expect(spaceDigits("04082020")).toBe("04/08/2020");
    expect(spaceDigits("04/08")).toBe("04/08");
  });

  it("is a text field with the numeric keypad that shows dd/mm/yyyy and gives the code yyyy-mm-dd", () => {
    const got: string[] = [];
    const f = dateField({ id: "d", testid: "d", value: "2020-08-04", onChange: (iso) => got.push(iso) });
    document.body.replaceChildren(f.input, f.error);
    expect(f.input.type).toBe("text");
    expect(f.input.getAttribute("inputmode")).toBe("numeric");
    expect(f.input.value).toBe("04/08/2020");
    expect(f.input.placeholder).toBe("dd/mm/yyyy");
    f.input.value = "5/8/2020";
    f.input.dispatchEvent(new Event("change"));
    expect(got).toEqual(["2020-08-05"]);
    expect(f.input.value).toBe("05/08/2020");
    expect(f.input.dataset.iso).toBe("2020-08-05");
    expect(f.error.hidden).toBe(true);
  });

  it("says in the chosen language what is wrong with a date that is not a day, and does not use it", () => {
    const got: string[] = [];
    const f = dateField({ id: "d", testid: "d", value: "", onChange: (iso) => got.push(iso) });
    document.body.replaceChildren(f.input, f.error);
    f.input.value = "31/02/2020";
    f.input.dispatchEvent(new Event("change"));
    expect(got).toEqual([]);
    expect(f.value()).toBeNull();
    expect(f.input.getAttribute("aria-invalid")).toBe("true");
    expect(f.error.hidden).toBe(false);
    expect(f.error.textContent).toBe("Ngày không đúng. Hãy nhập ngày/tháng/năm, ví dụ 04/08/2020.");
    setLang("en");
    const g = dateField({ id: "e", testid: "e", value: "", onChange: (iso) => got.push(iso) });
    g.input.value = "2020";
    g.input.dispatchEvent(new Event("change"));
    expect(g.error.textContent).toBe("Not a date. Type day/month/year, for example 04/08/2020.");
    // Typed digits are spaced as they come.
    g.input.value = "040820";
    g.input.dispatchEvent(new Event("input"));
    expect(g.input.value).toBe("04/08/20");
  });

  it("the dashboard's date fields show dd/mm/yyyy and a bad day says so without reloading", async () => {
    const server = fakeServer(defaultRoutes());
    const { root } = await startApp();
    await signIn(root);
    for (const id of ["from", "to", "report-date", "filter-from", "filter-to", "photos-date"]) {
      const input = $(id, root) as HTMLInputElement;
      expect(input, id).not.toBeNull();
      expect(input.type, id).toBe("text");
      expect(input.getAttribute("inputmode"), id).toBe("numeric");
    }
    expect(root.querySelectorAll('input[type="date"]')).toHaveLength(0);
    const n = server.calls.filter((c) => c.path === "/api/v1/progress").length;
    const from = $("from", root) as HTMLInputElement;
    from.value = "30/02/2020";
    from.dispatchEvent(new Event("change"));
    expect($("from-error", root)!.hidden).toBe(false);
    expect(server.calls.filter((c) => c.path === "/api/v1/progress").length).toBe(n);
    // A report asked for a day that is not one: the field says so, nothing is downloaded.
    const day = $("report-date", root) as HTMLInputElement;
    day.value = "2020-13-45";
    ($("report-download", root) as HTMLButtonElement).click();
    expect($("report-date-error", root)!.hidden).toBe(false);
    expect(day.getAttribute("aria-invalid")).toBe("true");
    expect(server.calls.some((c) => c.path === "/api/v1/reports/daily.xlsx")).toBe(false);
  });
});

describe("figures", () => {
  it("formats numbers and percentages with the browser's Intl: a decimal comma in Vietnamese", () => {
    expect(fmtNumber(1234567.891, 2, "vi")).toBe("1.234.567,89");
    expect(fmtNumber(1234567.891, 2, "en")).toBe("1,234,567.89");
    expect(fmtNumber(-0.04, 1, "vi")).toBe("0,0");
    expect(fmtNumber(-1234, 0, "vi")).toMatch(/^[-−]1\.234$/);
    expect(fmtPercent(0.0049, "vi")).toBe("0,5 %");
    expect(fmtPercent(1, "en")).toBe("100.0%");
    expect(fmtPercentValue(30, undefined, "vi")).toBe("30 %");
    expect(fmtPercentValue(72.5, undefined, "vi")).toBe("72,5 %");
    expect(fmtPercentValue(72.5, undefined, "en")).toBe("72.5%");
  });
});

describe("the range the dashboard opens on", () => {
  beforeEach(() => {
    sessionStorage.clear();
    localStorage.clear();
    setLang("vi");
  });
  it("asks from the campaign's first day however long ago, or ten years back", () => {
    expect(probeRange("2026-12-07", "2020-08-02")).toEqual({ from: "2020-08-02", to: "2026-12-07" });
    expect(probeRange("2026-12-07", null).from).toBe("2016-12-09");
    expect(probeRange("2026-12-07", "2027-01-01").from).toBe("2016-12-09");
  });

  it("opens on the first to the last day with visits, a year at most, never after today", () => {
    const day = (date: string, visits = 3) => ({ date, visits, households: visits, installed_now: 1 });
    expect(dataRange([day("2020-08-04"), day("2020-08-02"), day("2020-08-09")], "2026-12-07", "2020-08-02")).toEqual({ from: "2020-08-02", to: "2020-08-09" });
    expect(dataRange([day("2019-01-01"), day("2020-08-09")], "2026-12-07", null)).toEqual({ from: "2019-08-10", to: "2020-08-09" });
    expect(dataRange([day("2026-12-01"), day("2026-12-09")], "2026-12-07", null)).toEqual({ from: "2026-12-01", to: "2026-12-01" });
    expect(dataRange([day("2026-12-01", 0)], "2026-12-07", "2026-11-01")).toEqual({ from: "2026-11-01", to: "2026-12-07" });
    expect(dataRange([], "2026-12-07", "2020-08-02")).toEqual({ from: "2026-10-08", to: "2026-12-07" });
  });

  it("the demo opens on its data: a 2020 campaign read in 2026 shows August 2020, and the report is of its last day", async () => {
    vi.useFakeTimers({ toFake: ["Date"], now: new Date("2026-12-07T05:00:00Z") });
    try {
      const routes = defaultRoutes();
      routes["GET /api/v1/campaign"] = { ...CAMPAIGN, starts_on: "2020-08-02" };
      const server = fakeServer(routes);
      const { root } = await startApp();
      await signIn(root);
      const first = server.calls.find((c) => c.path === "/api/v1/progress")!;
      expect([first.query.get("from"), first.query.get("to")]).toEqual(["2020-08-02", "2026-12-07"]);
      await waitFor(() => ($("to", root) as HTMLInputElement).value === "05/08/2020", "the range of the data");
      expect(($("from", root) as HTMLInputElement).value).toBe("03/08/2020");
      expect(($("report-date", root) as HTMLInputElement).value).toBe("05/08/2020");
      expect($("days-chart", root)!.querySelectorAll("circle").length).toBeGreaterThan(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
