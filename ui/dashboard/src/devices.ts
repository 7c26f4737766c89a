// "Volunteers and devices": every phone of the area's volunteers with its last sync (stale ones
// first, marked with a word and a sign, not by colour alone), and the visits of each volunteer
// per day (the phones' local dates) over the Progress section's date range. The stale threshold
// (hours) is the server's `stale_hours`, chosen here and remembered in localStorage.

import * as api from "./api";
import { ApiError, errorText } from "./api";
import { personCell } from "./person";
import { fill, h } from "./dom";
import { fmtDateTime, fmtDay, fmtNumber, t } from "./i18n";
import { campaignOffset } from "./outcomes";
import { AccountsSection } from "./accounts";
import { TeamsSection } from "./teams";
import type { DeviceList, DeviceStatus, User, VolunteerDay } from "./types";

export const DEFAULT_STALE_HOURS = 24;
export const MAX_STALE_HOURS = 720;
const STORAGE_KEY = "doorstep.dashboard.staleHours";

export function validStaleHours(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= MAX_STALE_HOURS;
}

export function loadStaleHours(): number {
  try {
    const n = Number(localStorage.getItem(STORAGE_KEY));
    return validStaleHours(n) ? n : DEFAULT_STALE_HOURS;
  } catch {
    return DEFAULT_STALE_HOURS;
  }
}

function saveStaleHours(n: number): void {
  try {
    if (n === DEFAULT_STALE_HOURS) localStorage.removeItem(STORAGE_KEY);
    else localStorage.setItem(STORAGE_KEY, String(n));
  } catch {
    /* private mode: the choice lasts for the page */
  }
}

/** How long ago, from whole minutes: minutes under two hours, hours under two days, then days. */
export function sinceText(minutes: number | null): string {
  if (minutes === null) return t("people.never");
  if (minutes < 120) return t("people.ago_minutes", { n: minutes });
  if (minutes < 48 * 60) return t("people.ago_hours", { n: Math.floor(minutes / 60) });
  return t("people.ago_days", { n: Math.floor(minutes / (24 * 60)) });
}

function statusCell(d: DeviceStatus): HTMLElement {
  if (d.stale) return h("td", { class: "status stale-mark" }, h("strong", null, t("people.status_stale")));
  if (d.revoked)
    return h("td", { class: "status muted" }, t("people.status_revoked"), d.revoke_reason ? h("span", { class: "small revoke-reason", testid: `revoke-reason-${d.device_id}` }, `: ${d.revoke_reason}`) : null);
  return h("td", { class: "status" }, t("people.status_ok"));
}

/** What a leader may do with a live phone: revoke it, saying why, after a confirm. */
export type DeviceActions = { revoke: (d: DeviceStatus, reason: string) => void; busy: string | null; error: { id: string; error: unknown } | null };

function revokeCell(d: DeviceStatus, actions: DeviceActions): HTMLElement {
  if (d.revoked) return h("td", null);
  const reason = h("input", { id: `revoke-reason-input-${d.device_id}`, testid: `revoke-reason-input-${d.device_id}`, maxlength: "200", placeholder: t("people.revoke_reason_hint") });
  const err = actions.error?.id === d.device_id ? h("p", { class: "error", role: "alert" }, errorText(actions.error.error)) : null;
  return h(
    "td",
    { class: "actions" },
    h(
      "details",
      { class: "revoke", open: err !== null },
      h("summary", { class: "secondary button-like", testid: `revoke-${d.device_id}` }, t("people.revoke")),
      h(
        "form",
        {
          class: "revoke-form",
          onsubmit: (e: Event) => {
            e.preventDefault();
            actions.revoke(d, reason.value.trim());
          },
        },
        h("label", { for: `revoke-reason-input-${d.device_id}` }, t("people.revoke_reason")),
        reason,
        h("button", { type: "submit", class: "danger", testid: `revoke-submit-${d.device_id}`, disabled: actions.busy === d.device_id }, t("people.revoke_submit")),
        err,
      ),
    ),
  );
}

