import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { setLang } from "../src/i18n";
import { $, defaultRoutes, fakeServer, flush, json, signIn, startApp, waitFor, type Call } from "./helpers";

const LEADER = { username: "totruong.lan", role: "leader", area_code: "42" };

function asLeader(routes: Record<string, unknown>) {
  routes["POST /api/v1/auth/login"] = { token: "tok-2", expires_at: "2030-01-01T00:00:00Z", user: LEADER };
  routes["GET /api/v1/auth/me"] = LEADER;
  return routes;
}

describe("teams", () => {
  beforeEach(() => {
    sessionStorage.clear();
    localStorage.clear();
    setLang("vi");
  });
  afterEach(() => vi.restoreAllMocks());

  it("lets a team's leader assign an area, take one back and take a member out, each taken back after a confirm", async () => {
    const routes = asLeader(defaultRoutes());
    const changes: Call[] = [];
    const record = (c: Call) => {
      changes.push(c);
      return new Response(null, { status: 204 });
    };
    routes["POST /api/v1/assignments"] = record;
    routes["DELETE /api/v1/assignments"] = record;
    routes["DELETE /api/v1/teams/members"] = record;
    routes["POST /api/v1/teams"] = (c: Call) => {
      changes.push(c);
      return json({ name: "Đội mới", area_code: "42", leader: "totruong.lan", members: [] });
    };
    const server = fakeServer(routes);
    const confirm = vi.spyOn(window, "confirm").mockReturnValueOnce(false).mockReturnValue(true);
    const { root } = await startApp();
    await signIn(root);
    const list = await waitFor(() => $("team-list", root), "the teams");
    const mine = $("team-443-Đội 1", list)!;
    expect(mine.textContent).toContain("Tổ trưởng:");
    expect($("member-Đội 1-tnv.minh", mine)!.textContent).toContain("Lê Văn Minh (@tnv.minh)");
    // Another leader's team: read only.
    expect($("team-440-Đội khác", list)!.querySelector("button")).toBeNull();

    const ready = () => !($("team-create", root) as HTMLButtonElement).disabled && $("team-list", root);
    // Taking an area back: cancelled, nothing sent; confirmed, sent.
    ($("unassign-Đội 1-tnv.minh-18073", root) as HTMLButtonElement).click();
    await flush();
    expect(changes).toHaveLength(0);
    expect(confirm.mock.calls[0][0]).toBe("Thu hồi địa bàn 18073 của Lê Văn Minh (@tnv.minh) trong Đội 1?");
    ($("unassign-Đội 1-tnv.minh-18073", root) as HTMLButtonElement).click();
    await waitFor(() => changes[0], "the unassign");
    expect([changes[0].method, changes[0].path, changes[0].query.get("team"), changes[0].query.get("volunteer"), changes[0].query.get("area_code")]).toEqual([
      "DELETE",
      "/api/v1/assignments",
      "Đội 1",
      "tnv.minh",
      "18073",
    ]);
    await waitFor(ready, "the teams again");
    ($("remove-Đội 1-tnv.minh", root) as HTMLButtonElement).click();
    await waitFor(() => changes[1], "the removal");
    expect([changes[1].path, changes[1].query.get("area_code")]).toEqual(["/api/v1/teams/members", "443"]);
    await waitFor(ready, "the teams again");
    // Assigning adds to the team.
    const who = $("assign-443-Đội 1-who", root) as HTMLSelectElement;
    expect([...who.options].some((o) => o.value === "tnv.minh")).toBe(true);
    who.value = "tnv.minh";
    ($("assign-443-Đội 1-area", root) as HTMLInputElement).value = "18077";
    ($("assign-443-Đội 1-submit", root) as HTMLButtonElement).click();
    await waitFor(() => changes[2], "the assignment");
    expect(changes[2].body).toEqual({ team: "Đội 1", volunteer: "tnv.minh", area_code: "18077" });
    await waitFor(ready, "the teams again");
    // A new team, led by the leader who makes it.
    ($("team-name", root) as HTMLInputElement).value = "Đội mới";
    ($("team-create", root) as HTMLButtonElement).click();
    await waitFor(() => changes[3], "the new team");
    expect(changes[3].body).toEqual({ name: "Đội mới", area_code: "42" });
    expect(server.calls.filter((c) => c.path === "/api/v1/teams" && c.method === "GET").length).toBeGreaterThan(3);
  });

  it("shows a committee member the teams to read, with nothing to change", async () => {
    fakeServer(defaultRoutes());
    const { root } = await startApp();
    await signIn(root);
    const list = await waitFor(() => $("team-list", root), "the teams");
    expect(list.querySelectorAll("button")).toHaveLength(0);
    expect($("team-create", root)).toBeNull();
  });
});
