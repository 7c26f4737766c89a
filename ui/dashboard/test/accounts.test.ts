import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { setLang } from "../src/i18n";
import { $, apiError, defaultRoutes, fakeServer, flush, json, signIn, startApp, waitFor, type Call } from "./helpers";

const LEADER = { username: "totruong.lan", role: "leader", area_code: "42" };

function asLeader(routes: Record<string, unknown>) {
  routes["POST /api/v1/auth/login"] = { token: "tok-2", expires_at: "2030-01-01T00:00:00Z", user: LEADER };
  routes["GET /api/v1/auth/me"] = LEADER;
  return routes;
}

describe("accounts", () => {
  beforeEach(() => {
    sessionStorage.clear();
    localStorage.clear();
    setLang("vi");
  });
  afterEach(() => vi.restoreAllMocks());

  it("shows a committee member the area's people as cards, and lets them give a leader a password code", async () => {
    const routes = defaultRoutes();
    routes["POST /api/v1/users/totruong.lan/reset"] = { username: "totruong.lan", code: "7K3QX-M9P2D", expires_at: "2020-08-06T03:00:00Z" };
    const server = fakeServer(routes);
    const { root } = await startApp();
    await signIn(root);
    const list = await waitFor(() => $("account-list", root), "the accounts");
    expect(server.calls.find((c) => c.path === "/api/v1/users")!.query.get("area")).toBe("42");
    const minh = $("account-tnv.minh", list)!;
    expect(minh.textContent).toContain("Lê Văn Minh");
    expect(minh.textContent).toContain("Tình nguyện viên · Xã Đức Lạc · Đội: Đội 1");
    // dd/mm/yyyy HH:mm in the campaign's time zone.
    expect($("phones-tnv.minh", minh)!.textContent).toBe("1 điện thoại; đồng bộ gần nhất: 05/08/2020 10:00");
    expect($("account-tnv.cu", list)!.textContent).toContain("Đã khoá");
    // A committee member adds and edits no one; a password code only for the leader.
    expect($("new-username", root)).toBeNull();
    expect($("disable-tnv.minh", root)).toBeNull();
    expect($("password-code-tnv.minh", root)).toBeNull();
    // The list's reload after the action waits until the code is on screen.
    let open = () => {};
    const gate = new Promise<void>((r) => (open = r));
    const people = routes["GET /api/v1/users"];
    routes["GET /api/v1/users"] = async () => (await gate, json(people));
    ($("password-code-totruong.lan", root) as HTMLButtonElement).click();
    const box = await waitFor(() => $("password-code", root), "the code");
    expect(box.textContent).toContain("7K3QX-M9P2D");
    expect(box.textContent).toContain("totruong.lan");
    expect(server.calls.some((c) => c.method === "POST" && c.path === "/api/v1/users/totruong.lan/reset")).toBe(true);
    // The list reads again after the action; the box being read stays the same element (a new
    // one each render detached it under the reader's eyes, and the e2e's click with it).
    open();
    await waitFor(() => (server.calls.filter((c) => c.path === "/api/v1/users").length >= 2 ? true : null), "the list read again");
    await flush();
    expect($("account-list", root)).not.toBeNull();
    expect($("password-code", root)).toBe(box);
  });

  it("lets a leader add a volunteer, show a phone's code large with its QR, and disable an account after a confirm", async () => {
    const routes = asLeader(defaultRoutes());
    const made: Call[] = [];
    routes["POST /api/v1/users"] = (c: Call) => {
      made.push(c);
      return json({ user: { username: "tnv.moi" }, password_code: null }, 201);
    };
    routes["POST /api/v1/enrolments"] = { code: "ABCDE-12345", expires_at: "2020-08-06T03:00:00Z", volunteer: "tnv.minh", qr_svg: "<svg xmlns='http://www.w3.org/2000/svg'></svg>" };
    const patches: Call[] = [];
    routes["PATCH /api/v1/users/tnv.minh"] = (c: Call) => {
      patches.push(c);
      return json({});
    };
    const server = fakeServer(routes);
    const { root } = await startApp();
    await signIn(root);
    await waitFor(() => $("account-list", root), "the accounts");
    // A leader adds volunteers only.
    const role = $("new-role", root) as HTMLSelectElement;
    expect([...role.options].map((o) => o.value)).toEqual(["volunteer"]);
    ($("new-username", root) as HTMLInputElement).value = "tnv.moi";
    ($("new-display-name", root) as HTMLInputElement).value = "Phạm Thị Mới";
    ($("new-area", root) as HTMLInputElement).value = "18073";
    ($("add-account", root) as HTMLButtonElement).click();
    await waitFor(() => made[0], "the new account");
    expect(made[0].body).toEqual({ username: "tnv.moi", display_name: "Phạm Thị Mới", role: "volunteer", area_code: "18073" });
    // While an action runs, the others wait (their buttons are disabled); the list is read again after it.
    const ready = () => !($("add-account", root) as HTMLButtonElement).disabled && $("account-list", root);
    await waitFor(ready, "the list again");
    expect(server.calls.filter((c) => c.path === "/api/v1/users").length).toBeGreaterThan(1);

    ($("enrol-tnv.minh", root) as HTMLButtonElement).click();
    const box = await waitFor(() => $("enrolment-code", root), "the enrolment code");
    expect(box.querySelector(".code")!.textContent).toBe("ABCDE-12345");
    expect(box.querySelector("img.qr")!.getAttribute("src")).toMatch(/^data:image\/svg\+xml/);

    // Cancelled: nothing sent; confirmed: disabled.
    const confirm = vi.spyOn(window, "confirm").mockReturnValueOnce(false).mockReturnValueOnce(true);
    ($("disable-tnv.minh", root) as HTMLButtonElement).click();
    await flush();
    expect(patches).toHaveLength(0);
    await waitFor(ready, "the list again");
    ($("disable-tnv.minh", root) as HTMLButtonElement).click();
    await waitFor(() => patches[0], "the patch");
    expect(patches[0].body).toEqual({ disabled: true });
    expect(confirm.mock.calls[1][0]).toContain("1 điện thoại bị thu hồi");
  });

  it("adds people from a file, or shows every line the server refused", async () => {
    const routes = asLeader(defaultRoutes());
    const sent: Call[] = [];
    let refuse = true;
    routes["POST /api/v1/users/import"] = (c: Call) => {
      sent.push(c);
      if (refuse) {
        return json(
          {
            error: {
              code: "file_refused",
              message: "Không thêm ai: 2 chỗ trong tệp cần sửa (xem từng dòng), rồi gửi lại cả tệp.",
              messages: { vi: "Không thêm ai: 2 chỗ trong tệp cần sửa (xem từng dòng), rồi gửi lại cả tệp.", en: "No one was added." },
              lines: [
                { line: 3, field: "username", messages: { vi: "Tên đăng nhập «tnv.mot» đã có ở dòng 2.", en: "Username 'tnv.mot' is already on line 2." } },
                { line: 5, field: "area_code", messages: { vi: "Không có địa bàn mã 18115 trong phạm vi của bạn.", en: "No area with code 18115 lies in your areas." } },
              ],
            },
          },
          422,
        );
      }
      return json({ people: [{ username: "tnv.mot" }, { username: "tnv.hai" }], password_codes: [] }, 201);
    };
    fakeServer(routes);
    const { root } = await startApp();
    await signIn(root);
    await waitFor(() => $("account-list", root), "the accounts");
    // No file chosen: said, nothing sent.
    ($("import-submit", root) as HTMLButtonElement).click();
    expect($("account-error", root)!.textContent).toBe("Hãy chọn một tệp CSV hoặc XLSX trước.");
    expect(sent).toHaveLength(0);
    const csv = "tên đăng nhập;mã địa bàn\ntnv.mot;18073\n";
    // (The section drew itself again: the input is a new one.)
    Object.defineProperty($("import-file", root), "files", { value: [new File([csv], "ds.csv", { type: "text/csv" })] });
    ($("import-submit", root) as HTMLButtonElement).click();
    const lines = await waitFor(() => $("import-lines", root), "the lines");
    expect([...lines.querySelectorAll("li")].map((l) => l.textContent)).toEqual([
      "Dòng 3: Tên đăng nhập «tnv.mot» đã có ở dòng 2.",
      "Dòng 5: Không có địa bàn mã 18115 trong phạm vi của bạn.",
    ]);
    expect(sent[0].headers["content-type"]).toBe("text/csv");
    refuse = false;
    await waitFor(() => !($("import-submit", root) as HTMLButtonElement).disabled, "ready again");
    ($("import-submit", root) as HTMLButtonElement).click();
    const done = await waitFor(() => $("imported", root), "the count");
    expect(done.textContent).toBe("Đã thêm 2 người.");
    expect($("import-lines", root)).toBeNull();
  });

  it("opens the enrolment cards of the area or one team in a new window, with a print button", async () => {
    const routes = asLeader(defaultRoutes());
    const asked: Call[] = [];
    routes["GET /api/v1/enrolments/cards"] = (c: Call) => {
      asked.push(c);
      return new Response("<!doctype html><html><body><article class=card>ABCDE-12345</article></body></html>", { status: 200, headers: { "Content-Type": "text/html" } });
    };
    fakeServer(routes);
    const doc = document.implementation.createHTMLDocument("cards");
    const printed = vi.fn();
    const popup = { document: doc, print: printed, close: vi.fn() };
    const open = vi.spyOn(window, "open").mockReturnValue(popup as unknown as Window);
    const { root } = await startApp();
    await signIn(root);
    await waitFor(() => $("account-list", root), "the accounts");
    const team = $("cards-team", root) as HTMLSelectElement;
    expect([...team.options].map((o) => o.value)).toEqual(["", "Đội 1"]);
    team.value = "Đội 1";
    ($("cards-submit", root) as HTMLButtonElement).click();
    expect(open).toHaveBeenCalledTimes(1);
    await waitFor(() => doc.querySelector('[data-testid="cards-print"]'), "the page in the window");
    expect(asked[0].query.get("area")).toBe("42");
    expect(asked[0].query.get("team")).toBe("Đội 1");
    expect(doc.body.textContent).toContain("ABCDE-12345");
    (doc.querySelector('[data-testid="cards-print"]') as HTMLButtonElement).click();
    expect(printed).toHaveBeenCalled();
  });

  it("shows what the server refused, in the chosen language", async () => {
    const routes = asLeader(defaultRoutes());
    routes["POST /api/v1/users"] = () => apiError(409, "username_taken", "Tên đăng nhập này đã có người dùng.", "This username is taken.");
    fakeServer(routes);
    const { root } = await startApp();
    await signIn(root);
    await waitFor(() => $("account-list", root), "the accounts");
    ($("new-username", root) as HTMLInputElement).value = "tnv.minh";
    ($("add-account", root) as HTMLButtonElement).click();
    const error = await waitFor(() => $("account-error", root), "the error");
    expect(error.textContent).toBe("Tên đăng nhập này đã có người dùng.");
  });

  it("sets a password with a code from the sign-in page, with no session", async () => {
    const routes = defaultRoutes();
    const sent: Call[] = [];
    routes["POST /api/v1/auth/reset"] = (c: Call) => {
      sent.push(c);
      if (c.body && (c.body as { code: string }).code === "WRONG") {
        return apiError(401, "password_code_invalid", "Mã đặt mật khẩu không đúng.", "The password code is wrong.");
      }
      return new Response(null, { status: 204 });
    };
    fakeServer(routes);
    const { root } = await startApp();
    const fillIn = (code: string) => {
      ($("reset-username", root) as HTMLInputElement).value = "totruong.lan";
      ($("reset-code", root) as HTMLInputElement).value = code;
      ($("reset-password", root) as HTMLInputElement).value = "mật khẩu mới dài";
      ($("reset-submit", root) as HTMLButtonElement).click();
    };
    fillIn("WRONG");
    const error = await waitFor(() => ($("reset-error", root)!.hidden ? null : $("reset-error", root)), "the refusal");
    expect(error.textContent).toBe("Mã đặt mật khẩu không đúng.");
    fillIn("7K3QX-M9P2D");
    await waitFor(() => ($("reset-done", root)!.hidden ? null : $("reset-done", root)), "the confirmation");
    expect(sent[1].body).toEqual({ username: "totruong.lan", code: "7K3QX-M9P2D", new_password: "mật khẩu mới dài" });
    expect(sent[1].headers.authorization).toBeUndefined();
    // The sign-in form is ready with the username.
    expect(($("login-username", root) as HTMLInputElement).value).toBe("totruong.lan");
  });
});
