import { afterEach, describe, expect, it } from "vitest";
import { claimText, freeFirst } from "../src/claims";
import { setLang } from "../src/i18n";
import type { Holder, Household, MyClaim, VisitDraft } from "../src/types";
import { $, HERE, householdAt, must, start, tap, waitFor, type Harness } from "./helpers";

let hs: Harness | null = null;
afterEach(() => {
  hs?.app.destroy();
  hs = null;
  setLang("vi");
});

// 14:30 on 30 November 2020 in Vietnam (UTC+7).
const UNTIL = Date.UTC(2020, 10, 30, 7, 30);
const lan = (until = UNTIL): Holder => ({ volunteer_id: "id-lan", volunteer: "lan", until_ms: until, kind: "street", claim_id: "c-lan" });
const mine = (kind: Holder["kind"] = "street"): Holder => ({ volunteer_id: "id-me", volunteer: "tnv.bacha", until_ms: UNTIL, kind, claim_id: kind === "visit" ? null : "c-mine" });

describe("the claim chip", () => {
  it("names who covers a household taken by another volunteer, and until when (24 h, dd/mm)", () => {
    setLang("vi");
    expect(claimText({ holder: lan(), taken: true }, 420)).toBe("lan đang phụ trách · đến 14:30 30/11");
    setLang("en");
    expect(claimText({ holder: lan(), taken: true }, 420)).toBe("lan's until 14:30 30/11");
    // A holder whose name the phone does not know.
    expect(claimText({ holder: { ...lan(), volunteer: null }, taken: true }, 420)).toBe("Someone else's until 14:30 30/11");
  });

  it("says a household a leader gave this volunteer is theirs, and nothing for a free one or their own visit", () => {
    setLang("vi");
    expect(claimText({ holder: mine("street"), taken: false }, 420)).toBe("Giao cho bạn");
    expect(claimText({ holder: mine("household"), taken: false }, 420)).toBe("Giao cho bạn");
    setLang("en");
    expect(claimText({ holder: mine("household"), taken: false }, 420)).toBe("Assigned to you");
    expect(claimText({ holder: mine("visit"), taken: false }, 420)).toBeNull();
    expect(claimText({ holder: null, taken: false }, 420)).toBeNull();
    expect(claimText({}, 420)).toBeNull();
  });

  it("puts taken households after the free ones, keeping each group's order", () => {
    const list = [
      { id: "a", taken: true },
      { id: "b", taken: false },
      { id: "c" },
      { id: "d", taken: true },
    ];
    expect(freeFirst(list).map((x) => x.id)).toEqual(["b", "c", "a", "d"]);
  });
});

const later = Date.now() + 30 * 3_600_000;
const due = (id: string, address: string, extra: Partial<Household>): Household => ({
  id,
  area_code: "18077",
  address,
  lat: HERE.lat,
  lon: HERE.lon,
  latest_outcome: "not_home",
  visits: 1,
  revisit_due: true,
  distance_m: null,
  ...extra,
});

describe("the revisits list", () => {
  it("greys another volunteer's households with their chip and lists them last; lists what is assigned", async () => {
    const assigned: MyClaim = {
      claim: {
        id: "c-mine",
        area_code: "18077",
        household_id: null,
        street: "Trần Phú",
        street_key: "tran phu",
        volunteer_id: "id-me",
        volunteer: "tnv.bacha",
        created_at_ms: Date.now() - 3_600_000,
        released_at_ms: null,
        updated_seq: 3,
      },
      until_ms: later,
      households: 4,
      visited: 1,
    };
    hs = await start({
      households: [
        due("h-taken-000000001", "Số 3, đường Lê Duẩn", { holder: lan(later), taken: true }),
        due("h-free-0000000002", "Số 8, đường Nguyễn Du", {}),
        due("h-mine-0000000003", "Số 5, đường Trần Phú", { holder: mine("street"), taken: false, latest_visited_at_ms: Date.now() }),
      ],
      myClaims: [assigned],
    });
    tap(hs, "nav-revisits");
    await waitFor(() => $(hs!.root, "revisit-h-taken-000000001"), "the revisits list");
    const ids = [...hs.root.querySelectorAll<HTMLElement>('[data-testid^="revisit-h-"]')].map((el) => el.dataset.testid);
    expect(ids).toEqual(["revisit-h-free-0000000002", "revisit-h-mine-0000000003", "revisit-h-taken-000000001"]);
    const taken = must(hs.root, "revisit-h-taken-000000001");
    expect(taken.classList.contains("taken")).toBe(true);
    expect(must(hs.root, "claim-h-taken-000000001").textContent).toMatch(/^lan đang phụ trách · đến \d\d:\d\d \d\d\/\d\d$/);
    expect(must(hs.root, "claim-h-mine-0000000003").textContent).toBe("Giao cho bạn");
    expect($(hs.root, "claim-h-free-0000000002")).toBeNull();
    expect(must(hs.root, "revisit-h-free-0000000002").classList.contains("taken")).toBe(false);
    // Still one tap from a visit: the volunteer may be at that door.
    expect((must(hs.root, "revisit-visit-h-taken-000000001") as HTMLButtonElement).disabled).toBe(false);

    const section = await waitFor(() => $(hs!.root, "assigned-c-mine"), "the assigned section");
    expect(must(hs.root, "assigned").textContent).toContain("Giao cho bạn");
    expect(section.textContent).toContain("Trần Phú");
    // Counted from the households the claim gives this volunteer: one, visited since it was given.
    expect(section.textContent).toContain("Đã thăm 1/1 hộ");
    expect(section.textContent).toMatch(/Hết hạn \d\d:\d\d \d\d\/\d\d nếu không ghi thêm lượt thăm/);
  });

  it("shows no assigned section when nothing is assigned, and the home count agrees with the list, saying how many are others'", async () => {
    hs = await start({
      households: [
        due("h-taken-000000001", "Số 3, đường Lê Duẩn", { holder: lan(later), taken: true }),
        due("h-free-0000000002", "Số 8, đường Nguyễn Du", {}),
      ],
    });
    await waitFor(() => must(hs!.root, "revisits-count").textContent === "2", "the revisit count, as the list");
    expect(must(hs.root, "revisits-others").textContent).toBe("1 hộ người khác phụ trách");
    tap(hs, "nav-revisits");
    await waitFor(() => $(hs!.root, "revisit-h-free-0000000002"), "the revisits list");
    expect(hs.root.querySelectorAll('[data-testid^="revisit-visit-"]')).toHaveLength(2);
    expect($(hs.root, "assigned")).toBeNull();
  });
});

