import { afterEach, describe, expect, it } from "vitest";
import type { VisitDraft } from "../src/types";
import { $, HERE, householdAt, must, start, tap, waitFor, type Harness } from "./helpers";

let hs: Harness | null = null;
afterEach(() => {
  hs?.app.destroy();
  hs = null;
});

const gps = { source: "gps" as const, lat: HERE.lat, lon: HERE.lon, accuracy_m: 8 };

function recorded(h: Harness): VisitDraft[] {
  return h.fake.calls.filter((c) => c.cmd === "record_visit").map((c) => (c.args as { draft: VisitDraft }).draft);
}

async function openForm(h: Harness) {
  tap(h, "new-visit");
  await waitFor(() => $(h.root, "visit-form"), "the visit form");
  // "After arriving": the location line shows the fix.
  await waitFor(() => !must(h.root, "location-line").textContent?.includes("Đang lấy"), "the location");
}

describe("the common visit", () => {
  it("is four taps for a known household at the door: New visit, the household, Installed now, Save", async () => {
    hs = await start({
      fix: gps,
      households: [householdAt("h-far-00000000001", HERE.lat, HERE.lon, 120), householdAt("h-door-0000000002", HERE.lat, HERE.lon, 12)],
    });
    await openForm(hs);
    // Never chosen for the volunteer (the neighbour may be closer than GPS can tell), but listed.
    expect(must(hs.root, "household-current").textContent).not.toContain("Số 02, đường Nguyễn Du");
    await waitFor(() => $(hs!.root, "household-h-door-0000000002"), "the household at the door, listed");
    tap(hs, "household-h-door-0000000002");
    tap(hs, "outcome-installed_now");
    tap(hs, "visit-save");
    await waitFor(() => $(hs!.root, "saved-toast"), "the saved toast");

    expect(hs.taps).toBe(4);
    const drafts = recorded(hs);
    expect(drafts).toHaveLength(1);
    expect(drafts[0]).toEqual({
      household_id: "h-door-0000000002",
      address: "Số 02, đường Nguyễn Du",
      area_code: "18077",
      outcome: "installed_now",
      reason: null,
      people: 1,
      smartphones: 1,
      already_installed: 0,
      installed_now: 1,
      leaflet_given: true,
      location: { source: "gps", lat: HERE.lat, lon: HERE.lon, accuracy_m: 8 },
      notes: null,
    });
    // Back home, with the confirmation and the queue grown by one.
    expect($(hs.root, "home")).not.toBeNull();
    expect($(hs.root, "visit-form")).toBeNull();
    expect(must(hs.root, "saved-toast").textContent).toContain("Đã lưu — sẽ gửi khi có mạng");
    await waitFor(() => must(hs!.root, "queue-pending").textContent === "1", "the pending count");
  });

  it("is three taps for a new household, even with a known one next door and Save tapped before the location arrives", async () => {
    hs = await start({ fix: gps, households: [householdAt("h-next-door-00001", HERE.lat, HERE.lon, 6)] });
    tap(hs, "new-visit");
    tap(hs, "outcome-installed_now");
    tap(hs, "visit-save");
    await waitFor(() => $(hs!.root, "saved-toast"), "the saved toast");
    expect(hs.taps).toBe(3);
    const [d] = recorded(hs);
    expect(d.household_id).toBeNull();
    expect(d.address).toBeNull();
    expect(d.area_code).toBe("18077");
    expect(d.location).toEqual({ source: "gps", lat: HERE.lat, lon: HERE.lon, accuracy_m: 8 });
    expect([d.people, d.smartphones, d.already_installed, d.installed_now, d.leaflet_given]).toEqual([1, 1, 0, 1, true]);
  });

  it("asks the web view for the location when the Rust side says so, and saves without one when none comes", async () => {
    hs = await start({ fix: { source: "webview", lat: null, lon: null, accuracy_m: null } });
    // jsdom has no geolocation: the fix is "none".
    await openForm(hs);
    expect(must(hs.root, "location-line").textContent).toContain("Không có vị trí");
    tap(hs, "outcome-not_home");
    tap(hs, "visit-save");
    await waitFor(() => $(hs!.root, "saved-toast"), "the saved toast");
    const [d] = recorded(hs);
    expect(d.location).toEqual({ source: "none" });
    expect([d.people, d.smartphones, d.already_installed, d.installed_now]).toEqual([0, 0, 0, 0]);
  });
});

