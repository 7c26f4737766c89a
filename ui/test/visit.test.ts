import { afterEach, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { bluezoneCampaign } from "../src/fake";
import { applyOutcome, doorRadius, pickCount } from "../src/screens/visit";
import type { Campaign, CountField, VisitDraft } from "../src/types";
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
  it("is four taps for a known household at the door: New visit, “the same household”, Installed now, Save", async () => {
    hs = await start({
      fix: gps,
      households: [householdAt("h-far-00000000001", HERE.lat, HERE.lon, 120), householdAt("h-door-0000000002", HERE.lat, HERE.lon, 12)],
    });
    await openForm(hs);
    // Exactly one household may be the door (12 m, within 10 m widened by the fix's 8 m): asked
    // about, never chosen for the volunteer; the one 120 m away is not offered at all.
    const ask = await waitFor(() => $(hs!.root, "household-ask"), "the question");
    expect(ask.textContent).toContain("Cùng hộ với Số 02, đường Nguyễn Du?");
    expect(ask.textContent).toContain("12 m về phía Bắc");
    expect($(hs.root, "household-h-far-00000000001")).toBeNull();
    tap(hs, "household-same");
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

  it("is five taps for a household of 4 people, 2 phones, 2 installed now: the installs follow from the phones", async () => {
    hs = await start({ fix: gps, households: [householdAt("h-across-street01", HERE.lat, HERE.lon, 45)] });
    await openForm(hs);
    expect(must(hs.root, "household-current").textContent).toContain("Hộ mới");
    tap(hs, "outcome-installed_now");
    // Chosen: the outcome folds to one line and the counts come up under it.
    expect($(hs.root, "outcome-refused")).toBeNull();
    expect(must(hs.root, "outcome-chosen").textContent).toContain("Đã cài ngay");
    tap(hs, "count-people-4");
    tap(hs, "count-smartphones-2");
    expect(must(hs.root, "count-installed_now-2").getAttribute("aria-pressed")).toBe("true");
    expect(must(hs.root, "count-already_installed-0").getAttribute("aria-pressed")).toBe("true");
    tap(hs, "visit-save");
    await waitFor(() => $(hs!.root, "saved-toast"), "the saved toast");
    expect(hs.taps).toBe(5);
    const [d] = recorded(hs);
    expect([d.household_id, d.people, d.smartphones, d.already_installed, d.installed_now]).toEqual([null, 4, 2, 0, 2]);
  });

  it("is four taps for a refusal with a listed reason, and a new household due again is asked for an address or landmark", async () => {
    hs = await start({ fix: gps });
    await openForm(hs);
    tap(hs, "outcome-refused");
    // The campaign's reasons, one tap each, and "other" typed.
    const chips = Array.from(hs.root.querySelectorAll<HTMLElement>(".reasons .pick")).map((e) => e.textContent);
    expect(chips).toEqual(["Lo lộ thông tin cá nhân", "Không có dữ liệu di động", "Máy cũ hoặc đầy bộ nhớ", "Sẽ tự cài sau", "Khác"]);
    expect(must(hs.root, "reason").closest("[hidden]")).not.toBeNull();
    // Due again: the address prompt comes before the counts, with a landmark as the example.
    const row = must(hs.root, "address-row");
    expect(row.classList.contains("prompt")).toBe(true);
    expect(row.textContent).toContain("nhà cạnh chợ");
    const tail = Array.from(must(hs.root, "visit-form").querySelectorAll<HTMLElement>("[data-testid=address-row], section.counts"));
    expect(tail[0]).toBe(row);
    tap(hs, "reason-0");
    tap(hs, "visit-save");
    await waitFor(() => $(hs!.root, "saved-toast"), "the saved toast");
    expect(hs.taps).toBe(4);
    const [d] = recorded(hs);
    expect([d.outcome, d.reason]).toEqual(["refused", "Lo lộ thông tin cá nhân"]);
  });

  it("keeps the reason in Vietnamese when the volunteer works in English, and takes a typed one under “other”", async () => {
    hs = await start({ fix: gps });
    tap(hs, "nav-settings");
    tap(hs, "settings-language-en");
    tap(hs, "nav-home");
    await openForm(hs);
    tap(hs, "outcome-refused");
    expect(must(hs.root, "reason-2").textContent).toBe("Phone too old or full");
    tap(hs, "reason-2");
    tap(hs, "reason-other");
    const input = must(hs.root, "reason") as HTMLInputElement;
    expect(input.closest("[hidden]")).toBeNull();
    input.value = "chờ con về cài giúp";
    input.dispatchEvent(new Event("input"));
    tap(hs, "visit-save");
    await waitFor(() => $(hs!.root, "saved-toast"), "the saved toast");
    expect(recorded(hs)[0].reason).toBe("chờ con về cài giúp");
  });

  it("does not choose the household next door: Save waits for an answer, even when tapped before the location arrived", async () => {
    hs = await start({ fix: gps, households: [householdAt("h-next-door-00001", HERE.lat, HERE.lon, 6)] });
    tap(hs, "new-visit");
    tap(hs, "outcome-installed_now");
    tap(hs, "visit-save");
    const err = await waitFor(() => $(hs!.root, "field-error-household"), "the question's error");
    expect(err.textContent).toBe("Hãy chọn: cùng hộ này hay hộ mới.");
    expect(recorded(hs)).toHaveLength(0);
    tap(hs, "household-new");
    expect($(hs.root, "field-error-household")).toBeNull();
    tap(hs, "visit-save");
    await waitFor(() => $(hs!.root, "saved-toast"), "the saved toast");
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
  it("lists those that may be the door, nearest first, three with “more”, and takes a new one with its address", async () => {
    hs = await start({
      fix: gps,
      households: [
        householdAt("h-d-00000000000015", HERE.lat, HERE.lon, 15, { visits: 2, latest_outcome: "not_home" }),
        householdAt("h-a-00000000000004", HERE.lat, HERE.lon, 4),
        householdAt("h-c-00000000000012", HERE.lat, HERE.lon, 12),
        householdAt("h-b-00000000000008", HERE.lat, HERE.lon, 8),
        householdAt("h-far-000000000040", HERE.lat, HERE.lon, 40),
      ],
    });
    await openForm(hs);
    // A new household by default, and the known ones that may be the door listed at once.
    expect($(hs.root, "address")?.closest("[hidden]")).toBeNull();
    await waitFor(() => $(hs!.root, "household-list"), "the list of nearby households");
    const ids = () => Array.from(must(hs!.root, "household-list").querySelectorAll<HTMLElement>("[data-testid^=household-]")).map((e) => e.dataset.testid);
    expect(ids()).toEqual(["household-h-a-00000000000004", "household-h-b-00000000000008", "household-h-c-00000000000012", "household-more", "household-new"]);
    expect(must(hs.root, "household-more").textContent).toBe("Xem thêm 1 hộ");
    tap(hs, "household-more");
    expect(ids()).toEqual(["household-h-a-00000000000004", "household-h-b-00000000000008", "household-h-c-00000000000012", "household-h-d-00000000000015", "household-new"]);
    // One nobody has visited yet (an enumerated building) says so; a visited one its outcome.
    expect(must(hs.root, "household-h-a-00000000000004").textContent).toContain("Chưa thăm");
    expect(must(hs.root, "household-h-d-00000000000015").textContent).not.toContain("Chưa thăm");
    expect(must(hs.root, "household-h-d-00000000000015").textContent).toContain("15 m về phía Bắc");
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
    tap(hs, "count-people-3");
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
    // Next to the people count, not somewhere else.
    expect(err.closest(".count")?.getAttribute("data-field")).toBe("people");
    expect($(hs.root, "visit-form")).not.toBeNull();
    expect($(hs.root, "saved-toast")).toBeNull();
    expect(must(hs.root, "count-people-3").getAttribute("aria-pressed")).toBe("true");
    expect((must(hs.root, "notes") as HTMLTextAreaElement).value).toBe("cổng xanh");
    expect(must(hs.root, "outcome-chosen").dataset.outcome).toBe("installed_now");
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
    tap(hs, "reason-other");
    expect($(hs.root, "field-error-reason")).toBeNull();
    (must(hs.root, "reason") as HTMLInputElement).value = "sợ lộ thông tin";
    must(hs.root, "reason").dispatchEvent(new Event("input"));
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
  const counts = (h: Harness) => Array.from(h.root.querySelectorAll<HTMLElement>(".count")).map((e) => e.dataset.field);
  const reasonShown = (h: Harness) => !must(h.root, "reason-row").closest("[hidden]");
  const value = (h: Harness, f: string) => h.root.querySelector<HTMLElement>(`.count[data-field="${f}"] .pick.on`)?.textContent;
  const choose = (h: Harness, code: string) => {
    if ($(h.root, "outcome-chosen")) tap(h, "outcome-chosen");
    tap(h, `outcome-${code}`);
  };

  it("show the counts and the reason each outcome needs", async () => {
    hs = await start({ fix: gps });
    await openForm(hs);
    expect(counts(hs)).toEqual([]);
    expect(reasonShown(hs)).toBe(false);

    choose(hs, "installed_now");
    expect(counts(hs)).toEqual(["people", "smartphones", "already_installed", "installed_now"]);
    expect(reasonShown(hs)).toBe(false);
    expect([value(hs, "people"), value(hs, "smartphones"), value(hs, "already_installed"), value(hs, "installed_now")]).toEqual(["1", "1", "0", "1"]);

    choose(hs, "not_home");
    expect(counts(hs)).toEqual([]);
    expect(reasonShown(hs)).toBe(false);

    choose(hs, "refused");
    expect(counts(hs)).toEqual(["people", "smartphones", "already_installed", "installed_now"]);
    expect(reasonShown(hs)).toBe(true);
    expect(value(hs, "installed_now")).toBe("0");

    choose(hs, "no_smartphone");
    expect(counts(hs)).toEqual(["people"]);
    expect($(hs.root, "count-smartphones-1")).toBeNull();
    expect(reasonShown(hs)).toBe(false);

    choose(hs, "already_installed");
    expect([value(hs, "smartphones"), value(hs, "already_installed"), value(hs, "installed_now")]).toEqual(["1", "1", "0"]);
    // Already installed: the phones that had the app follow the phones, as installs do.
    tap(hs, "count-smartphones-3");
    expect(value(hs, "already_installed")).toBe("3");
  });

  it("keep counts the volunteer set, keep installs within the smartphones, and go past 5 with a stepper", async () => {
    hs = await start({ fix: gps });
    await openForm(hs);
    choose(hs, "installed_now");
    tap(hs, "count-installed_now-3");
    expect(value(hs, "installed_now")).toBe("3");
    expect(value(hs, "smartphones")).toBe("3");
    // Fewer phones than the installs the volunteer set: the phones are what they say.
    choose(hs, "partial");
    expect(value(hs, "installed_now")).toBe("3");
    tap(hs, "count-people-0");
    expect(value(hs, "people")).toBe("0");
    tap(hs, "count-people-more");
    expect(value(hs, "people")).toBe("5+");
    tap(hs, "stepper-people-plus");
    tap(hs, "stepper-people-plus");
    expect(must(hs.root, "stepper-people-value").textContent).toBe("7");
    tap(hs, "count-people-2");
    expect($(hs.root, "stepper-people-value")).toBeNull();
    expect(value(hs, "people")).toBe("2");
  });

  it("are pure functions the form follows: installs from phones, never more installs than phones", () => {
    const campaign = bluezoneCampaign();
    const o = (code: string) => campaign.outcomes.find((x) => x.code === code)!;
    const touched = new Set<CountField>();
    const max = { people: 60, smartphones: 60 };
    let c = applyOutcome(o("installed_now"), { people: 0, smartphones: 0, already_installed: 0, installed_now: 0 }, touched);
    expect(c).toEqual({ people: 1, smartphones: 1, already_installed: 0, installed_now: 1 });
    c = pickCount(o("installed_now"), c, touched, "smartphones", 4, max);
    c = pickCount(o("installed_now"), c, touched, "already_installed", 1, max);
    expect(c).toEqual({ people: 2, smartphones: 4, already_installed: 1, installed_now: 3 });
    c = pickCount(o("installed_now"), c, touched, "smartphones", 2, max);
    expect(c.installed_now).toBe(1);
    // A set install count raises the phones, never the other way.
    c = pickCount(o("installed_now"), c, touched, "installed_now", 4, max);
    expect([c.smartphones, c.already_installed, c.installed_now]).toEqual([5, 1, 4]);
    expect(doorRadius(campaign, 8)).toBe(18);
    expect(doorRadius(campaign, 300)).toBe(30);
    expect(doorRadius(campaign, null)).toBe(10);
  });

  it("come from the shipped campaign file: the fake back end's campaign is data/campaigns/bluezone-2020.json", () => {
    const file = JSON.parse(readFileSync(`${process.cwd()}/../data/campaigns/bluezone-2020.json`, "utf8")) as Campaign;
    const fake = bluezoneCampaign();
    const shape = (c: Campaign) =>
      c.outcomes.map((x) => [x.code, x.label, x.reached, x.revisit, x.requires_reason, x.requires_installed_now, x.requires_already_installed, x.requires_no_smartphone, x.reasons ?? []]);
    expect(shape(fake)).toEqual(shape(file));
    expect([fake.max_people, fake.max_smartphones, fake.match_enumerated_m]).toEqual([file.max_people, file.max_smartphones, file.match_enumerated_m]);
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
    // The form is a task: no bottom bar; Cancel goes back.
    expect(must(hs.root, "nav-home").closest("[hidden]")).not.toBeNull();
    tap(hs, "visit-cancel");

    tap(hs, "nav-settings");
    tap(hs, "settings-language-vi");
    expect(document.documentElement.lang).toBe("vi");
    expect(must(hs.root, "nav-home").textContent).toBe("Trang chủ");
  });
});
