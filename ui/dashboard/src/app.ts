// The shell: the sign-in screen or the dashboard, the language switch, and what a 401 does (the
// token is forgotten and the sign-in screen comes back, saying the session expired).

import * as api from "./api";
import { Dashboard, type DashboardContext } from "./dashboard";
import { h, fill } from "./dom";
import { getLang, loadLang, setLang, t } from "./i18n";
import { newLoginState, renderLogin, type LoginState } from "./login";
import { setCampaign } from "./outcomes";
import type { Lang, User } from "./types";

export type AppOptions = Pick<DashboardContext, "loadMap" | "mapSupported">;

export class App {
  private user: User | null = null;
  private dashboard: Dashboard | null = null;
  private login: LoginState = newLoginState();

  constructor(
    readonly root: HTMLElement,
    private opts: AppOptions = {},
  ) {}

  /** Reads the campaign, then opens the dashboard if the session in sessionStorage still holds. */
  async start(): Promise<void> {
    loadLang();
    api.onUnauthorized(() => this.expired());
    fill(this.root, h("p", { class: "muted boot" }, t("app.loading")));
    const campaign = api.campaign().then(
      (c) => setCampaign(c),
      (e: unknown) => console.warn("campaign:", e),
    );
    if (api.getToken()) {
      try {
        const user = await api.me();
        await campaign;
        this.showDashboard(user);
        return;
      } catch (err) {
        // A 401 has already shown the sign-in screen; anything else: sign in again, saying why.
        if (!(err instanceof api.ApiError && err.status === 401)) {
          this.login = newLoginState();
          this.login.error = { err };
          this.showLogin(false);
        }
        return;
      }
    }
    await campaign;
    this.showLogin();
  }

  /** The dashboard in use (tests). */
  get current(): Dashboard | null {
    return this.dashboard;
  }

  private langSwitch = (): HTMLElement => {
    const b = (lang: Lang) =>
      h(
        "button",
        {
          type: "button",
          class: "lang",
          testid: `lang-${lang}`,
          lang,
          "aria-pressed": getLang() === lang ? "true" : "false",
          onclick: () => this.switchLang(lang),
        },
        t(`lang.${lang}`),
      );
    return h("div", { class: "lang-switch", role: "group", "aria-label": t("lang.label") }, b("vi"), b("en"));
  };

  switchLang(lang: Lang): void {
    if (lang === getLang()) return;
    setLang(lang);
    if (this.dashboard) this.dashboard.render();
    else this.showLogin(false);
  }

  private showLogin(reset = true, message: "login.expired" | null = null, username = ""): void {
    this.dashboard?.destroy();
    this.dashboard = null;
    this.user = null;
    if (reset) {
      this.login = newLoginState(message);
      this.login.username = username;
    }
    fill(
      this.root,
      renderLogin(this.login, this.langSwitch(), (user) => this.showDashboard(user)),
    );
    const first = this.root.querySelector<HTMLInputElement>(this.login.username ? "[data-testid=login-password]" : "[data-testid=login-username]");
    first?.focus();
  }

  private showDashboard(user: User): void {
    this.user = user;
    this.dashboard?.destroy();
    this.dashboard = new Dashboard({
      user,
      langSwitch: this.langSwitch,
      onLogout: () => void this.logout(),
      loadMap: this.opts.loadMap,
      mapSupported: this.opts.mapSupported,
    });
    fill(this.root, this.dashboard.el);
  }

  private expired(): void {
    if (this.user === null && this.dashboard === null && this.root.querySelector("[data-testid=login-username]")) return;
    this.showLogin(true, "login.expired", this.user?.username ?? "");
  }

  async logout(): Promise<void> {
    try {
      await api.logout();
    } catch {
      /* the token is forgotten anyway */
    }
    this.showLogin();
  }
}
