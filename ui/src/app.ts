// The app shell: a header with the network badge, the current screen, a toast, a bottom bar.
// Screens are plain functions that build their DOM and get told about each new Status.

import { api as defaultApi, type Api } from "./api";
import { h, fill } from "./dom";
import { getLang, pick, setLang, t, type Key } from "./i18n";
import { enrolView, takeEnrolLink } from "./screens/enrol";
import { homeView } from "./screens/home";
import { correctionsView, rejectedView, revisitsView, todayView } from "./screens/lists";
import { photosView, localDay, type PhotoTarget } from "./screens/photos";
import { settingsView } from "./screens/settings";
import { visitView, type VisitParams } from "./screens/visit";
import { venuesView, venueView, type VenueParams } from "./screens/venues";
import { icon } from "./icons";
import type { Area, Campaign, Lang, Settings, Status } from "./types";

export type Screen =
  | "enrol"
  | "home"
  | "visit"
  | "revisits"
  | "today"
  | "rejected"
  | "corrections"
  | "settings"
  | "photos"
  | "report"
  | "venues"
  | "venue";

/** A screen's parameters: the visit form's, the venue form's, or the photos' target. */
export type ScreenParams = VisitParams & VenueParams & { photo?: PhotoTarget };

/** A button in a toast (the saved visit's "Take photo"). */
export type ToastAction = { label: string; testid: string; run(): void };

export type AppState = {
  status: Status | null;
  settings: Settings | null;
  campaign: Campaign | null;
  areas: Area[];
  /** The volunteer's assigned areas (codes); empty when unknown. */
  workAreas: string[];
};

export interface View {
  el: HTMLElement;
  /** Shown below the screen, always in view (the visit form's Save). */
  footer?: HTMLElement;
  onStatus?(s: Status): void;
  destroy?(): void;
}

export type Ctx = {
  api: Api;
  state: AppState;
  screen(): Screen;
  go(screen: Screen, params?: ScreenParams): void;
  /** A short message above the bottom bar (testid given, e.g. saved-toast), with an action. */
  toast(text: string, testid?: string, action?: ToastAction): void;
  setLanguage(lang: Lang): Promise<void>;
  /** After enrolment: load what depends on it and go home. */
  enrolled(s: Status): Promise<void>;
  /** Loads the campaign and areas if they are missing (they arrive with the first pull). */
  ensureCampaign(): Promise<Campaign | null>;
  now(): number;
};

const NAV: { screen: Screen; key: Key; icon: Parameters<typeof icon>[0] }[] = [
  { screen: "home", key: "nav.home", icon: "home" },
  { screen: "revisits", key: "nav.revisits", icon: "revisit" },
  { screen: "today", key: "nav.today", icon: "list" },
  { screen: "rejected", key: "nav.rejected", icon: "alert" },
  { screen: "settings", key: "nav.settings", icon: "gear" },
];

export type App = { ctx: Ctx; root: HTMLElement; ready: Promise<void>; destroy(): void };

