import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { renderDevices, renderVolunteerDays, sinceText } from "../src/devices";
import { setLang } from "../src/i18n";
import { flagText, KNOWN_FLAGS, renderFlagged } from "../src/lists";
import { $, apiError, DEVICES, defaultRoutes, FLAGGED, fakeServer, flush, signIn, startApp, VOLUNTEER_DAYS, waitFor } from "./helpers";

/** The last request to a path. */
const last = (calls: { path: string; query: URLSearchParams }[], path: string) => calls.filter((c) => c.path === path).slice(-1)[0];

const deviceRows = (root: ParentNode) => [...root.querySelectorAll<HTMLElement>('[data-testid="devices"] tbody tr')];

describe("volunteers and devices", () => {
  beforeEach(() => {
    sessionStorage.clear();
    localStorage.clear();
    setLang("vi");
  });
  afterEach(() => vi.restoreAllMocks());

  it("lists the phones stale first, marked in words and not by colour alone", async () => {
    const server = fakeServer(defaultRoutes());
    const { root } = await startApp();
    await signIn(root);
    await waitFor(() => $("devices", root), "the devices");
    const rows = deviceRows(root);
    expect(rows.map((r) => r.dataset.testid)).toEqual(["device-dev-never-0000", "device-dev-silent-000", "device-dev-fresh-0000", "device-dev-lost-00000"]);
    expect(rows.map((r) => r.dataset.stale)).toEqual(["true", "true", "false", "false"]);
    for (const r of rows.slice(0, 2)) {
      expect(r.classList.contains("stale")).toBe(true);
      // The word and the sign, in bold: readable without colour and in print.
      expect(r.querySelector("td.status strong")!.textContent).toBe("⚠ Mất liên lạc");
    }
    expect(rows[0].textContent).toContain("Chưa đồng bộ lần nào");
    // Who, by name, with the username that tells two of the same name apart.
    expect(rows[0].querySelector(".person")!.textContent).toBe("Lê Văn Minh @tnv.minh");
    expect(rows[1].textContent).toContain("30 giờ trước");
    expect(rows[1].textContent).toContain("05/08/2020 04:00");
    expect(rows[1].textContent).toContain("10 phút");
    expect(rows[2].textContent).toContain("Bình thường");
    expect(rows[2].textContent).toContain("10 phút trước");
    expect(rows[3].textContent).toContain("Đã thu hồi");
    // The app version each phone last synced with; older than the newest here (0.10.0 is newer
    // than 0.9.2, number by number) is marked for an update.
    expect($("app-version-dev-fresh-0000", root)!.textContent).toBe("Ứng dụng 0.10.0");
    expect($("app-version-dev-fresh-0000", root)!.dataset.outdated).toBeUndefined();
    expect($("app-version-dev-silent-000", root)!.textContent).toBe("Ứng dụng 0.9.2 (cần cập nhật lên 0.10.0)");
    expect($("app-version-dev-silent-000", root)!.dataset.outdated).toBe("true");
    expect($("app-version-dev-never-0000", root)!.textContent).toBe("Chưa rõ phiên bản");
    expect($("devices-stale-count", root)!.textContent).toBe("2 trên 4 thiết bị mất liên lạc.");
    // Asked for the area on screen, with the default threshold (not sent).
    const call = server.calls.find((c) => c.path === "/api/v1/devices")!;
    expect(call.query.get("area")).toBe("42");
    expect(call.query.has("stale_hours")).toBe(false);
  });

  it("lets a leader revoke a live phone with a reason after a confirm; a committee member only reads", async () => {
    const leader = { username: "totruong.lan", role: "leader", area_code: "42" };
    const routes = defaultRoutes();
    routes["POST /api/v1/auth/login"] = { token: "tok-2", expires_at: "2030-01-01T00:00:00Z", user: leader };
    routes["GET /api/v1/auth/me"] = leader;
    routes["POST /api/v1/devices/dev-silent-000/revoke"] = () => new Response(null, { status: 204 });
    const server = fakeServer(routes);
    const confirm = vi.spyOn(window, "confirm").mockReturnValueOnce(false).mockReturnValueOnce(true);
    const { root } = await startApp();
    await signIn(root);
    await waitFor(() => $("devices", root), "the devices");
    // The revoked phone says why; it has nothing more to revoke.
    expect($("revoke-reason-dev-lost-00000", root)!.textContent).toBe(": Mất máy ở chợ");
    expect($("revoke-dev-lost-00000", root)).toBeNull();
    ($("revoke-dev-silent-000", root) as HTMLElement).click();
    ($("revoke-reason-input-dev-silent-000", root) as HTMLInputElement).value = "  Mất máy  ";
    const submit = () => ($("revoke-submit-dev-silent-000", root) as HTMLButtonElement).click();
    const revokes = () => server.calls.filter((c) => c.method === "POST" && c.path.endsWith("/revoke"));
    // Cancelled at the confirm: nothing is sent.
    submit();
    await flush();
    expect(confirm.mock.calls[0][0]).toBe("Thu hồi điện thoại dev-sile của Trần Thị Lan? Máy sẽ gửi nốt những gì còn giữ, rồi tự xoá dữ liệu và không dùng được nữa cho đến khi đăng ký lại.");
    expect(revokes()).toHaveLength(0);
    const listed = server.calls.filter((c) => c.path === "/api/v1/devices").length;
    submit();
    await waitFor(() => (revokes().length === 1 ? true : null), "the revoke");
    expect(revokes()[0].body).toEqual({ reason: "Mất máy" });
    // The list reads again.
    await waitFor(() => (server.calls.filter((c) => c.path === "/api/v1/devices").length > listed ? true : null), "the reload");
  });

  it("shows a committee member no revoke button", async () => {
    fakeServer(defaultRoutes());
    const { root } = await startApp();
    await signIn(root);
    await waitFor(() => $("devices", root), "the devices");
    expect(root.querySelector('[data-testid^="revoke-dev"]')).toBeNull();
  });

  it("shows each volunteer's days with a total, over the progress range", async () => {
    const server = fakeServer(defaultRoutes());
    const { root } = await startApp();
    await signIn(root);
    const table = await waitFor(() => $("volunteer-days", root), "the days");
    expect($("vday-tnv.lan-2020-08-04", table)!.textContent).toContain("04/08/2020");
    expect($("vday-tnv.lan-2020-08-05", table)!.textContent).toContain("1.234");
    const total = $("vtotal-tnv.lan", table)!.textContent!;
    expect(total).toContain("Cộng");
    expect(total).toContain("Trần Thị Lan @tnv.lan");
    expect(total).toContain("1.246");
    expect(total).toContain("1.211");
    // A volunteer id no account has.
    expect(table.textContent).toContain("Chưa rõ (01a22126)");
    const days = server.calls.find((c) => c.path === "/api/v1/volunteers/daily")!;
    expect(days.query.get("area")).toBe("42");
    // The range the progress opened on: the days that hold data (DAYS: 3 to 5 August 2020).
    expect(days.query.get("from")).toBe(($("from", root) as HTMLInputElement).dataset.iso);
    expect(days.query.get("to")).toBe(($("to", root) as HTMLInputElement).dataset.iso);
    expect([days.query.get("from"), days.query.get("to")]).toEqual(["2020-08-03", "2020-08-05"]);
    // A new range reloads the days.
    const from = $("from", root) as HTMLInputElement;
    from.value = "2020-08-01";
    from.dispatchEvent(new Event("change"));
    await flush();
    expect(last(server.calls, "/api/v1/volunteers/daily").query.get("from")).toBe("2020-08-01");
  });

  it("asks again with another stale threshold, remembers it, and refuses a bad one", async () => {
    const server = fakeServer(defaultRoutes());
    const { root } = await startApp();
    await signIn(root);
    await waitFor(() => $("devices", root), "the devices");
    const input = $("stale-hours", root) as HTMLInputElement;
    const asked = () => server.calls.filter((c) => c.path === "/api/v1/devices").length;
    const before = asked();
    input.value = "0";
    ($("stale-apply", root) as HTMLButtonElement).click();
    await flush();
    expect(asked()).toBe(before);
    expect(root.querySelector("#people-section [role=alert]")!.textContent).toContain("từ 1 đến 720");
    (($("stale-hours", root) as HTMLInputElement).value = "48");
    ($("stale-apply", root) as HTMLButtonElement).click();
    await flush();
    expect(last(server.calls, "/api/v1/devices").query.get("stale_hours")).toBe("48");
    expect(localStorage.getItem("doorstep.dashboard.staleHours")).toBe("48");
    expect(root.querySelector("#people-section")!.textContent).toContain("quá 48 giờ");
  });

  it("follows the language and shows a refusal with a retry", async () => {
    const routes = defaultRoutes();
    let refuse = true;
    routes["GET /api/v1/devices"] = () =>
      refuse ? apiError(403, "staff_only", "Chỉ tổ trưởng xem được.", "Only team leaders may read this.") : new Response(JSON.stringify(DEVICES));
    fakeServer(routes);
    const { root } = await startApp();
    await signIn(root);
    expect($("devices", root)!.textContent).toContain("Chỉ tổ trưởng xem được.");
    ($("lang-en", root) as HTMLButtonElement).click();
    expect($("devices", root)!.textContent).toContain("Only team leaders may read this.");
    expect(root.querySelector("#people-section h2")!.textContent).toBe("Volunteers and devices");
    refuse = false;
    ($("devices", root)!.querySelector("button") as HTMLButtonElement).click();
    await waitFor(() => deviceRows(root).length === 4, "the list");
    expect(deviceRows(root)[0].querySelector("td.status")!.textContent).toBe("⚠ Stale");
    expect(deviceRows(root)[1].textContent).toContain("30 hours ago");
    expect($("vtotal-tnv.lan", root)!.textContent).toContain("1,246");
  });

  it("loads the unit opened", async () => {
    const server = fakeServer(defaultRoutes());
    const { root } = await startApp();
    await signIn(root);
    $("unit-row-443", root)!.click();
    await waitFor(() => server.calls.some((c) => c.path === "/api/v1/devices" && c.query.get("area") === "443"), "the unit's devices");
    expect(server.calls.some((c) => c.path === "/api/v1/volunteers/daily" && c.query.get("area") === "443")).toBe(true);
  });
});