describe("choosing the household", () => {
  it("lists nearby households closest first, and takes a new one with its address", async () => {
    hs = await start({
      fix: gps,
      households: [
        householdAt("h-b-00000000000040", HERE.lat, HERE.lon, 40, { visits: 2, latest_outcome: "not_home" }),
        householdAt("h-a-00000000000010", HERE.lat, HERE.lon, 10),
      ],
    });
    await openForm(hs);
    // A new household by default, and the known ones within 30 m listed at once.
    expect($(hs.root, "address")?.closest("[hidden]")).toBeNull();
    await waitFor(() => $(hs!.root, "household-list"), "the list of nearby households");
    const ids = Array.from(must(hs.root, "household-list").querySelectorAll<HTMLElement>("[data-testid^=household-]")).map((e) => e.dataset.testid);
    expect(ids).toEqual(["household-h-a-00000000000010", "household-h-b-00000000000040", "household-new"]);
    // One nobody has visited yet (an enumerated building) says so; a visited one its outcome.
    expect(must(hs.root, "household-h-a-00000000000010").textContent).toContain("Chưa thăm");
    expect(must(hs.root, "household-h-b-00000000000040").textContent).not.toContain("Chưa thăm");
    tap(hs, "household-new");
    expect($(hs.root, "household-list")).toBeNull();
    const address = must(hs.root, "address") as HTMLInputElement;
    expect(address.closest("[hidden]")).toBeNull();
    address.value = "  Số 9, thôn Trung Tiến ";
    address.dispatchEvent(new Event("input"));
    tap(hs, "outcome-already_installed");
    (must(hs.root, "leaflet") as HTMLInputElement).click();
    tap(hs, "visit-save");
    await waitFor(() => $(hs!.root, "saved-toast"), "the saved toast");
    const [d] = recorded(hs);
    expect(d).toMatchObject({ household_id: null, address: "Số 9, thôn Trung Tiến", area_code: "18077", outcome: "already_installed", already_installed: 1, installed_now: 0, leaflet_given: false });
  });
});

describe("errors from the back end", () => {
  it("are shown next to their field, in the chosen language, and the form stays filled", async () => {
    hs = await start({ fix: gps });
    await openForm(hs);
    tap(hs, "outcome-installed_now");
    tap(hs, "stepper-people-plus");
    tap(hs, "stepper-people-plus");
    (must(hs.root, "notes") as HTMLTextAreaElement).value = "cổng xanh";
    must(hs.root, "notes").dispatchEvent(new Event("input"));
    hs.fake.failNext("record_visit", {
      code: "too_large",
      message: "too large",
      field: "people",
      messages: { vi: "Số «people» lớn quá mức hợp lý (tối đa 60); hãy kiểm tra lại.", en: "The count 'people' is larger than is plausible (at most 60); check it." },
    });
    tap(hs, "visit-save");
    const err = await waitFor(() => $(hs!.root, "field-error-people"), "the field error");
    expect(err.textContent).toContain("lớn quá mức hợp lý");
    // Next to the people stepper, not somewhere else.
    expect(err.closest(".stepper")?.getAttribute("data-field")).toBe("people");
    expect($(hs.root, "visit-form")).not.toBeNull();
    expect($(hs.root, "saved-toast")).toBeNull();
    expect(must(hs.root, "stepper-people-value").textContent).toBe("3");
    expect((must(hs.root, "notes") as HTMLTextAreaElement).value).toBe("cổng xanh");
    expect(must(hs.root, "outcome-installed_now").getAttribute("aria-pressed")).toBe("true");
    expect(hs.fake.status().queue.pending).toBe(0);
  });

  it("come from the back end's own validation too (a refusal needs a reason)", async () => {
    hs = await start({ fix: gps });
    await openForm(hs);
    tap(hs, "outcome-refused");
    tap(hs, "visit-save");
    const err = await waitFor(() => $(hs!.root, "field-error-reason"), "the reason error");
    expect(err.textContent).toBe("Kết quả này cần ghi lý do.");
    expect(err.closest(".field")?.contains(must(hs.root, "reason"))).toBe(true);
    (must(hs.root, "reason") as HTMLInputElement).value = "sợ lộ thông tin";
    must(hs.root, "reason").dispatchEvent(new Event("input"));
    expect($(hs.root, "field-error-reason")).toBeNull();
    tap(hs, "visit-save");
    await waitFor(() => $(hs!.root, "saved-toast"), "the saved toast");
    const all = recorded(hs);
    expect(all[all.length - 1]?.reason).toBe("sợ lộ thông tin");
  });

  it("without a shown field still appear on the form", async () => {
    hs = await start({ fix: gps });
    await openForm(hs);
    tap(hs, "outcome-installed_now");
    hs.fake.failNext("record_visit", { code: "in_future", message: "x", field: "visited_at", messages: { vi: "Thời gian thăm ở tương lai.", en: "The visit time is in the future." } });
    tap(hs, "visit-save");
    const err = await waitFor(() => $(hs!.root, "field-error-visited_at"), "the error");
    expect(err.textContent).toBe("Thời gian thăm ở tương lai.");
  });

  it("asks for an outcome before anything is sent", async () => {
    hs = await start({ fix: gps });
    await openForm(hs);
    tap(hs, "visit-save");
    expect(must(hs.root, "field-error-outcome").textContent).toBe("Hãy chọn kết quả.");
    expect(recorded(hs)).toHaveLength(0);
  });
});

