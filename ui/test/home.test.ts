import { afterEach, describe, expect, it } from "vitest";
import type { Correction, Rejected, VisitDraft } from "../src/types";
import { $, must, start, tap, waitFor, flush, type Harness } from "./helpers";

let hs: Harness | null = null;
afterEach(() => {
  hs?.app.destroy();
  hs = null;
});

describe("home", () => {
  it("shows the volunteer, the queue, the network and the last sync from a Status", async () => {
    const lastSync = new Date(Date.now() - 5 * 60_000).toISOString();
    hs = await start({
      online: true,
      status: { queue: { pending: 3, sent: 12, rejected: 2 }, last_sync_ok: lastSync },
    });
    expect($(hs.root, "home")).not.toBeNull();
    expect(must(hs.root, "home-volunteer").textContent).toContain("tnv.bacha");
    expect(must(hs.root, "home-volunteer").textContent).toContain("Phường Bắc Hà");
    expect(must(hs.root, "queue-pending").textContent).toBe("3");
    expect(must(hs.root, "queue-sent").textContent).toBe("12");
    expect(must(hs.root, "queue-rejected").textContent).toBe("2");
    expect(must(hs.root, "online-state").getAttribute("data-online")).toBe("true");
    expect(must(hs.root, "online-state").textContent).toContain("Có mạng");
    expect(must(hs.root, "last-sync").textContent).toBe("Gửi thành công lần cuối: 5 phút trước");
    expect($(hs.root, "auth-problem")).toBeNull();
    expect($(hs.root, "map")).not.toBeNull();
  });

  it("follows each Status event: counts, offline, sync progress", async () => {
    hs = await start({ online: true });
    hs.fake.pushStatus({ online: false, syncing: true, sync_progress: { sent: 2, total: 5 }, queue: { pending: 5, sent: 0, rejected: 1 } });
    expect(must(hs.root, "queue-pending").textContent).toBe("5");
    expect(must(hs.root, "queue-rejected").textContent).toBe("1");
    expect(must(hs.root, "online-state").getAttribute("data-online")).toBe("false");
    expect(must(hs.root, "online-state").textContent).toContain("Mất mạng");
    expect(must(hs.root, "sync-progress").hidden).toBe(false);
    expect(must(hs.root, "sync-progress").textContent).toContain("2/5");
    hs.fake.pushStatus({ syncing: false, sync_progress: null });
    expect(must(hs.root, "sync-progress").hidden).toBe(true);
  });

  it("shows a revoked phone prominently, keeps the records, and offers to enrol again", async () => {
    hs = await start({
      status: {
        queue: { pending: 4, sent: 20, rejected: 0 },
        auth_problem: {
          code: "device_revoked",
          message: "device revoked",
          field: null,
          messages: { vi: "Thiết bị đã bị thu hồi.", en: "This device was revoked." },
        },
      },
    });
    const banner = must(hs.root, "auth-problem");
    expect(banner.textContent).toContain("Thiết bị đã bị thu hồi");
    expect(banner.textContent).toContain("4 lượt thăm chưa gửi vẫn được giữ trên máy");
    expect(banner.getAttribute("role")).toBe("alert");
    // It is the first thing on the screen.
    expect(must(hs.root, "home").firstElementChild?.contains(banner)).toBe(true);
    tap(hs, "enrol-again");
    expect($(hs.root, "enrol-code")).not.toBeNull();
    expect($(hs.root, "enrol-server")).not.toBeNull();
  });

  it("tells a phone whose app is too old to update it, keeping its records, without offering to enrol again", async () => {
    hs = await start({
      status: {
        queue: { pending: 7, sent: 3, rejected: 0 },
        auth_problem: {
          code: "app_outdated",
          message: "too old",
          field: null,
          messages: { vi: "Ứng dụng trên điện thoại này (phiên bản 0.1.0) đã cũ.", en: "The app is too old." },
        },
      },
    });
    const banner = must(hs.root, "app-outdated");
    expect(banner.textContent).toContain("phiên bản 0.1.0) đã cũ");
    expect(banner.textContent).toContain("7 lượt thăm chưa gửi vẫn được giữ trên máy");
    expect($(hs.root, "enrol-again")).toBeNull();
    expect($(hs.root, "auth-problem")).toBeNull();
  });

  it("keeps the bottom bar's buttons through status events, so a tap under way is not lost", async () => {
    hs = await start({ online: true });
    const before = must(hs.root, "nav-settings");
    hs.fake.pushStatus({ syncing: true, sync_progress: { sent: 1, total: 4 }, queue: { pending: 3, sent: 1, rejected: 2 } });
    hs.fake.pushStatus({ syncing: true, sync_progress: { sent: 3, total: 4 } });
    expect(must(hs.root, "nav-settings")).toBe(before);
    expect(must(hs.root, "nav-rejected").querySelector(".badge")?.textContent).toBe("2");
    tap(hs, "nav-settings");
    expect(must(hs.root, "nav-settings")).toBe(before);
    expect(before.classList.contains("active")).toBe(true);
    expect(before.getAttribute("aria-current")).toBe("page");
    expect(must(hs.root, "nav-home").getAttribute("aria-current")).toBeNull();
  });

  it("shows the clock warning from the back end", async () => {
    hs = await start({ status: { clock_warning: { vi: "Đồng hồ máy lệch 2 giờ.", en: "The phone's clock is 2 hours off." } } });
    expect(must(hs.root, "clock-warning").textContent).toContain("Đồng hồ máy lệch 2 giờ.");
  });

  it("opens the refused list from the refused count", async () => {
    hs = await start({ status: { queue: { pending: 0, sent: 0, rejected: 0 } } });
    tap(hs, "queue-rejected");
    expect($(hs.root, "rejected")).not.toBeNull();
  });
});