export function renderDevices(list: DeviceList, actions: DeviceActions | null = null): HTMLElement {
  const wrap = h("div", { class: "devices", testid: "devices" });
  if (list.devices.length === 0) {
    wrap.append(h("p", { class: "muted" }, t("people.no_devices")));
    return wrap;
  }
  const stale = list.devices.filter((d) => d.stale).length;
  wrap.append(
    h("p", { class: stale ? "note" : "muted", testid: "devices-stale-count", role: "status" }, t("people.stale_count", { n: stale, total: list.devices.length })),
  );
  const off = campaignOffset();
  const newest = list.devices.reduce<string | null>((top, d) => (d.app_version && (top === null || compareVersions(d.app_version, top) > 0) ? d.app_version : top), null);
  wrap.append(
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "data devices-table" },
        h(
          "thead",
          null,
          h(
            "tr",
            null,
            h("th", { scope: "col" }, t("people.col_status")),
            h("th", { scope: "col" }, t("people.col_volunteer")),
            h("th", { scope: "col" }, t("people.col_device")),
            h("th", { scope: "col" }, t("people.col_last_sync")),
            h("th", { scope: "col", class: "num" }, t("people.col_flagged")),
            h("th", { scope: "col", class: "num" }, t("people.col_clock")),
            actions ? h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, t("claims.col_actions"))) : null,
          ),
        ),
        h(
          "tbody",
          null,
          list.devices.map((d) =>
            h(
              "tr",
              { testid: `device-${d.device_id}`, class: d.stale ? "stale" : d.revoked ? "revoked" : null, "data-stale": d.stale ? "true" : "false" },
              statusCell(d),
              h("td", null, personCell(d.volunteer_name, d.volunteer)),
              h("td", null, h("span", { class: "mono", title: d.device_id }, d.device_id.slice(0, 8)), h("br"), versionLine(d, newest)),
              h(
                "td",
                null,
                d.last_sync ? [fmtDateTime(d.last_sync, off), h("br"), h("span", { class: "small" }, sinceText(d.minutes_since_sync))] : t("people.never"),
              ),
              h("td", { class: "num" }, fmtNumber(d.flagged_visits)),
              h("td", { class: "num" }, d.clock_skew_seconds === null ? t("app.none") : t("people.clock_minutes", { n: Math.round(d.clock_skew_seconds / 60) })),
              actions ? revokeCell(d, actions) : null,
            ),
          ),
        ),
      ),
    ),
  );
  return wrap;
}

/** Versions compared part by part, numbers as numbers ("0.10.0" after "0.9.2"). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.+-]/);
  const pb = b.split(/[.+-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? "0";
    const y = pb[i] ?? "0";
    const c = /^\d+$/.test(x) && /^\d+$/.test(y) ? Number(x) - Number(y) : x.localeCompare(y);
    if (c !== 0) return Math.sign(c);
  }
  return 0;
}

/** The app version a phone last synced with, under its id; one older than the newest in the list
 * is marked, so a leader sees who should update. */
function versionLine(d: DeviceStatus, newest: string | null): HTMLElement {
  const v = d.app_version ?? null;
  const testid = `app-version-${d.device_id}`;
  if (!v) return h("span", { class: "small muted", testid }, t("people.app_unknown"));
  const old = newest !== null && compareVersions(v, newest) < 0 && !d.revoked;
  return h(
    "span",
    { class: old ? "small outdated" : "small", testid, "data-outdated": old ? "true" : null },
    t("people.app_version", { v }),
    old ? ` (${t("people.app_outdated", { newest })})` : null,
  );
}

