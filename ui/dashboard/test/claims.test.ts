import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { claimState, targetText } from "../src/claims";
import { setLang } from "../src/i18n";
import type { Claim, ClaimStatus, NewClaimRequest, Street } from "../src/types";
import { $, apiError, defaultRoutes, fakeServer, flush, json, signIn, startApp, waitFor, type Call } from "./helpers";

const LEADER = { username: "tt.hatinh", role: "leader", area_code: "42" };
const H = 3_600_000;
/** 04/08/2020 09:00 in Vietnam (UTC+7). */
const GIVEN = Date.parse("2020-08-04T02:00:00Z");

function claim(id: string, volunteer: string, target: { street?: string; key?: string; household?: string; area?: string }, at: number, released: number | null = null): Claim {
  return {
    id,
    area_code: target.area ?? "18073",
    household_id: target.household ?? null,
    street: target.street ?? null,
    street_key: target.key ?? null,
    volunteer_id: `id-${volunteer}`,
    volunteer,
    created_at_ms: at,
    released_at_ms: released,
    updated_seq: 1,
  };
}

const HOUSEHOLD = "0190f3a2-6b1c-7d00-8e00-000000000001";

/** The latest given first, as the server lists them. */
function initialClaims(): ClaimStatus[] {
  return [
    // Given to lan when hoa's claim on the same street was handed over.
    { claim: claim("c1", "tnv.lan", { street: "Trần Phú", key: "tran phu" }, GIVEN), volunteer_name: "Trần Thị Lan", expires_at_ms: GIVEN + 72 * H, active: true, households: 1200, visited: 1034 },
    { claim: claim("c2", "tnv.hoa", { household: HOUSEHOLD }, GIVEN - 100 * H), expires_at_ms: GIVEN - 28 * H, active: false, households: 1, visited: 0 },
    { claim: claim("c3", "tnv.hoa", { street: "Trần Phú", key: "tran phu" }, GIVEN - 10 * H, GIVEN), expires_at_ms: null, active: false, households: 1200, visited: 3 },
    { claim: claim("c4", "tnv.lan", { household: "h9" }, GIVEN - 50 * H, GIVEN - 40 * H), expires_at_ms: null, active: false, households: 1, visited: 1 },
  ];
}

const STREETS: Street[] = [
  { area_code: "18073", street: "Trần Phú", street_key: "tran phu", households: 1200, visited: 1034 },
  { area_code: "443", street: "Trần Phú", street_key: "tran phu", households: 40, visited: 2 },
  { area_code: "18073", street: "Xóm 3", street_key: "xom 3", households: 12, visited: 0 },
];

const TEAMS = [
  { name: "Đội Can Lộc", area_code: "443", leader: "tt.hatinh", members: [{ username: "tnv.lan", areas: ["42"] }, { username: "tnv.hoa", areas: ["18073"] }] },
  { name: "Đội Đức Thọ", area_code: "440", leader: "tt.hatinh", members: [{ username: "tnv.an", areas: ["42", "440"] }] },
];

/** The default server, signed in as a leader, with a claims API that keeps what it is given. */
function claimsServer() {
  const routes = defaultRoutes();
  routes["POST /api/v1/auth/login"] = { token: "tok-1", expires_at: "2030-01-01T00:00:00Z", user: LEADER };
  routes["GET /api/v1/auth/me"] = LEADER;
  routes["GET /api/v1/teams"] = TEAMS;
  routes["GET /api/v1/streets"] = STREETS;
  const state = { claims: initialClaims() };
  routes["GET /api/v1/claims"] = () => json({ claim_hours: 72, claims: state.claims });
  let n = 10;
  routes["POST /api/v1/claims"] = (c: Call) => {
    const req = c.body as NewClaimRequest;
    const key = req.street ? req.street.toLowerCase().replace("ầ", "a").replace("ú", "u") : undefined;
    const given = claim(`c${++n}`, req.volunteer, { street: req.street, key, household: req.household_id, area: req.area_code }, GIVEN + H);
    state.claims = [{ claim: given, expires_at_ms: GIVEN + 73 * H, active: true, households: 5, visited: 0 }, ...state.claims];
    return json(given, 201);
  };
  routes["DELETE /api/v1/claims/c1"] = () => {
    state.claims = state.claims.map((s) => (s.claim.id === "c1" ? { ...s, active: false, expires_at_ms: null, claim: { ...s.claim, released_at_ms: GIVEN + 2 * H } } : s));
    return new Response(null, { status: 204 });
  };
  return { ...fakeServer(routes), state };
}