describe("enrolment", () => {
  it("is shown when the phone is not enrolled, shows errors, and leads home", async () => {
    hs = await start({ enrolled: false, settings: { server: "https://doorstep.example.vn" } });
    expect($(hs.root, "home")).toBeNull();
    // Not enrolled, the phone has not synced: no "Mất mạng" while the server may well answer.
    expect($(hs.root, "online-state")).toBeNull();
    expect((must(hs.root, "enrol-server") as HTMLInputElement).value).toBe("https://doorstep.example.vn");
    const code = must(hs.root, "enrol-code") as HTMLInputElement;

    code.value = "abc";
    code.dispatchEvent(new Event("input"));
    tap(hs, "enrol-submit");
    expect(must(hs.root, "enrol-error").textContent).toContain("XXXXX-XXXXX");
    // Typing on, the error stays while the code is still short, and goes once it is whole.
    code.value = "00000 0000";
    code.dispatchEvent(new Event("input"));
    expect($(hs.root, "enrol-error")).not.toBeNull();
    code.value = "00000 00000";
    code.dispatchEvent(new Event("input"));
    expect($(hs.root, "enrol-error")).toBeNull();

    code.value = "00000 00000";
    code.dispatchEvent(new Event("input"));
    tap(hs, "enrol-submit");
    await waitFor(() => $(hs!.root, "enrol-error")?.textContent?.includes("Mã đăng ký không đúng"), "the back end's error");

    code.value = "k7m2q 9xb4t";
    code.dispatchEvent(new Event("input"));
    tap(hs, "enrol-submit");
    await waitFor(() => $(hs!.root, "home"), "home");
    expect($(hs.root, "online-state")).not.toBeNull();
    const call = hs.fake.calls.find((c) => c.cmd === "enrol" && (c.args as { code: string }).code !== "00000-00000");
    expect(call?.args).toEqual({ server: "https://doorstep.example.vn", code: "K7M2Q-9XB4T", ca: null });
  });
});

describe("visits sent back by the team leader", () => {
  it("show on home with the leader's note, open in the form filled as recorded, and save through correct_visit", async () => {
    const draft: VisitDraft = {
      household_id: "0190f5a0-0000-7000-8000-0000000000cc",
      address: "Số 9, ngõ 2",
      area_code: "18077",
      outcome: "installed_now",
      reason: null,
      people: 1,
      smartphones: 1,
      already_installed: 0,
      installed_now: 1,
      leaflet_given: true,
      location: { source: "gps", lat: 18.3472, lon: 105.9008, accuracy_m: 9 },
      notes: null,
    };
    const correction: Correction = {
      id: "0190f5a0-0000-7000-8000-0000000000c1",
      visit_id: "0190f5a0-0000-7000-8000-0000000000c2",
      revision: 1,
      comment: "Hộ có 4 người, không phải 1.",
      requested_by: "tt.bacha",
      requested_at: "2020-08-03T04:00:00Z",
      visited_at: "2020-08-03T02:00:00Z",
      answered: false,
      draft,
    };
    hs = await start({ corrections: [correction] });
    const banner = await waitFor(() => $(hs!.root, "corrections-banner"), "the banner on home");
    expect(banner.textContent).toContain("Tổ trưởng yêu cầu sửa 1 lượt thăm");
    tap(hs, "corrections-open");
    await waitFor(() => $(hs!.root, `correction-${correction.id}`), "the sent-back visit listed");
    expect(must(hs.root, `correction-comment-${correction.id}`).textContent).toBe("Hộ có 4 người, không phải 1.");
    tap(hs, `correction-fix-${correction.id}`);
    expect(must(hs.root, "correction-comment").textContent).toContain("tt.bacha yêu cầu:");
    expect(must(hs.root, "count-people-1").getAttribute("aria-pressed")).toBe("true");
    tap(hs, "count-people-4");
    tap(hs, "visit-save");
    await waitFor(() => $(hs!.root, "saved-toast"), "the saved toast");
    expect(must(hs.root, "saved-toast").textContent).toContain("theo yêu cầu của tổ trưởng");
    const call = hs.fake.calls.find((c) => c.cmd === "correct_visit");
    expect(call?.args).toEqual({ correctionId: correction.id, draft: { ...draft, people: 4 } });
    expect(hs.fake.calls.some((c) => c.cmd === "record_visit" || c.cmd === "fix_rejected")).toBe(false);
    // Answered: the banner goes, the list says it waits to be sent.
    await waitFor(() => !$(hs!.root, "corrections-banner"), "the banner gone");
    hs.app.ctx.go("corrections");
    await waitFor(() => $(hs!.root, `correction-answered-${correction.id}`), "marked corrected");
    await flush();
  });
});