describe("outcome rules", () => {
  const steppers = (h: Harness) => Array.from(h.root.querySelectorAll<HTMLElement>(".stepper")).map((e) => e.dataset.field);
  const reasonShown = (h: Harness) => !must(h.root, "reason").closest("[hidden]");
  const value = (h: Harness, f: string) => must(h.root, `stepper-${f}-value`).textContent;

  it("show the counts and the reason field each outcome needs", async () => {
    hs = await start({ fix: gps });
    await openForm(hs);
    expect(steppers(hs)).toEqual([]);
    expect(reasonShown(hs)).toBe(false);

    tap(hs, "outcome-installed_now");
    expect(steppers(hs)).toEqual(["people", "smartphones", "already_installed", "installed_now"]);
    expect(reasonShown(hs)).toBe(false);
    expect([value(hs, "people"), value(hs, "smartphones"), value(hs, "already_installed"), value(hs, "installed_now")]).toEqual(["1", "1", "0", "1"]);

    tap(hs, "outcome-not_home");
    expect(steppers(hs)).toEqual([]);
    expect(reasonShown(hs)).toBe(false);

    tap(hs, "outcome-refused");
    expect(steppers(hs)).toEqual(["people", "smartphones", "already_installed", "installed_now"]);
    expect(reasonShown(hs)).toBe(true);
    expect(value(hs, "installed_now")).toBe("0");

    tap(hs, "outcome-no_smartphone");
    expect(steppers(hs)).toEqual(["people"]);
    expect($(hs.root, "stepper-smartphones-plus")).toBeNull();
    expect(reasonShown(hs)).toBe(false);

    tap(hs, "outcome-already_installed");
    expect([value(hs, "smartphones"), value(hs, "already_installed"), value(hs, "installed_now")]).toEqual(["1", "1", "0"]);
  });

  it("keep counts the volunteer set, and keep installs within the smartphones", async () => {
    hs = await start({ fix: gps });
    await openForm(hs);
    tap(hs, "outcome-installed_now");
    tap(hs, "stepper-installed_now-plus");
    tap(hs, "stepper-installed_now-plus");
    expect(value(hs, "installed_now")).toBe("3");
    expect(value(hs, "smartphones")).toBe("3");
    tap(hs, "outcome-partial");
    expect(value(hs, "installed_now")).toBe("3");
    tap(hs, "stepper-people-minus");
    expect(value(hs, "people")).toBe("0");
    expect((must(hs.root, "stepper-people-minus") as HTMLButtonElement).disabled).toBe(true);
  });
});

describe("language", () => {
  it("switches every visible label, and is saved in the settings", async () => {
    hs = await start({ fix: gps });
    expect(must(hs.root, "new-visit").textContent).toContain("Ghé thăm hộ mới");
    expect(must(hs.root, "online-state").textContent).toContain("Mất mạng");
    tap(hs, "nav-settings");
    tap(hs, "settings-language-en");
    expect(document.documentElement.lang).toBe("en");
    expect(must(hs.root, "nav-home").textContent).toBe("Home");
    expect(must(hs.root, "online-state").textContent).toContain("Offline");
    await waitFor(() => hs!.fake.calls.some((c) => c.cmd === "set_settings"), "set_settings");
    const saved = hs.fake.calls.find((c) => c.cmd === "set_settings")?.args as { settings: { language: string } };
    expect(saved.settings.language).toBe("en");

    tap(hs, "nav-home");
    expect(must(hs.root, "new-visit").textContent).toContain("New visit");
    tap(hs, "new-visit");
    expect(must(hs.root, "outcome-installed_now").textContent).toBe("Installed now");
    expect(must(hs.root, "visit-save").textContent).not.toContain("Lưu");

    tap(hs, "nav-settings");
    tap(hs, "settings-language-vi");
    expect(document.documentElement.lang).toBe("vi");
    expect(must(hs.root, "nav-home").textContent).toBe("Trang chủ");
  });
});
