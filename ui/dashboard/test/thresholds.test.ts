import { beforeEach, describe, expect, it } from "vitest";
import { BAND_COLORS, coverageBand, coverageColor, coverageFillExpression, DEFAULT_THRESHOLDS, loadThresholds, type Thresholds } from "../src/thresholds";
import { $, CAMPAIGN, defaultRoutes, fakeServer, signIn, startApp } from "./helpers";

/** Evaluates the few MapLibre expression operators the fill uses, to check it agrees with coverageBand. */
function evaluate(e: unknown, props: Record<string, unknown>): unknown {
  if (!Array.isArray(e)) return e;
  const [op, ...a] = e;
  switch (op) {
    case "get":
      return props[a[0] as string] ?? null;
    case "typeof": {
      const v = evaluate(a[0], props);
      return v === null ? "null" : typeof v;
    }
    case "==":
      return evaluate(a[0], props) === evaluate(a[1], props);
    case "case":
      for (let i = 0; i + 1 < a.length; i += 2) if (evaluate(a[i], props)) return evaluate(a[i + 1], props);
      return evaluate(a[a.length - 1], props);
    case "step": {
      const x = evaluate(a[0], props) as number;
      let out = evaluate(a[1], props);
      for (let i = 2; i + 1 < a.length; i += 2) if (x >= (a[i] as number)) out = evaluate(a[i + 1], props);
      return out;
    }
    default:
      throw new Error(`operator ${String(op)}`);
  }
}

describe("coverage thresholds", () => {
  beforeEach(() => {
    localStorage.clear();
    sessionStorage.clear();
  });

  it("colours by the default thresholds: <30 % red, <70 % amber, ≥70 % green", () => {
    const th = DEFAULT_THRESHOLDS;
    expect(coverageBand(0, th)).toBe("red");
    expect(coverageBand(0.299, th)).toBe("red");
    expect(coverageBand(0.3, th)).toBe("amber");
    expect(coverageBand(0.6999, th)).toBe("amber");
    expect(coverageBand(0.7, th)).toBe("green");
    expect(coverageBand(1, th)).toBe("green");
    expect(coverageBand(null, th)).toBe("none");
    expect(coverageColor(0.5, th)).toBe(BAND_COLORS.amber);
  });

  it("gives the map the same colours as the tables", () => {
    const cases: Thresholds[] = [DEFAULT_THRESHOLDS, { low: 50, high: 90 }, { low: 40, high: 40 }, { low: 0, high: 100 }];
    for (const th of cases) {
      const expr = coverageFillExpression(th);
      for (const rate of [0, 0.1, 0.3, 0.399, 0.4, 0.5, 0.69, 0.7, 0.899, 0.9, 1, null]) {
        expect(evaluate(expr, { coverage_rate: rate }), `${JSON.stringify(th)} ${rate}`).toBe(coverageColor(rate, th));
      }
    }
  });

  it("are edited in the settings panel, remembered, and recolour the units", async () => {
    fakeServer(defaultRoutes());
    const { root } = await startApp();
    await signIn(root);
    // Đức Thọ: 100 of 320 households visited (31 %): amber by default.
    const cell = () => $("unit-row-440", root)!.querySelector("td.band-red, td.band-amber, td.band-green, td.band-none")!;
    expect(cell().className).toContain("band-amber");
    expect($("unit-row-445", root)!.querySelector("td.band-none")).not.toBeNull();
    (($("threshold-low", root) as HTMLInputElement).value = "50"), (($("threshold-high", root) as HTMLInputElement).value = "80");
    ($("threshold-save", root) as HTMLButtonElement).click();
    expect(cell().className).toContain("band-red");
    // Can Lộc: 240 / 340 = 70,6 %: amber now (below 80).
    expect($("unit-row-443", root)!.querySelector("td.band-amber")).not.toBeNull();
    expect(loadThresholds()).toEqual({ low: 50, high: 80 });
    // Refused: the red one above the amber one.
    ($("threshold-low", root) as HTMLInputElement).value = "90";
    ($("threshold-save", root) as HTMLButtonElement).click();
    expect(root.querySelector(".settings .error")!.textContent).toContain("Ngưỡng");
    expect(loadThresholds()).toEqual({ low: 50, high: 80 });
  });

  it("come with the campaign's name and store links in the header", async () => {
    fakeServer({ ...defaultRoutes(), "GET /api/v1/campaign": { ...CAMPAIGN, store_links: [{ store: "Google Play", url: "https://play.google.com/store/search?q=Bluezone" }] } });
    const { root } = await startApp();
    await signIn(root);
    const line = $("campaign-line", root)!;
    expect(line.textContent).toContain(CAMPAIGN.name.vi);
    const link = line.querySelector("a")!;
    expect([link.textContent, link.getAttribute("href")]).toEqual(["Google Play", "https://play.google.com/store/search?q=Bluezone"]);
  });

  it("start from the campaign's bands, which reset brings back", async () => {
    fakeServer({ ...defaultRoutes(), "GET /api/v1/campaign": { ...CAMPAIGN, coverage_bands: { low_percent: 20, high_percent: 30 } } });
    const { root } = await startApp();
    await signIn(root);
    // Đức Thọ, 31 %: green under this campaign's bands (amber under the defaults).
    expect($("unit-row-440", root)!.querySelector("td.band-green")).not.toBeNull();
    expect(($("threshold-low", root) as HTMLInputElement).value).toBe("20");
    (($("threshold-low", root) as HTMLInputElement).value = "50"), (($("threshold-high", root) as HTMLInputElement).value = "80");
    ($("threshold-save", root) as HTMLButtonElement).click();
    expect($("unit-row-440", root)!.querySelector("td.band-red")).not.toBeNull();
    // A threshold saved in this browser wins over the campaign's, until reset.
    expect(loadThresholds({ low: 20, high: 30 })).toEqual({ low: 50, high: 80 });
    ($("threshold-reset", root) as HTMLButtonElement).click();
    expect($("unit-row-440", root)!.querySelector("td.band-green")).not.toBeNull();
    expect(loadThresholds({ low: 20, high: 30 })).toEqual({ low: 20, high: 30 });
  });
});