describe("refused records", () => {
  it("show the server's reason and are fixed through the form, which calls fix_rejected", async () => {
    const draft: VisitDraft = {
      household_id: null,
      address: "Số 5, ngõ 3",
      area_code: "18077",
      outcome: "installed_now",
      reason: null,
      people: 1,
      smartphones: 9,
      already_installed: 0,
      installed_now: 1,
      leaflet_given: false,
      location: { source: "gps", lat: 18.3472, lon: 105.9008, accuracy_m: 11 },
      notes: null,
    };
    const rejected: Rejected = {
      device_seq: 42,
      id: "0190f5a0-0000-7000-8000-0000000000aa",
      rejected_at: "2020-08-03T02:15:00Z",
      draft,
      error: {
        code: "smartphones_exceed_people",
        message: "x",
        field: "smartphones",
        messages: { vi: "Số điện thoại thông minh lớn hơn mức hợp lý.", en: "More smartphones than is plausible." },
      },
    };
    hs = await start({ rejected: [rejected], status: { queue: { pending: 0, sent: 3, rejected: 1 } } });
    tap(hs, "nav-rejected");
    await waitFor(() => $(hs!.root, "rejected-42"), "the refused record");
    expect(must(hs.root, "rejected-reason-42").textContent).toBe("Số điện thoại thông minh lớn hơn mức hợp lý.");
    tap(hs, "rejected-fix-42");
    expect($(hs.root, "visit-form")).not.toBeNull();
    expect(must(hs.root, "field-error-smartphones").textContent).toContain("lớn hơn mức hợp lý");
    expect(must(hs.root, "stepper-smartphones-value").textContent).toBe("9");
    expect((must(hs.root, "address") as HTMLInputElement).value).toBe("Số 5, ngõ 3");
    tap(hs, "count-smartphones-2");
    tap(hs, "visit-save");
    await waitFor(() => $(hs!.root, "saved-toast"), "the saved toast");
    const call = hs.fake.calls.find((c) => c.cmd === "fix_rejected");
    expect(call?.args).toEqual({ deviceSeq: 42, draft: { ...draft, smartphones: 2 } });
    expect(hs.fake.calls.some((c) => c.cmd === "record_visit")).toBe(false);
    await flush();
  });

  it("asks for a sync as soon as the network comes back", async () => {
    hs = await start({ online: false });
    const before = hs.fake.calls.filter((c) => c.cmd === "sync_now").length;
    window.dispatchEvent(new Event("online"));
    await flush();
    expect(hs.fake.calls.filter((c) => c.cmd === "sync_now").length).toBe(before + 1);
  });

  it("refused for its area, as the server refuses an unknown one, lets the area be changed and sends the new one", async () => {
    const draft: VisitDraft = {
      household_id: "0190f5a0-0000-7000-8000-0000000000bb",
      address: "Số 7, ngõ 1",
      area_code: "99999",
      outcome: "installed_now",
      reason: null,
      people: 1,
      smartphones: 1,
      already_installed: 0,
      installed_now: 1,
      leaflet_given: true,
      location: { source: "gps", lat: 18.3472, lon: 105.9008, accuracy_m: 9 },
      notes: null,
    };
    const rejected: Rejected = {
      device_seq: 7,
      id: "0190f5a0-0000-7000-8000-0000000000cc",
      rejected_at: "2020-08-03T02:15:00Z",
      draft,
      error: { code: "unknown_area", message: "x", field: "area_code", messages: { vi: "Không có địa bàn 99999.", en: "No area 99999." } },
    };
    hs = await start({ rejected: [rejected], status: { queue: { pending: 0, sent: 0, rejected: 1 } } });
    tap(hs, "nav-rejected");
    await waitFor(() => $(hs!.root, "rejected-fix-7"), "the refused record");
    tap(hs, "rejected-fix-7");
    const area = must(hs.root, "area") as HTMLSelectElement;
    expect(area.closest("[hidden]")).toBeNull();
    expect(must(hs.root, "field-error-area_code").textContent).toContain("99999");
    const other = Array.from(area.options).find((o) => o.value !== "99999");
    area.value = other!.value;
    area.dispatchEvent(new Event("change"));
    tap(hs, "visit-save");
    await waitFor(() => hs!.fake.calls.find((c) => c.cmd === "fix_rejected"), "fix_rejected");
    const call = hs.fake.calls.find((c) => c.cmd === "fix_rejected")!.args as { deviceSeq: number; draft: VisitDraft };
    expect(call.deviceSeq).toBe(7);
    expect(call.draft.area_code).toBe(other!.value);
    expect(call.draft.household_id).toBe(draft.household_id);
  });
});
