import { afterEach, describe, expect, it } from "vitest";
import type { VenueVisitDraft } from "../src/types";
import { $, HERE, must, start, tap, waitFor, type Harness } from "./helpers";

let hs: Harness | null = null;
afterEach(() => {
  hs?.app.destroy();
  hs = null;
});

function recorded(h: Harness): VenueVisitDraft[] {
  return h.fake.calls.filter((c) => c.cmd === "record_venue_visit").map((c) => (c.args as { draft: VenueVisitDraft }).draft);
}

function type(h: Harness, testid: string, value: string) {
  const el = must(h.root, testid) as HTMLInputElement;
  el.value = value;
  el.dispatchEvent(new Event(el.tagName === "SELECT" ? "change" : "input"));
}

describe("venues", () => {
  it("registers a school on its first visit, keeps a refused visitor log on screen, and lists it after saving", async () => {
    hs = await start({ fix: { source: "gps", lat: HERE.lat, lon: HERE.lon, accuracy_m: 9 } });
    tap(hs, "open-venues");
    await waitFor(() => $(hs!.root, "venues-empty"), "an empty list");
    tap(hs, "venue-add");
    await waitFor(() => $(hs!.root, "venue-form"), "the venue form");
    await waitFor(() => must(hs!.root, "venue-location").textContent?.includes("18.3"), "the location");

    // No name: refused on screen, nothing saved.
    tap(hs, "venue-save");
    await waitFor(() => !must(hs!.root, "venue-error").hidden, "the name error");
    expect(must(hs.root, "venue-error").textContent).toContain("tên cơ sở");
    expect(recorded(hs)).toHaveLength(0);

    type(hs, "venue-kind", "school");
    type(hs, "venue-name", "Trường THCS Lê Văn Thiêm");
    type(hs, "venue-people_reached", "600");
    type(hs, "venue-smartphones", "320");
    type(hs, "venue-already_installed", "200");
    type(hs, "venue-installed_now", "90");
    type(hs, "venue-notices_posted", "4");
    // A visitor log telling more people than came in is refused with the reason.
    (must(hs.root, "venue-log-use") as HTMLInputElement).click();
    type(hs, "venue-log-came_in", "10");
    type(hs, "venue-log-told", "12");
    tap(hs, "venue-save");
    await waitFor(() => must(hs!.root, "venue-error").textContent?.includes("sổ theo dõi"), "the log error");
    type(hs, "venue-log-told", "8");
    type(hs, "venue-log-installed", "3");
    tap(hs, "venue-save");
    await waitFor(() => $(hs!.root, "saved-toast"), "the saved toast");
    // A photo of the notice posted is one tap away.
    expect($(hs.root, "saved-take-photo")).not.toBeNull();

    const drafts = recorded(hs);
    expect(drafts).toHaveLength(2);
    const d = drafts[1];
    expect(d).toMatchObject({
      venue_id: null,
      kind: "school",
      name: "Trường THCS Lê Văn Thiêm",
      people_reached: 600,
      smartphones: 320,
      installed_now: 90,
      notices_posted: 4,
      visitor_log: { came_in: 10, told: 8, installed: 3 },
    });
    expect(d.location.source).toBe("gps");
    // Back on the list, with the new venue; a second visit names it.
    await waitFor(() => $(hs!.root, "venues"), "the venue list");
    const item = await waitFor(() => hs!.root.querySelector<HTMLElement>("[data-testid^='venue-visit-']"), "the venue listed");
    expect(hs.fake.status().queue.venues_pending).toBe(1);
    item.click();
    await waitFor(() => $(hs!.root, "venue-form"), "the form for the listed venue");
    expect((must(hs.root, "venue-name") as HTMLInputElement).readOnly).toBe(true);
    type(hs, "venue-people_reached", "50");
    tap(hs, "venue-save");
    await waitFor(() => recorded(hs!).length === 3, "the second visit");
    expect(recorded(hs)[2].venue_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("shows the venue visits waiting on the home screen", async () => {
    hs = await start({});
    expect(must(hs.root, "venues-pending").hidden).toBe(true);
    hs.fake.pushStatus({ queue: { pending: 0, sent: 0, rejected: 0, venues_pending: 2, venues_rejected: 0 } });
    await waitFor(() => !must(hs!.root, "venues-pending").hidden, "the waiting line");
    expect(must(hs.root, "venues-pending").textContent).toContain("2");
  });
});