async function leaderPage() {
  const server = claimsServer();
  const { root } = await startApp();
  await signIn(root);
  await waitFor(() => $("claim-c1", root), "the claims");
  // The streets and the teams too.
  await waitFor(() => root.querySelectorAll('[data-testid="claim-street"] option').length > 1, "the streets");
  await waitFor(() => root.querySelector('select[data-testid="claim-volunteer"]'), "the volunteers");
  return { server, root };
}

function choose(root: ParentNode, testid: string, value: string): void {
  const el = $(testid, root) as HTMLSelectElement | HTMLInputElement;
  el.value = value;
  expect(el.value, `${testid} has the value ${value}`).toBe(value);
  el.dispatchEvent(new Event(el instanceof HTMLSelectElement ? "change" : "input"));
}

const submit = (root: ParentNode) => ($("claim-give", root) as HTMLButtonElement).click();
const posts = (calls: Call[]) => calls.filter((c) => c.method === "POST" && c.path === "/api/v1/claims");
const lists = (calls: Call[]) => calls.filter((c) => c.method === "GET" && c.path === "/api/v1/claims");

describe("claims: the leader's side", () => {
  beforeEach(() => {
    sessionStorage.clear();
    localStorage.clear();
    setLang("vi");
  });
  afterEach(() => vi.restoreAllMocks());

  it("lists the area's claims with their status, times and households, in either language", async () => {
    const { server, root } = await leaderPage();
    expect(lists(server.calls)[0].query.get("area")).toBe("42");
    expect(server.calls.find((c) => c.path === "/api/v1/streets")!.query.get("area")).toBe("42");
    expect(root.querySelector("#claims-section h2")!.textContent).toBe("Phân công");
    expect($("claims-intro", root)!.textContent).toContain("72 giờ");

    const row = (id: string) => $(`claim-${id}`, root)!;
    const status = (id: string) => $(`claim-status-${id}`, root)!.textContent;
    expect(row("c1").textContent).toContain("Trần Phú");
    expect(row("c1").querySelector(".person")!.textContent).toBe("Trần Thị Lan @tnv.lan");
    expect($("claim-given-c1", root)!.textContent).toBe("04/08/2020 09:00");
    expect($("claim-expires-c1", root)!.textContent).toBe("07/08/2020 09:00");
    expect(row("c1").textContent).toContain("1.034 / 1.200");
    expect(status("c1")).toBe("Đang giữ");
    expect(status("c2")).toBe("Hết hạn");
    expect(row("c2").textContent).toContain("Hộ 0190f3a2");
    // c3 was released when c1 was given on the same street: handed over; c4 was just released.
    expect(status("c3")).toBe("Đã chuyển");
    expect(status("c4")).toBe("Đã thu hồi");
    expect($("claim-expires-c3", root)!.textContent).toBe("—");
    expect(row("c3").dataset.status).toBe("handed_over");
    // Only a claim not released can be handed over or released.
    expect($("claim-release-c1", root)).not.toBeNull();
    expect($("claim-hand-over-c2", root)).not.toBeNull();
    expect($("claim-release-c3", root)).toBeNull();
    expect($("claim-hand-over-c4", root)).toBeNull();

    ($("lang-en", root) as HTMLButtonElement).click();
    expect(root.querySelector("#claims-section h2")!.textContent).toBe("Claims");
    expect(status("c1")).toBe("Active");
    expect(status("c2")).toBe("Run out");
    expect(status("c3")).toBe("Handed over");
    expect(status("c4")).toBe("Released");
    expect(row("c1").textContent).toContain("1,034 / 1,200");
    expect($("claim-release-c1", root)!.textContent).toBe("Release");
  });

  it("offers the volunteers of the teams, those assigned to the area first", async () => {
    const { root } = await leaderPage();
    const groups = [...root.querySelectorAll('[data-testid="claim-volunteer"] optgroup')].map((g) => [
      g.getAttribute("label"),
      [...g.querySelectorAll("option")].map((o) => o.value),
    ]);
    expect(groups).toEqual([
      ["Được giao địa bàn này", ["tnv.an", "tnv.lan"]],
      ["Tình nguyện viên khác", ["tnv.hoa"]],
    ]);
  });

  it("gives a street of the area to a volunteer and shows it in the refreshed list", async () => {
    const { server, root } = await leaderPage();
    // Streets of several areas: under each area's name (the page's, where it knows it).
    const groups = [...root.querySelectorAll('[data-testid="claim-street"] optgroup')].map((g) => [
      g.getAttribute("label"),
      [...g.querySelectorAll("option")].map((o) => o.textContent),
    ]);
    expect(groups).toEqual([
      ["18073", ["Trần Phú (1.034/1.200 hộ đã thăm)", "Xóm 3 (0/12 hộ đã thăm)"]],
      ["Huyện Can Lộc", ["Trần Phú (2/40 hộ đã thăm)"]],
    ]);
    const before = lists(server.calls).length;
    choose(root, "claim-street", "443|tran phu");
    choose(root, "claim-volunteer", "tnv.hoa");
    submit(root);
    await waitFor(() => $("claim-c11", root), "the new claim listed");
    expect(posts(server.calls).map((c) => c.body)).toEqual([{ volunteer: "tnv.hoa", area_code: "443", street: "Trần Phú" }]);
    expect(lists(server.calls).length).toBe(before + 1);
    expect($("claim-status-c11", root)!.textContent).toBe("Đang giữ");
    expect($("claim-notice", root)!.textContent).toBe("Đã giao «Trần Phú» cho tnv.hoa.");
    // The form is empty again.
    expect(($("claim-street", root) as HTMLSelectElement).value).toBe("");
    expect(($("claim-volunteer", root) as HTMLSelectElement).value).toBe("");
  });

  it("says what is missing before asking the server", async () => {
    const { server, root } = await leaderPage();
    submit(root);
    await flush();
    expect($("claim-error", root)!.hidden).toBe(false);
    expect($("claim-error", root)!.textContent).toBe("Hãy chọn đường phố.");
    expect($("claim-street", root)!.getAttribute("aria-invalid")).toBe("true");
    choose(root, "claim-street", "18073|xom 3");
    submit(root);
    await flush();
    expect($("claim-error", root)!.textContent).toBe("Hãy chọn tình nguyện viên.");
    expect(posts(server.calls)).toEqual([]);
  });

  it("prefills the form to hand a claim over, and gives it to the one chosen", async () => {
    const { server, root } = await leaderPage();
    ($("claim-hand-over-c1", root) as HTMLButtonElement).click();
    expect(($("claim-kind-street", root) as HTMLInputElement).checked).toBe(true);
    expect(($("claim-street", root) as HTMLSelectElement).value).toBe("18073|tran phu");
    expect(($("claim-volunteer", root) as HTMLSelectElement).value).toBe("");
    expect($("claim-hand-over-note", root)!.textContent).toBe("Chuyển «Trần Phú» của tnv.lan cho người khác:");
    expect(document.activeElement).toBe($("claim-volunteer", root));
    choose(root, "claim-volunteer", "tnv.an");
    submit(root);
    await waitFor(() => posts(server.calls).length === 1, "the hand-over sent");
    expect(posts(server.calls)[0].body).toEqual({ volunteer: "tnv.an", area_code: "18073", street: "Trần Phú" });

    // A household's claim: the household's ID (once the hand-over is done: the buttons wait).
    await waitFor(() => $("claim-c11", root), "the list again");
    ($("claim-hand-over-c2", root) as HTMLButtonElement).click();
    expect(($("claim-kind-household", root) as HTMLInputElement).checked).toBe(true);
    expect(($("claim-household", root) as HTMLInputElement).value).toBe(HOUSEHOLD);
    expect($("claim-hand-over-note", root)!.textContent).toContain("Hộ 0190f3a2");
  });

  it("releases a claim after the leader confirms, and refreshes the list", async () => {
    const { server, root } = await leaderPage();
    const confirm = vi.fn(() => false);
    vi.stubGlobal("confirm", confirm);
    window.confirm = confirm;
    ($("claim-release-c1", root) as HTMLButtonElement).click();
    await flush();
    expect(confirm).toHaveBeenCalledTimes(1);
    expect(confirm.mock.calls[0]).toEqual(["Thu hồi phân công «Trần Phú» của tnv.lan? Các hộ sẽ để trống cho người khác nhận."] as never);
    expect(server.calls.some((c) => c.method === "DELETE")).toBe(false);

    confirm.mockReturnValue(true);
    const before = lists(server.calls).length;
    ($("claim-release-c1", root) as HTMLButtonElement).click();
    await waitFor(() => $("claim-status-c1", root)?.textContent === "Đã thu hồi", "the claim shown released");
    const del = server.calls.filter((c) => c.method === "DELETE");
    expect(del.map((c) => c.path)).toEqual(["/api/v1/claims/c1"]);
    expect(del[0].headers.authorization).toBe("Bearer tok-1");
    expect(lists(server.calls).length).toBe(before + 1);
    expect($("claim-release-c1", root)).toBeNull();
    expect($("claim-notice", root)!.textContent).toBe("Đã thu hồi «Trần Phú».");
    ($("lang-en", root) as HTMLButtonElement).click();
    expect($("claim-notice", root)!.textContent).toBe("Released “Trần Phú”.");
  });

  it("shows the server's refusal next to the form, on the field it names, in the user's language", async () => {
    const { server, root } = await leaderPage();
    server.routes["POST /api/v1/claims"] = () =>
      json(
        {
          error: {
            code: "not_assigned",
            message: "tnv.hoa không được giao Huyện Can Lộc.",
            field: "volunteer",
            messages: { vi: "tnv.hoa không được giao Huyện Can Lộc.", en: "tnv.hoa is not assigned to Huyện Can Lộc." },
          },
        },
        422,
      );
    choose(root, "claim-street", "443|tran phu");
    choose(root, "claim-volunteer", "tnv.hoa");
    submit(root);
    await waitFor(() => !$("claim-error", root)!.hidden, "the error");
    expect($("claim-error", root)!.textContent).toBe("tnv.hoa không được giao Huyện Can Lộc.");
    expect($("claim-volunteer", root)!.getAttribute("aria-invalid")).toBe("true");
    expect($("claim-street", root)!.getAttribute("aria-invalid")).toBeNull();
    // What was chosen stays, to be corrected.
    expect(($("claim-street", root) as HTMLSelectElement).value).toBe("443|tran phu");
    expect(($("claim-give", root) as HTMLButtonElement).disabled).toBe(false);
    expect(posts(server.calls)[0].headers["accept-language"]).toBe("vi");
    ($("lang-en", root) as HTMLButtonElement).click();
    expect($("claim-error", root)!.textContent).toBe("tnv.hoa is not assigned to Huyện Can Lộc.");

    // A refusal without a field (a message only, as some handlers write it).
    server.routes["POST /api/v1/claims"] = () => apiError(422, "no_households", "Không có hộ nào trên đường này.", "No household on this street.");
    submit(root);
    await waitFor(() => $("claim-error", root)!.textContent === "No household on this street.", "the second error");
    expect($("claim-volunteer", root)!.getAttribute("aria-invalid")).toBeNull();
  });

  it("gives a household from a visit to check, its ID prefilled", async () => {
    const { server, root } = await leaderPage();
    await waitFor(() => $("give-household-h1", root), "the flagged visit's button");
    ($("give-household-h1", root) as HTMLButtonElement).click();
    expect(($("claim-kind-household", root) as HTMLInputElement).checked).toBe(true);
    expect(($("claim-household", root) as HTMLInputElement).value).toBe("h1");
    choose(root, "claim-volunteer", "tnv.lan");
    submit(root);
    await waitFor(() => posts(server.calls).length === 1, "the claim sent");
    expect(posts(server.calls)[0].body).toEqual({ volunteer: "tnv.lan", household_id: "h1" });
    await waitFor(() => !$("claim-notice", root)!.hidden, "the notice");
    expect($("claim-notice", root)!.textContent).toBe("Đã giao «Hộ h1» cho tnv.lan.");
    ($("lang-en", root) as HTMLButtonElement).click();
    expect($("claim-notice", root)!.textContent).toBe("Gave “Household h1” to tnv.lan.");
  });

  it("says where to find streets when the area's own households name none (a district's are in its communes)", async () => {
    const server = claimsServer();
    server.routes["GET /api/v1/streets"] = [];
    const { root } = await startApp();
    await signIn(root);
    const none = await waitFor(() => $("claim-no-streets", root), "the note");
    expect(none.textContent).toContain("hãy mở phường, xã của nó");
    // A household can still be given from here.
    expect($("claim-kind-household", root)).not.toBeNull();
  });

  it("is not there for a committee member, who gives nothing out", async () => {
    const server = fakeServer(defaultRoutes());
    const { root } = await startApp();
    await signIn(root);
    await waitFor(() => $("flagged", root)?.querySelector("table"), "the flagged visits");
    expect(root.querySelector("#claims-section")).toBeNull();
    expect($("give-household-h1", root)).toBeNull();
    expect(server.calls.some((c) => c.path === "/api/v1/claims" || c.path === "/api/v1/streets")).toBe(false);
  });
});

describe("claims: the rules shown", () => {
  beforeEach(() => setLang("vi"));

  it("tells a hand-over from a release, and names the target", () => {
    const all = initialClaims();
    expect(all.map((s) => claimState(s, all))).toEqual(["active", "expired", "handed_over", "released"]);
    // The same street of another area is another target: no hand-over.
    const other = [all[2], { ...all[0], claim: { ...all[0].claim, area_code: "18074" } }];
    expect(claimState(other[0], other)).toBe("released");
    expect(targetText({ household_id: HOUSEHOLD })).toBe("Hộ 0190f3a2");
    expect(targetText({ street: "Xóm 3", street_key: "xom 3" })).toBe("Xóm 3");
  });
});