export function startApp(root: HTMLElement, apiImpl: Api = defaultApi, opts: { now?: () => number } = {}): App {
  const state: AppState = { status: null, settings: null, campaign: null, areas: [], workAreas: [] };
  let screen: Screen = "home";
  let params: ScreenParams | undefined;
  let view: View | null = null;
  let unlisten: (() => void) | null = null;
  let unlistenLinks: (() => void) | null = null;

  /** An enrolment link the system handed over: it fills the enrolment form (never enrols by
   * itself: the volunteer sees the server first). True when one was taken. */
  async function checkEnrolLink(): Promise<boolean> {
    let link = null;
    try {
      link = await apiImpl.takeEnrolLink();
    } catch {
      return false;
    }
    if (!link || destroyed) return false;
    if (state.status?.enrolled) {
      toast(t("enrol.link_ignored"));
      return false;
    }
    takeEnrolLink(link);
    return true;
  }
  let toastTimer: ReturnType<typeof setTimeout> | null = null;
  let toastHasAction = false;
  let destroyed = false;
  // While a language change is being saved, a Status still carrying the old language is stale.
  let pendingLang: Lang | null = null;

  const header = h("header", { class: "topbar" });
  const main = h("main", { class: "screen" });
  const footer = h("div", { class: "screen-footer", hidden: true });
  const toastArea = h("div", { class: "toast-area", "aria-live": "polite" });
  const nav = h("nav", { class: "bottomnav" });
  fill(root, header, main, footer, toastArea, nav);
  root.classList.add("app");

  const ctx: Ctx = {
    api: apiImpl,
    state,
    screen: () => screen,
    go,
    toast,
    setLanguage,
    enrolled,
    ensureCampaign,
    now: opts.now ?? (() => Date.now()),
  };

  function renderHeader() {
    const s = state.status;
    const online = !!s?.online;
    const word = online ? t("net.online") : t("net.offline");
    const syncing = s?.syncing && s.sync_progress ? t("net.syncing", { sent: s.sync_progress.sent, total: s.sync_progress.total }) : "";
    // Online means the last sync reached the server; a phone not enrolled has not synced, so on
    // the enrolment screen the badge would say "Mất mạng" while the server answers.
    const known = screen !== "enrol";
    fill(
      header,
      h("span", { class: "brand" }, t("app.title")),
      syncing ? h("span", { class: "syncing", testid: "header-syncing" }, syncing) : null,
      known
        ? h(
            "span",
            { class: `net ${online ? "on" : "off"}`, testid: "online-state", "data-online": String(online), role: "status" },
            h("span", { class: "dot", "aria-hidden": "true" }),
            word,
          )
        : null,
    );
  }

  /** The bar's buttons, made once per language and then only updated: a status event during a
   * sync arrives several times a second, and a button replaced between a finger's down and up
   * would swallow the tap. */
  let navButtons: { lang: string; items: { screen: Screen; button: HTMLElement; badge: HTMLElement }[] } | null = null;

  function renderNav() {
    // The visit form is a task with its own Cancel and Save: the bar's height goes to the form.
    const show = screen !== "enrol" && screen !== "visit";
    nav.hidden = !show;
    if (!show) return;
    const rejected = state.status?.queue.rejected ?? 0;
    if (!navButtons || navButtons.lang !== getLang()) {
      const items = NAV.map((n) => {
        const badge = h("span", { class: "badge", hidden: true });
        const button = h(
          "button",
          { type: "button", class: "navbtn", testid: `nav-${n.screen}`, onclick: () => go(n.screen) },
          icon(n.icon),
          h("span", { class: "navlabel" }, t(n.key)),
          n.screen === "rejected" ? badge : null,
        );
        return { screen: n.screen, button, badge };
      });
      navButtons = { lang: getLang(), items };
      fill(
        nav,
        items.map((i) => i.button),
      );
    }
    for (const { screen: s, button, badge } of navButtons.items) {
      button.classList.toggle("active", screen === s);
      if (screen === s) button.setAttribute("aria-current", "page");
      else button.removeAttribute("aria-current");
      if (s === "rejected") {
        badge.hidden = rejected === 0;
        badge.textContent = rejected > 0 ? String(rejected) : "";
      }
    }
  }

  function renderScreen() {
    view?.destroy?.();
    view = null;
    switch (screen) {
      case "enrol":
        view = enrolView(ctx);
        break;
      case "home":
        view = homeView(ctx);
        break;
      case "visit":
        view = visitView(ctx, params ?? {});
        break;
      case "revisits":
        view = revisitsView(ctx);
        break;
      case "today":
        view = todayView(ctx);
        break;
      case "rejected":
        view = rejectedView(ctx);
        break;
      case "corrections":
        view = correctionsView(ctx);
        break;
      case "settings":
        view = settingsView(ctx);
        break;
      case "venues":
        view = venuesView(ctx);
        break;
      case "venue":
        view = venueView(ctx, params ?? {});
        break;
      case "photos":
        view = photosView(ctx, params?.photo ?? { kind: "day", id: today(), area: dayArea() });
        break;
      case "report":
        view = photosView(ctx, { kind: "day", id: today(), area: dayArea() });
        break;
    }
    fill(main, view.el);
    fill(footer, view.footer ?? null);
    footer.hidden = !view.footer;
    main.scrollTop = 0;
  }

  function renderAll() {
    renderHeader();
    renderNav();
    renderScreen();
  }

  function today(): string {
    return localDay(ctx.now(), state.campaign?.utc_offset_minutes ?? 420);
  }

  /** The area a day report is for: the volunteer's first work area, else their account's. */
  function dayArea(): string | null {
    return state.workAreas[0] ?? state.status?.volunteer?.area_code ?? null;
  }

  function go(next: Screen, p?: ScreenParams) {
    if (destroyed) return;
    // A toast's action belongs to the screen it was shown on (the saved visit's "Take photo").
    if (toastHasAction) {
      if (toastTimer) clearTimeout(toastTimer);
      fill(toastArea);
      toastHasAction = false;
    }
    const from = screen;
    screen = next;
    params = p;
    if (next !== "home" && from !== next && typeof history !== "undefined") {
      try {
        history.pushState({ doorstep: next }, "");
      } catch {
        /* not in a browsing context */
      }
    }
    renderHeader();
    renderNav();
    renderScreen();
  }

  function toast(text: string, testid = "toast", action?: ToastAction) {
    if (toastTimer) clearTimeout(toastTimer);
    toastHasAction = !!action;
    const button = action
      ? h(
          "button",
          {
            type: "button",
            class: "btn small inverse",
            testid: action.testid,
            onclick: () => {
              fill(toastArea);
              action.run();
            },
          },
          action.label,
        )
      : null;
    fill(toastArea, h("div", { class: "toast", testid, role: "status" }, icon("check"), text, button));
    toastTimer = setTimeout(() => fill(toastArea), 6000);
  }

  async function setLanguage(lang: Lang) {
    setLang(lang);
    // A message shown in the old language goes rather than linger untranslated.
    fill(toastArea);
    renderAll();
    if (state.settings && state.settings.language !== lang) {
      const wanted = { ...state.settings, language: lang };
      state.settings = wanted;
      pendingLang = lang;
      try {
        state.settings = await apiImpl.setSettings(wanted);
      } catch {
        /* the language still changes on screen; it is saved next time settings are saved */
      } finally {
        pendingLang = null;
      }
    }
  }

  async function ensureCampaign(): Promise<Campaign | null> {
    if (!state.campaign) {
      try {
        state.campaign = await apiImpl.getCampaign();
      } catch {
        state.campaign = null;
      }
    }
    if (state.areas.length === 0) {
      try {
        state.areas = await apiImpl.getAreas();
      } catch {
        state.areas = [];
      }
      try {
        state.workAreas = await apiImpl.getWorkAreas();
      } catch {
        state.workAreas = [];
      }
    }
    return state.campaign;
  }

  async function enrolled(s: Status) {
    state.status = s;
    state.campaign = null;
    state.areas = [];
    state.workAreas = [];
    await ensureCampaign();
    renderHeader();
    go("home");
  }

  function onStatus(s: Status) {
    if (destroyed) return;
    const prev = state.status;
    state.status = s;
    if (!pendingLang && s.language && s.language !== getLang()) {
      setLang(s.language);
      if (state.settings) state.settings.language = s.language;
      renderAll();
      return;
    }
    renderHeader();
    renderNav();
    if (prev && !prev.enrolled && s.enrolled && screen === "enrol") return; // the enrol screen goes on
    if (prev?.syncing && !s.syncing) {
      // A sync may have brought the volunteer's areas and the campaign: read them again, and
      // swap them in only once read, so a form opened meanwhile never sees them missing.
      void (async () => {
        try {
          const [campaign, areas, workAreas] = await Promise.all([apiImpl.getCampaign(), apiImpl.getAreas(), apiImpl.getWorkAreas()]);
          state.campaign = campaign;
          state.areas = areas;
          state.workAreas = workAreas;
        } catch {
          return; // keep what was there
        }
        if (!destroyed && state.status === s) view?.onStatus?.(s);
      })();
    }
    if (!s.enrolled && screen !== "enrol" && screen !== "settings") {
      go("enrol");
      return;
    }
    view?.onStatus?.(s);
  }

  async function boot() {
    fill(main, h("p", { class: "loading" }, t("app.loading")));
    try {
      state.settings = await apiImpl.getSettings();
      setLang(state.settings.language);
      const s = await apiImpl.getStatus();
      state.status = s;
      if (s.language) setLang(s.language);
      unlisten = await apiImpl.onStatus(onStatus);
      await checkEnrolLink();
      unlistenLinks = await apiImpl.onEnrolLink(() => {
        void checkEnrolLink().then((taken) => taken && go("enrol"));
      });
      if (s.enrolled) await ensureCampaign();
      screen = s.enrolled ? "home" : "enrol";
      renderAll();
    } catch (e) {
      setLang(getLang());
      renderHeader();
      const err = e as { messages?: { vi: string; en: string } };
      fill(
        main,
        h(
          "div",
          { class: "card error", testid: "load-error" },
          h("p", null, t("app.load_failed")),
          h("p", null, err.messages ? pick(err.messages) : String(e)),
          h("button", { type: "button", class: "btn", onclick: () => void boot() }, t("app.retry")),
        ),
      );
    }
  }

  const onPop = () => {
    if (screen !== "home" && state.status?.enrolled) {
      screen = "home";
      renderNav();
      renderScreen();
    }
  };
  if (typeof window !== "undefined") window.addEventListener("popstate", onPop);
  // The network is back: sync now rather than at the next retry.
  const onOnline = () => {
    if (state.status?.enrolled) void apiImpl.syncNow().catch(() => undefined);
  };
  if (typeof window !== "undefined") window.addEventListener("online", onOnline);

  const ready = boot();
  return {
    ctx,
    root,
    ready,
    destroy() {
      destroyed = true;
      view?.destroy?.();
      unlisten?.();
      unlistenLinks?.();
      if (toastTimer) clearTimeout(toastTimer);
      if (typeof window !== "undefined") {
        window.removeEventListener("popstate", onPop);
        window.removeEventListener("online", onOnline);
      }
    },
  };
}
