import { beforeEach, describe, expect, it } from "vitest";
import { continuousDays, renderChart } from "../src/chart";
import { setLang } from "../src/i18n";
import type { Day } from "../src/types";
import { $, DAYS, ROOT, UNITS, defaultRoutes, fakeServer, signIn, startApp, waitFor } from "./helpers";

const points = (el: Element, series: string) => [...el.querySelectorAll(`[data-series="${series}"] circle`)];

describe("daily chart", () => {
  beforeEach(() => setLang("vi"));

  it("draws one point per day in each series", () => {
    const el = renderChart(DAYS);
    expect(el.dataset.testid).toBe("days-chart");
    expect(el.querySelector("svg")).not.toBeNull();
    const hs = points(el, "households");
    expect(hs).toHaveLength(3);
    expect(hs.map((c) => c.getAttribute("data-date"))).toEqual(["2020-08-03", "2020-08-04", "2020-08-05"]);
    expect(points(el, "installs")).toHaveLength(3);
    // The busiest day is the highest point; the cumulative installs never go down.
    const y = (c: Element) => Number(c.getAttribute("cy"));
    expect(y(hs[1])).toBeLessThan(y(hs[0]));
    const ins = points(el, "installs").map(y);
    expect(ins[0]).toBeGreaterThan(ins[1]);
    expect(ins[1]).toBeGreaterThan(ins[2]);
    // Each point says what it is, cumulative installs included (4, 13, 20).
    expect(hs[2].querySelector("title")!.textContent).toBe("05/08/2020: 20 hộ được thăm; cộng dồn 20 máy cài mới");
    expect(hs[1].querySelector("title")!.textContent).toContain("cộng dồn 13");
  });

  it("fills days without visits with zero, in date order", () => {
    const days: Day[] = [
      { date: "2020-08-06", visits: 5, households: 5, installed_now: 1 },
      { date: "2020-08-03", visits: 2, households: 2, installed_now: 1 },
    ];
    const filled = continuousDays(days);
    expect(filled.map((d) => d.date)).toEqual(["2020-08-03", "2020-08-04", "2020-08-05", "2020-08-06"]);
    expect(filled[1].households).toBe(0);
    expect(points(renderChart(days), "households")).toHaveLength(4);
  });

  it("draws a single day and says when there is nothing", () => {
    expect(points(renderChart(DAYS.slice(0, 1)), "households")).toHaveLength(1);
    const empty = renderChart([]);
    expect(empty.querySelector("svg")).toBeNull();
    expect(empty.textContent).toContain("Chưa có lượt thăm");
  });

  it("is on the dashboard, and the date range reloads progress", async () => {
    sessionStorage.clear();
    const routes = defaultRoutes();
    const server = fakeServer(routes);
    const { root } = await startApp();
    await signIn(root);
    expect(points($("days-chart", root)!, "households")).toHaveLength(3);
    const from = $("from", root) as HTMLInputElement;
    const to = $("to", root) as HTMLInputElement;
    // Dates are shown dd/mm/yyyy; the range opens on the days that hold data (DAYS: 3 to 5 August 2020).
    expect(to.value).toBe("05/08/2020");
    expect(($("from", root) as HTMLInputElement).value).toBe("03/08/2020");
    routes["GET /api/v1/progress"] = { area: ROOT, units: UNITS, days: DAYS.slice(1) };
    from.value = "2020-08-04";
    from.dispatchEvent(new Event("change"));
    const last = () => server.calls.filter((c) => c.path === "/api/v1/progress").slice(-1)[0];
    await waitFor(() => last().query.get("from") === "2020-08-04", "a reload");
    expect(last().query.get("to")).toBe("2020-08-05");
    expect(from.value).toBe("04/08/2020");
    await waitFor(() => $("days-chart", root) && points($("days-chart", root)!, "households").length === 2, "the new curve");
  });
});
