import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { $, apiError, defaultRoutes, fakeServer, flush, signIn, startApp, waitFor } from "./helpers";

describe("dashboard sections", () => {
  beforeEach(() => {
    sessionStorage.clear();
    localStorage.clear();
  });
  afterEach(() => vi.restoreAllMocks());

  it("shows a clear message instead of the map without WebGL, and the rest works", async () => {
    fakeServer(defaultRoutes());
    const { root } = await startApp();
    await signIn(root);
    expect($("map-unavailable", root)!.textContent).toContain("WebGL");
    expect($("units-table", root)).not.toBeNull();
    // The outcome filter is there all the same, one box per outcome and one for unvisited.
    expect(($("outcome-filter-refused", root) as HTMLInputElement).checked).toBe(true);
    expect($("outcome-filter-unvisited", root)).not.toBeNull();
  });

  it("lists the revisits with a print button that prints", async () => {
    fakeServer(defaultRoutes());
    const print = vi.fn();
    vi.stubGlobal("print", print);
    window.print = print;
    const { root } = await startApp();
    await signIn(root);
    expect($("revisit-h1", root)!.textContent).toContain("12 Trần Phú");
    expect($("revisit-h1", root)!.textContent).toContain("Vắng nhà");
    expect($("revisit-h2", root)!.textContent).toContain("chưa có địa chỉ");
    ($("print", root) as HTMLButtonElement).click();
    expect(print).toHaveBeenCalledTimes(1);
  });

  it("explains the flags and names the area", async () => {
    fakeServer(defaultRoutes());
    const { root } = await startApp();
    await signIn(root);
    const text = $("flagged", root)!.textContent!;
    expect(text).toContain("Huyện Can Lộc");
    expect(text).toContain("04/08/2020 02:30");
    expect(text).toContain("Ngoài địa bàn được giao");
    expect(text).toContain("Khác người");
    expect(text).toContain("12 m");
    // Who, by name; not the first eight characters of an id.
    expect(text).toContain("Trần Thị Lan");
    expect(text).not.toContain("01a22126");
  });

  it("downloads the daily report with the bearer token", async () => {
    const routes = defaultRoutes();
    routes["GET /api/v1/reports/daily.xlsx"] = () =>
      new Response(new Blob(["PK"]), {
        status: 200,
        headers: { "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Content-Disposition": 'attachment; filename="doorstep-42-2020-08-04.xlsx"' },
      });
    const server = fakeServer(routes);
    const created = vi.fn(() => "blob:fake");
    URL.createObjectURL = created;
    URL.revokeObjectURL = vi.fn();
    const clicks: string[] = [];
    vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
      clicks.push(this.download);
    });
    const { root } = await startApp();
    await signIn(root);
    const date = $("report-date", root) as HTMLInputElement;
    date.value = "2020-08-04";
    date.dispatchEvent(new Event("change"));
    ($("report-download", root) as HTMLButtonElement).click();
    await waitFor(() => clicks.length > 0, "the download");
    expect(clicks).toEqual(["doorstep-42-2020-08-04.xlsx"]);
    const call = server.calls.find((c) => c.path === "/api/v1/reports/daily.xlsx")!;
    expect(call.query.get("area")).toBe("42");
    expect(call.query.get("date")).toBe("2020-08-04");
    expect(call.headers.authorization).toBe("Bearer tok-1");
    await flush();
    expect($("report-status", root)!.textContent).toContain("doorstep-42-2020-08-04.xlsx");
  });

  it("shows a section's error in the chosen language with a retry", async () => {
    const routes = defaultRoutes();
    let fail = true;
    const ok = routes["GET /api/v1/visits"];
    routes["GET /api/v1/visits"] = () => (fail ? apiError(500, "storage", "Lỗi lưu trữ.", "Storage error.") : new Response(JSON.stringify(ok)));
    fakeServer(routes);
    const { root } = await startApp();
    await signIn(root);
    expect($("flagged", root)!.textContent).toContain("Lỗi lưu trữ.");
    ($("lang-en", root) as HTMLButtonElement).click();
    expect($("flagged", root)!.textContent).toContain("Storage error.");
    fail = false;
    ($("flagged", root)!.querySelector("button") as HTMLButtonElement).click();
    await waitFor(() => $("flagged", root)!.textContent!.includes("Outside the assignment"), "the list");
  });
});