export function renderVolunteerDays(rows: VolunteerDay[]): HTMLElement {
  const wrap = h("div", { class: "volunteer-days", testid: "volunteer-days" });
  if (rows.length === 0) {
    wrap.append(h("p", { class: "muted" }, t("people.no_days")));
    return wrap;
  }
  // Rows arrive grouped by volunteer, days in order; each group ends with its total.
  const groups: VolunteerDay[][] = [];
  for (const r of rows) {
    const last = groups[groups.length - 1];
    if (last && last[0].volunteer_id === r.volunteer_id) last.push(r);
    else groups.push([r]);
  }
  const body: HTMLElement[] = [];
  for (const g of groups) {
    for (const r of g)
      body.push(
        h(
          "tr",
          { testid: `vday-${r.username ?? r.volunteer_id}-${r.date}` },
          h("td", null, personCell(r.display_name, r.username, r.volunteer_id)),
          h("td", null, fmtDay(r.date)),
          h("td", { class: "num" }, fmtNumber(r.visits)),
          h("td", { class: "num" }, fmtNumber(r.households)),
          h("td", { class: "num" }, fmtNumber(r.installed_now)),
          h("td", { class: "num" }, fmtNumber(r.flagged)),
        ),
      );
    const sum = (f: (r: VolunteerDay) => number) => fmtNumber(g.reduce((s, r) => s + f(r), 0));
    body.push(
      h(
        "tr",
        { class: "subtotal", testid: `vtotal-${g[0].username ?? g[0].volunteer_id}` },
        h("th", { scope: "row" }, personCell(g[0].display_name, g[0].username, g[0].volunteer_id)),
        h("th", { scope: "row" }, t("people.total")),
        h("td", { class: "num" }, sum((r) => r.visits)),
        h("td", { class: "num" }, sum((r) => r.households)),
        h("td", { class: "num" }, sum((r) => r.installed_now)),
        h("td", { class: "num" }, sum((r) => r.flagged)),
      ),
    );
  }
  wrap.append(
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "data" },
        h(
          "thead",
          null,
          h(
            "tr",
            null,
            h("th", { scope: "col" }, t("people.col_volunteer")),
            h("th", { scope: "col" }, t("people.col_date")),
            h("th", { scope: "col", class: "num" }, t("people.col_visits")),
            h("th", { scope: "col", class: "num" }, t("people.col_households")),
            h("th", { scope: "col", class: "num" }, t("people.col_installs")),
            h("th", { scope: "col", class: "num" }, t("people.col_flagged")),
          ),
        ),
        h("tbody", null, body),
      ),
    ),
  );
  return wrap;
}

type Load<T> = { state: "loading" | "ok" | "error"; value?: T; error?: unknown };

/** The section: owns its element, loads for an area and a date range, re-renders on demand. */
export class PeopleSection {
  readonly el = h("section", { class: "panel noprint", id: "people-section" });
  /** Staff only: a volunteer's session reads no accounts. */
  private accounts: AccountsSection | null;
  private teams: TeamsSection | null;

  constructor(private readonly user: User) {
    this.accounts = user.role === "volunteer" ? null : new AccountsSection(user, () => this.loadDevices());
    this.teams = user.role === "volunteer" ? null : new TeamsSection(user);
  }
  private revoking: string | null = null;
  private revokeError: { id: string; error: unknown } | null = null;

  /** Revokes a phone after the leader confirms what it does; then both lists read again. */
  private async revoke(d: DeviceStatus, reason: string): Promise<void> {
    if (this.revoking) return;
    if (!window.confirm(t("people.revoke_confirm", { name: d.volunteer_name, device: d.device_id.slice(0, 8) }))) return;
    this.revoking = d.device_id;
    this.revokeError = null;
    this.render();
    try {
      await api.revokeDevice(d.device_id, reason);
      this.loadDevices();
      this.accounts?.load(this.area);
    } catch (error) {
      this.revokeError = { id: d.device_id, error };
    } finally {
      this.revoking = null;
      this.render();
    }
  }
  private area = "";
  private from: string | null = null;
  private to: string | null = null;
  private staleHours = loadStaleHours();
  private staleError = false;
  private devices: Load<DeviceList> = { state: "loading" };
  private days: Load<VolunteerDay[]> = { state: "loading" };
  private gens = { devices: 0, days: 0 };

