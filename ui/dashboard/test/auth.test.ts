import { beforeEach, describe, expect, it } from "vitest";
import { $, apiError, defaultRoutes, fakeServer, flush, signIn, startApp, waitFor } from "./helpers";

describe("sign-in and sessions", () => {
  beforeEach(() => {
    sessionStorage.clear();
    localStorage.clear();
  });

  it("signs in, keeps the token in sessionStorage and sends it with Accept-Language", async () => {
    const server = fakeServer(defaultRoutes());
    const { root } = await startApp();
    expect($("login-username", root)).not.toBeNull();
    await signIn(root);
    expect(sessionStorage.getItem("doorstep.dashboard.token")).toBe("tok-1");
    const login = server.calls.find((c) => c.path === "/api/v1/auth/login")!;
    expect(login.body).toEqual({ username: "uyban.hatinh", password: "doorstep-demo-committee" });
    expect(login.headers.authorization).toBeUndefined();
    const cov = server.calls.find((c) => c.path === "/api/v1/coverage")!;
    expect(cov.headers.authorization).toBe("Bearer tok-1");
    expect(cov.headers["accept-language"]).toBe("vi");
    expect(cov.query.get("area")).toBe("42");
    expect($("card-visited", root)!.textContent).toContain("2.880");
  });

  it("goes back to the sign-in screen on a 401", async () => {
    const routes = defaultRoutes();
    const server = fakeServer(routes);
    const { root } = await startApp();
    await signIn(root);
    // The session ends on the server; the next call answers 401.
    routes["GET /api/v1/coverage"] = () => apiError(401, "unauthenticated", "Cần đăng nhập", "Sign-in needed");
    $("unit-row-443", root)!.click();
    await waitFor(() => $("login-username", root), "the sign-in screen");
    expect($("card-visited", root)).toBeNull();
    expect(sessionStorage.getItem("doorstep.dashboard.token")).toBeNull();
    expect($("login-error", root)!.textContent).toContain("hết hạn");
    expect(($("login-username", root) as HTMLInputElement).value).toBe("uyban.hatinh");
    expect(server.calls.filter((c) => c.path === "/api/v1/auth/login")).toHaveLength(1);
  });

  it("opens the sign-in screen when the stored token is no longer valid", async () => {
    sessionStorage.setItem("doorstep.dashboard.token", "old");
    const routes = defaultRoutes();
    routes["GET /api/v1/auth/me"] = () => apiError(401, "unauthenticated", "Cần đăng nhập", "Sign-in needed");
    fakeServer(routes);
    const { root } = await startApp();
    await waitFor(() => $("login-username", root), "the sign-in screen");
    expect(sessionStorage.getItem("doorstep.dashboard.token")).toBeNull();
  });

  it("resumes a valid session without signing in", async () => {
    sessionStorage.setItem("doorstep.dashboard.token", "tok-1");
    fakeServer(defaultRoutes());
    const { root } = await startApp();
    await waitFor(() => $("card-visited", root)?.querySelector("[data-value]"), "the cards");
    expect($("login-username", root)).toBeNull();
  });

  it("shows the server's error in the chosen language, and the wait after too many attempts", async () => {
    const routes = defaultRoutes();
    let n = 0;
    routes["POST /api/v1/auth/login"] = () =>
      ++n === 1
        ? apiError(401, "bad_credentials", "Sai tên đăng nhập hoặc mật khẩu.", "Wrong username or password.")
        : apiError(429, "too_many_attempts", "Quá nhiều lần thử.", "Too many attempts.", { "Retry-After": "42" });
    fakeServer(routes);
    const { root } = await startApp();
    ($("lang-en", root) as HTMLButtonElement).click();
    const u = $("login-username", root) as HTMLInputElement;
    u.value = "x.y";
    ($("login-password", root) as HTMLInputElement).value = "wrong-password";
    ($("login-submit", root) as HTMLButtonElement).click();
    await waitFor(() => $("login-error", root)!.textContent, "an error");
    expect($("login-error", root)!.textContent).toBe("Wrong username or password.");
    ($("login-password", root) as HTMLInputElement).value = "wrong-password";
    ($("login-submit", root) as HTMLButtonElement).click();
    await waitFor(() => $("login-error", root)!.textContent!.includes("42"), "the wait");
    expect($("login-error", root)!.textContent).toContain("Wait 42 seconds");
    expect(($("login-submit", root) as HTMLButtonElement).disabled).toBe(true);
    // The wait is shown in Vietnamese after switching back.
    ($("lang-vi", root) as HTMLButtonElement).click();
    expect($("login-error", root)!.textContent).toMatch(/đợi (42|41) giây/);
  });

  it("asks for both fields before calling the server", async () => {
    const server = fakeServer(defaultRoutes());
    const { root } = await startApp();
    ($("login-submit", root) as HTMLButtonElement).click();
    await flush();
    expect($("login-error", root)!.textContent).toContain("Hãy nhập");
    expect(server.calls.some((c) => c.path === "/api/v1/auth/login")).toBe(false);
  });

  it("signs out", async () => {
    const server = fakeServer(defaultRoutes());
    const { root } = await startApp();
    await signIn(root);
    ($("logout", root) as HTMLButtonElement).click();
    await waitFor(() => $("login-username", root), "the sign-in screen");
    expect(server.calls.some((c) => c.method === "POST" && c.path === "/api/v1/auth/logout")).toBe(true);
    expect(sessionStorage.getItem("doorstep.dashboard.token")).toBeNull();
  });

  it("remembers English and translates the dashboard", async () => {
    fakeServer(defaultRoutes());
    const { root } = await startApp();
    await signIn(root);
    expect($("card-visited", root)!.textContent).toContain("Hộ đã thăm");
    ($("lang-en", root) as HTMLButtonElement).click();
    expect($("card-visited", root)!.textContent).toContain("Households visited");
    expect($("card-visited", root)!.textContent).toContain("2,880");
    expect(localStorage.getItem("doorstep.dashboard.lang")).toBe("en");
    expect(document.documentElement.lang).toBe("en");
    expect($("flagged", root)!.textContent).toContain("Outside the assignment");
    ($("lang-vi", root) as HTMLButtonElement).click();
    expect($("flagged", root)!.textContent).toContain("Ngoài địa bàn được giao");
  });
});