const gps = { source: "gps" as const, lat: HERE.lat, lon: HERE.lon, accuracy_m: 8 };

async function openForm(h: Harness) {
  tap(h, "new-visit");
  await waitFor(() => $(h.root, "visit-form"), "the visit form");
  await waitFor(() => !must(h.root, "location-line").textContent?.includes("Đang lấy"), "the location");
}

describe("the visit form", () => {
  it("lists a taken household after the free ones with its chip, and records a visit there with the overlap note", async () => {
    hs = await start({
      fix: gps,
      households: [
        // Lan's is the closest, yet listed after the free neighbour.
        householdAt("h-lans-0000000001", HERE.lat, HERE.lon, 4, { holder: lan(later), taken: true }),
        householdAt("h-free-0000000002", HERE.lat, HERE.lon, 14),
      ],
    });
    await openForm(hs);
    const list = await waitFor(() => $(hs!.root, "household-list"), "the nearby list");
    const order = [...list.querySelectorAll<HTMLElement>('[data-testid^="household-h-"]')].map((el) => el.dataset.testid);
    expect(order).toEqual(["household-h-free-0000000002", "household-h-lans-0000000001"]);
    expect(must(hs.root, "household-h-lans-0000000001").classList.contains("taken")).toBe(true);
    expect(must(hs.root, "claim-h-lans-0000000001").textContent).toContain("lan đang phụ trách · đến ");
    expect($(hs.root, "overlap-note")).toBeNull();

    tap(hs, "household-h-lans-0000000001");
    expect(must(hs.root, "overlap-note").textContent).toBe("Tổ trưởng sẽ thấy hai người cùng thăm hộ này.");
    // The chosen household keeps its chip: who covers it, until when.
    expect(must(hs.root, "household-current").textContent).toContain("lan đang phụ trách");
    tap(hs, "outcome-installed_now");
    tap(hs, "visit-save");
    await waitFor(() => $(hs!.root, "saved-toast"), "the saved toast");
    const drafts = hs.fake.calls.filter((c) => c.cmd === "record_visit").map((c) => (c.args as { draft: VisitDraft }).draft);
    expect(drafts.map((d) => d.household_id)).toEqual(["h-lans-0000000001"]);
    // Lan's street stays Lan's: the visit is recorded, the household is still taken.
    expect(hs.fake.households().find((x) => x.id === "h-lans-0000000001")?.taken).toBe(true);
  });

  it("says the overlap in English, and not for a free household", async () => {
    hs = await start({
      fix: gps,
      settings: { language: "en" },
      households: [householdAt("h-lans-0000000001", HERE.lat, HERE.lon, 4, { holder: lan(later), taken: true }), householdAt("h-free-0000000002", HERE.lat, HERE.lon, 14)],
    });
    tap(hs, "new-visit");
    await waitFor(() => $(hs!.root, "household-list"), "the nearby list");
    tap(hs, "household-h-free-0000000002");
    expect($(hs.root, "overlap-note")).toBeNull();
    tap(hs, "household-current");
    tap(hs, "household-h-lans-0000000001");
    expect(must(hs.root, "overlap-note").textContent).toBe("Your leader will see two visits to this household.");
    expect(must(hs.root, "claim-h-lans-0000000001").textContent).toMatch(/^lan's until \d\d:\d\d \d\d\/\d\d$/);
  });
});
