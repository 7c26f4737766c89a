import { afterEach, describe, expect, it } from "vitest";
import { setLang } from "../src/i18n";
import type { Rejected } from "../src/types";
import { $, must, start, tap, waitFor, type Harness } from "./helpers";

let hs: Harness | null = null;
afterEach(() => {
  hs?.app.destroy();
  hs = null;
});

const refused: Rejected = {
  device_seq: 7,
  id: "0190f5a0-0000-7000-8000-0000000000d1",
  rejected_at: "2020-08-03T04:00:00Z",
  error: { code: "id_reused", message: "id reused", field: null, messages: { vi: "Mã đã dùng.", en: "Id reused." } },
  draft: {
    household_id: null,
    address: "Số 1",
    area_code: "18077",
    outcome: "not_home",
    reason: null,
    people: 0,
    smartphones: 0,
    already_installed: 0,
    installed_now: 0,
    leaflet_given: false,
    location: { source: "gps", lat: 18.3472, lon: 105.9008, accuracy_m: 9 },
    notes: null,
  },
};

describe("a revoked phone", () => {
  it("says it was revoked, when and why, while it sends what it holds", async () => {
    hs = await start({
      status: { revoked: { revoked_at: "2020-08-03T01:30:00Z", reason: "Mất máy", pending: 3, refused: 0 } },
    });
    const banner = must(hs.root, "revoked-wipe");
    expect(banner.getAttribute("role")).toBe("alert");
    expect(banner.textContent).toContain("Điện thoại này đã bị thu hồi vào 03/08/2020 08:30");
    expect(banner.textContent).toContain("3 bản ghi chưa gửi");
    expect(must(hs.root, "revoked-reason").textContent).toBe("Lý do: Mất máy");
    expect($(hs.root, "revoked-refused")).toBeNull();
    // The older "revoked, records kept" banner is not shown beside it.
    expect($(hs.root, "auth-problem")).toBeNull();
  });

  it("keeps records the server refused and shows them: the erase waits", async () => {
    hs = await start({ online: true, syncStepMs: 1, rejected: [refused] });
    hs.fake.revoke("Mất máy");
    const note = await waitFor(() => $(hs!.root, "revoked-refused"), "the refused records named");
    expect(note.textContent).toContain("1 bản ghi bị máy chủ trả lại vẫn được giữ trên máy");
    expect(hs.fake.status().enrolled).toBe(true);
    expect(hs.fake.status().wiped ?? null).toBeNull();
    tap(hs, "revoked-refused-open");
    expect($(hs.root, "rejected")).not.toBeNull();
  });

  it("refuses new visits once it knows", async () => {
    hs = await start({ online: false });
    hs.fake.revoke();
    await expect(hs.fake.invoke("record_visit", { draft: refused.draft })).rejects.toMatchObject({ code: "device_revoked" });
  });

  it("sends what it holds, then erases itself and says why, in both languages, and can be enrolled again", async () => {
    hs = await start({ online: true, syncStepMs: 1 });
    await hs.fake.invoke("record_visit", { draft: { ...refused.draft, notes: "first" } });
    await waitFor(() => hs!.fake.status().queue.pending === 0, "the first visit sent");
    hs.fake.setOnline(false);
    await hs.fake.invoke("record_visit", { draft: { ...refused.draft, notes: "second" } });
    expect(hs.fake.status().queue.pending).toBe(1);
    hs.fake.revoke("Điện thoại bị mất");
    expect(hs.fake.status().enrolled).toBe(true);
    hs.fake.setOnline(true);
    const wiped = await waitFor(() => $(hs!.root, "wiped"), "the wiped message");
    expect(wiped.textContent).toContain("Điện thoại này đã bị thu hồi vào");
    expect(wiped.textContent).toContain("dữ liệu trên máy đã được gửi về máy chủ rồi xoá");
    expect(must(hs.root, "wiped-reason").textContent).toBe("Lý do: Điện thoại bị mất");
    const s = hs.fake.status();
    expect(s.enrolled).toBe(false);
    expect(s.queue.pending).toBe(0);
    expect(s.wiped?.records_sent).toBeGreaterThanOrEqual(2);
    expect(await hs.fake.invoke("get_today")).toEqual([]);
    // The older "your unsent visits are kept" note would be wrong here.
    expect(hs.root.textContent).not.toContain("vẫn được giữ trên máy");

    setLang("en");
    tap(hs, "enrol-language-en");
    await waitFor(() => $(hs!.root, "wiped")?.textContent?.includes("This phone was revoked on"), "English");
    expect(must(hs.root, "wiped").textContent).toContain("its data was sent to the server, then erased");

    const code = must(hs.root, "enrol-code") as HTMLInputElement;
    code.value = "k7m2q 9xb4t";
    code.dispatchEvent(new Event("input"));
    tap(hs, "enrol-submit");
    await waitFor(() => $(hs!.root, "home"), "home after a new enrolment");
    expect(hs.fake.status().wiped ?? null).toBeNull();
  });
});