describe("rendering pieces", () => {
  beforeEach(() => setLang("vi"));

  it("says how long ago in minutes, hours or days", () => {
    expect(sinceText(null)).toBe("Chưa đồng bộ lần nào");
    expect(sinceText(5)).toBe("5 phút trước");
    expect(sinceText(119)).toBe("119 phút trước");
    expect(sinceText(120)).toBe("2 giờ trước");
    expect(sinceText(47 * 60 + 59)).toBe("47 giờ trước");
    expect(sinceText(3 * 24 * 60 + 5)).toBe("3 ngày trước");
    setLang("en");
    expect(sinceText(1800)).toBe("30 hours ago");
  });

  it("says when there is nothing", () => {
    expect(renderDevices({ ...DEVICES, devices: [] }).textContent).toContain("Chưa có điện thoại nào");
    expect(renderVolunteerDays([]).textContent).toContain("Chưa có lượt thăm nào");
    expect(renderVolunteerDays(VOLUNTEER_DAYS).querySelectorAll("tr.subtotal").length).toBe(2);
  });

  it("explains every flag the server sets, in both languages", () => {
    const visit = { ...FLAGGED[0], flags: [...KNOWN_FLAGS, "new_rule"] };
    const text = renderFlagged([visit], new Map()).textContent!;
    for (const phrase of ["Vị trí kém chính xác", "Xa hộ", "Ngoài ranh giới", "Di chuyển quá nhanh", "Nhiều hộ ghi từ một chỗ", "Cờ khác: new_rule"]) {
      expect(text).toContain(phrase);
    }
    setLang("en");
    expect(flagText("poor_accuracy")).toContain("Poor accuracy");
    expect(flagText("far_from_household")).toContain("Far from the household");
    expect(flagText("outside_area")).toContain("Outside the area");
    expect(flagText("implausible_speed")).toContain("60 km/h");
    expect(flagText("burst")).toContain("Several households from one spot");
    // Claims: two volunteers in one household within the claim time (doorstep_domain::claim).
    expect(KNOWN_FLAGS).toContain("overlap");
    expect(flagText("overlap")).toContain("Two volunteers visited this household within the claim time");
    setLang("vi");
    expect(flagText("overlap")).toContain("Hai tình nguyện viên cùng thăm hộ này trong thời gian giữ");
    // Every flag has its own sentence in each language, not the fallback.
    for (const lang of ["vi", "en"] as const) {
      setLang(lang);
      for (const f of KNOWN_FLAGS) expect(flagText(f)).not.toContain(f);
    }
  });
});
