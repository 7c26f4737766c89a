import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkComment, householdVisits, maySendBack, openCorrection } from "../src/household";
import { setLang } from "../src/i18n";
import type { Correction, Visit, VisitHistory } from "../src/types";
import { $, FLAGGED, flush, waitFor } from "./helpers";

function visit(id: string, revision: number, people: number): Visit {
  return { ...FLAGGED[0], id, revision, people, smartphones: 1, already_installed: 0, installed_now: 1, flags: [] };
}

function correction(v: Visit, answered: number | null): Correction {
  return {
    id: `c-${v.id}-${v.revision}`,
    visit_id: v.id,
    revision: v.revision,
    household_id: v.household_id,
    area_code: v.area_code,
    volunteer_id: v.volunteer_id,
    comment: "Hộ có 4 người.",
    requested_by: "tt.bacha",
    requested_at: "2020-08-03T05:00:00Z",
    answered_by_revision: answered,
    visit: v,
  };
}

/** A server of one household whose send-back is kept, as the real one keeps it. */
function fakeClient(initial: VisitHistory[]) {
  const state = structuredClone(initial);
  const sent: { visitId: string; comment: string; revision: number }[] = [];
  return {
    sent,
    householdVisits: async () => structuredClone(state),
    sendBack: async (visitId: string, comment: string, revision: number) => {
      sent.push({ visitId, comment, revision });
      const h = state.find((x) => x.revisions[0].id === visitId)!;
      const v = h.revisions[h.revisions.length - 1];
      const c = { ...correction(v, null), comment };
      h.corrections.push(c);
      return c;
    },
  };
}

describe("a household opened on the map", () => {
  beforeEach(() => setLang("vi"));
  afterEach(() => {
    document.body.innerHTML = "";
  });

  it("lists its visits with revisions and send-backs, and a leader sends the latest revision back", async () => {
    const first = visit("v1", 1, 1);
    const corrected = visit("v2", 2, 4);
    const client = fakeClient([
      { revisions: [visit("v2", 1, 1), corrected], corrections: [correction(visit("v2", 1, 1), 2)] },
      { revisions: [first], corrections: [] },
    ]);
    const el = householdVisits("h1", "leader", client);
    document.body.append(el);
    await waitFor(() => $("visit-v1"), "the visits");
    expect($("visit-revised-v2")!.textContent).toBe("Đã sửa (bản 2)");
    expect($("sentback-c-v2-1")!.textContent).toContain("đã sửa ở bản 2");
    // The answered one may be sent back again (its latest revision); both have the form.
    expect($("sendback-v2")).not.toBeNull();

    // An empty note is refused before anything is sent.
    ($("sendback-v1") as HTMLButtonElement).click();
    expect($("sendback-error-v1")!.hidden).toBe(false);
    expect($("sendback-error-v1")!.textContent).toContain("Hãy viết ghi chú");
    expect(client.sent).toEqual([]);

    ($("sendback-comment-v1") as HTMLTextAreaElement).value = "  Kiểm tra lại số người.  ";
    ($("sendback-v1") as HTMLButtonElement).click();
    await waitFor(() => $("sentback-c-v1-1"), "the send-back shown");
    expect(client.sent).toEqual([{ visitId: "v1", comment: "Kiểm tra lại số người.", revision: 1 }]);
    expect($("sentback-c-v1-1")!.className).toContain("open");
    // Open: no second form for the same visit.
    expect($("sendback-v1")).toBeNull();
  });

  it("offers no form to a committee member, and says why a send-back failed", async () => {
    const v = visit("v3", 1, 2);
    const ro = householdVisits("h1", "committee", fakeClient([{ revisions: [v], corrections: [] }]));
    document.body.append(ro);
    await waitFor(() => $("visit-v3"), "the visit");
    expect($("sendback-v3")).toBeNull();
    document.body.innerHTML = "";

    const failing = {
      householdVisits: async () => [{ revisions: [v], corrections: [] }],
      sendBack: async () => {
        throw new (await import("../src/api")).ApiError(409, "already_sent_back", "x", { vi: "Đã gửi trả rồi.", en: "Already sent back." });
      },
    };
    document.body.append(householdVisits("h1", "admin", failing));
    await waitFor(() => $("sendback-v3"), "the form");
    ($("sendback-comment-v3") as HTMLTextAreaElement).value = "Kiểm tra.";
    ($("sendback-v3") as HTMLButtonElement).click();
    await flush();
    expect($("sendback-error-v3")!.textContent).toBe("Đã gửi trả rồi.");
    expect(($("sendback-v3") as HTMLButtonElement).disabled).toBe(false);
  });

  it("has the rules the server has", () => {
    expect(maySendBack("leader") && maySendBack("admin")).toBe(true);
    expect(maySendBack("committee") || maySendBack("volunteer")).toBe(false);
    expect(checkComment("   ")).toEqual({ ok: false, error: expect.stringContaining("ghi chú") });
    expect(checkComment("x".repeat(501)).ok).toBe(false);
    expect(checkComment("ố".repeat(500))).toEqual({ ok: true, comment: "ố".repeat(500) });
    const v = visit("v4", 1, 1);
    expect(openCorrection({ revisions: [v], corrections: [correction(v, 2)] })).toBeNull();
    expect(openCorrection({ revisions: [v], corrections: [correction(v, null)] })?.revision).toBe(1);
  });
});