  /** Loads both lists for an area and the days of [from, to]. */
  load(area: string, from: string | null, to: string | null): void {
    this.area = area;
    this.from = from || null;
    this.to = to || null;
    this.loadDevices();
    this.loadDays();
    this.accounts?.load(area);
    this.teams?.load(area);
  }

  private track<T>(key: "devices" | "days", p: Promise<T>, set: (l: Load<T>) => void): void {
    const g = ++this.gens[key];
    set({ state: "loading" });
    this.render();
    p.then(
      (value) => {
        if (g !== this.gens[key]) return;
        set({ state: "ok", value });
        this.render();
      },
      (error: unknown) => {
        if (g !== this.gens[key]) return;
        if (error instanceof ApiError && error.status === 401) return; // the app is back at sign-in
        set({ state: "error", error });
        this.render();
      },
    );
  }

  private loadDevices(): void {
    this.track("devices", api.devices(this.area, this.staleHours === DEFAULT_STALE_HOURS ? null : this.staleHours), (l) => (this.devices = l));
  }

  private loadDays(): void {
    this.track("days", api.volunteerDays(this.area, this.from, this.to), (l) => (this.days = l));
  }

  private problem(l: Load<unknown>, retry: () => void, testid: string): HTMLElement {
    if (l.state === "loading") return h("p", { class: "muted loading", testid }, t("app.loading"));
    return h(
      "div",
      { class: "error-box", role: "alert", testid },
      h("p", null, errorText(l.error)),
      h("button", { type: "button", class: "secondary", onclick: retry }, t("app.retry")),
    );
  }

  render(): void {
    const input = h("input", { type: "number", min: "1", max: String(MAX_STALE_HOURS), step: "1", id: "stale-hours", testid: "stale-hours", value: String(this.staleHours) });
    const form = h(
      "form",
      {
        class: "range",
        // Our message, in the chosen language, rather than the browser's.
        novalidate: true,
        onsubmit: (e: Event) => {
          e.preventDefault();
          const n = Number(input.value);
          if (input.value.trim() === "" || !validStaleHours(n)) {
            this.staleError = true;
            this.render();
            return;
          }
          this.staleError = false;
          this.staleHours = n;
          saveStaleHours(n);
          this.loadDevices();
        },
      },
      h("label", { for: "stale-hours" }, t("people.stale_hours")),
      input,
      h("button", { type: "submit", class: "secondary", testid: "stale-apply" }, t("people.apply")),
      this.staleError ? h("p", { class: "error", role: "alert" }, t("people.stale_invalid")) : null,
    );
    const d = this.devices;
    const days = this.days;
    fill(
      this.el,
      h("div", { class: "section-head" }, h("h2", null, t("people.title"))),
      this.accounts ? (this.accounts.render(), this.accounts.el) : null,
      this.teams ? (this.teams.render(), this.teams.el) : null,
      h("h3", null, t("people.devices")),
      h("p", { class: "muted small" }, t("people.devices_intro", { h: this.staleHours })),
      form,
      d.state === "ok" && d.value
        ? renderDevices(
            d.value,
            this.user.role === "leader" || this.user.role === "admin" ? { revoke: (x, reason) => void this.revoke(x, reason), busy: this.revoking, error: this.revokeError } : null,
          )
        : this.problem(d, () => this.loadDevices(), "devices"),
      h("h3", null, t("people.daily")),
      h("p", { class: "muted small" }, t("people.daily_intro")),
      days.state === "ok" && days.value ? renderVolunteerDays(days.value) : this.problem(days, () => this.loadDays(), "volunteer-days"),
    );
  }
}
