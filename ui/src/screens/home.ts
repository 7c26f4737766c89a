// Home: who and where, the big "New visit" button, today's work, what is still on the phone,
// the last good sync, and the map of the area.

import type { Ctx, View } from "../app";
import { h, fill } from "../dom";
import { mapSupported, outcomeColor, UNVISITED_COLOR } from "../colors";
import { fmtDateTime, fmtNumber, pick, relTime, t } from "../i18n";
import { icon } from "../icons";
import { locate } from "../location";
import type { MapHandle } from "../map";
import type { Household, Status } from "../types";

export function areaName(ctx: Ctx, code: string | null | undefined): string {
  if (!code) return "";
  return ctx.state.areas.find((a) => a.code === code)?.name ?? code;
}

export function homeView(ctx: Ctx): View {
  let destroyed = false;
  let map: MapHandle | null = null;
  let reloadTimer: ReturnType<typeof setTimeout> | null = null;
  const offset = () => ctx.state.campaign?.utc_offset_minutes ?? 420;

  const banners = h("div", { class: "banners" });
  const who = h("div", { class: "who", testid: "home-volunteer" });
  const todayCount = h("span", { class: "tile-num", testid: "today-count" }, "–");
  const revisitCount = h("span", { class: "tile-num", testid: "revisits-count" }, "–");
  const revisitOthers = h("span", { class: "tile-sub", testid: "revisits-others", hidden: true });
  const pending = h("span", { class: "q-num", testid: "queue-pending" });
  const sent = h("span", { class: "q-num", testid: "queue-sent" });
  const rejected = h("span", { class: "q-num", testid: "queue-rejected" });
  const photos = h("p", { class: "hint", testid: "queue-photos" });
  const lastSync = h("span", { class: "last-sync", testid: "last-sync" });
  const venuesPending = h("p", { class: "hint", testid: "venues-pending", hidden: true });
  const progress = h("div", { class: "progress", testid: "sync-progress", role: "progressbar", hidden: true });
  const mapBox = h("div", { class: "map", testid: "map", role: "img", "aria-label": t("home.map") });
  const mapNote = h("p", { class: "hint", testid: "map-note" });

  const el = h(
    "section",
    { class: "page home", testid: "home" },
    banners,
    who,
    h(
      "button",
      { type: "button", class: "btn primary huge", testid: "new-visit", onclick: () => ctx.go("visit") },
      icon("plus"),
      t("home.new_visit"),
    ),
    h(
      "button",
      { type: "button", class: "btn wide", testid: "open-venues", onclick: () => ctx.go("venues") },
      t("home.venues"),
    ),
    venuesPending,
    h(
      "div",
      { class: "tiles" },
      h("button", { type: "button", class: "tile", onclick: () => ctx.go("today") }, todayCount, h("span", { class: "tile-label" }, t("home.today"))),
      h("button", { type: "button", class: "tile", onclick: () => ctx.go("revisits") }, revisitCount, h("span", { class: "tile-label" }, t("home.revisits")), revisitOthers),
    ),
    h(
      "button",
      { type: "button", class: "btn", testid: "daily-report-open", onclick: () => ctx.go("report") },
      t("home.daily_report"),
    ),
    h(
      "section",
      { class: "card queue", "aria-label": t("home.queue") },
      h("h2", null, t("home.queue")),
      h(
        "div",
        { class: "q-row" },
        h("div", { class: "q-cell" }, pending, h("span", { class: "q-label" }, t("home.queue_pending"))),
        h("div", { class: "q-cell" }, sent, h("span", { class: "q-label" }, t("home.queue_sent"))),
        h(
          "button",
          { type: "button", class: "q-cell q-rejected", testid: "queue-rejected-open", onclick: () => ctx.go("rejected") },
          rejected,
          h("span", { class: "q-label" }, t("home.queue_rejected")),
        ),
      ),
      photos,
      progress,
      h(
        "div",
        { class: "sync-line" },
        lastSync,
        h(
          "button",
          {
            type: "button",
            class: "btn small",
            testid: "home-sync-now",
            onclick: async () => {
              try {
                const s = await ctx.api.syncNow();
                ctx.state.status = s;
                render(s);
              } catch {
                /* the status event tells what happened */
              }
            },
          },
          icon("sync"),
          t("home.sync_now"),
        ),
      ),
    ),
    h("section", { class: "card mapcard" }, h("h2", null, t("home.map")), mapBox, legend(ctx), mapNote),
  );

  function render(s: Status | null) {
    if (!s) return;
    const v = s.volunteer;
    fill(
      who,
      h("span", { class: "who-name" }, v?.username ?? ""),
      v ? h("span", { class: "who-area" }, `${t("home.area")}: ${areaName(ctx, v.area_code)}`) : null,
    );
    pending.textContent = String(s.queue.pending);
    sent.textContent = String(s.queue.sent);
    rejected.textContent = String(s.queue.rejected);
    const waiting = s.queue.venues_pending ?? 0;
    venuesPending.hidden = waiting === 0;
    venuesPending.textContent = t("home.venues_pending", { n: waiting });
    rejected.parentElement?.classList.toggle("alert", s.queue.rejected > 0);
    const p = s.photos ?? { pending: 0, sent: 0, rejected: 0 };
    photos.textContent = t("home.queue_photos", { n: p.pending, sent: p.sent, rejected: p.rejected });
    photos.classList.toggle("alert", p.rejected > 0);
    lastSync.textContent = s.last_sync_ok ? t("home.last_sync", { when: relTime(s.last_sync_ok, ctx.now(), offset()) }) : t("home.never_synced");

    if (s.syncing) {
      const p = s.sync_progress;
      const pct = p && p.total > 0 ? Math.round((100 * p.sent) / p.total) : 0;
      progress.hidden = false;
      progress.setAttribute("aria-valuenow", String(pct));
      fill(
        progress,
        h("div", { class: "bar", style: { width: `${p ? pct : 100}%` } }),
        h("span", { class: "progress-text" }, p ? t("net.syncing", { sent: p.sent, total: p.total }) : t("net.syncing", { sent: 0, total: 0 })),
      );
      progress.classList.toggle("indeterminate", !p);
    } else {
      progress.hidden = true;
      fill(progress);
    }

    const items: HTMLElement[] = [];
    if (s.revoked) {
      // Revoked: the phone sends what it holds, then erases itself; refused records hold it up.
      const r = s.revoked;
      const offset = ctx.state.campaign?.utc_offset_minutes ?? 420;
      items.push(
        h(
          "div",
          { class: "banner danger", testid: "revoked-wipe", role: "alert" },
          h("p", null, t("home.revoked_wipe", { at: fmtDateTime(r.revoked_at, offset), n: r.pending })),
          r.reason ? h("p", { testid: "revoked-reason" }, t("home.revoked_reason", { reason: r.reason })) : null,
          r.refused > 0 ? h("p", { testid: "revoked-refused" }, t("home.revoked_refused", { n: r.refused })) : null,
          r.refused > 0
            ? h("button", { type: "button", class: "btn inverse", testid: "revoked-refused-open", onclick: () => ctx.go("rejected") }, t("home.revoked_refused_open"))
            : null,
        ),
      );
    } else if (s.auth_problem) {
      const n = s.queue.pending;
      const text = s.auth_problem.code === "device_revoked" ? t("home.revoked", { n }) : `${pick(s.auth_problem.messages)} ${t("home.auth_kept", { n })}`;
      // An app too old for the server is updated, not enrolled again: the enrolment stays good.
      const outdated = s.auth_problem.code === "app_outdated";
      items.push(
        h(
          "div",
          { class: "banner danger", testid: outdated ? "app-outdated" : "auth-problem", role: "alert" },
          h("p", null, text),
          outdated
            ? null
            : h("button", { type: "button", class: "btn inverse", testid: "enrol-again", onclick: () => ctx.go("enrol") }, t("home.enrol_again")),
        ),
      );
    }
    if (s.corrections_open > 0) {
      items.push(
        h(
          "div",
          { class: "banner warn", testid: "corrections-banner", role: "status" },
          h("p", null, t("home.corrections", { n: s.corrections_open })),
          h("button", { type: "button", class: "btn", testid: "corrections-open", onclick: () => ctx.go("corrections") }, t("home.corrections_open")),
        ),
      );
    }
    if (s.clock_warning) {
      items.push(
        h("div", { class: "banner warn", testid: "clock-warning", role: "alert" }, h("strong", null, t("home.clock")), h("p", null, pick(s.clock_warning))),
      );
    }
    fill(banners, items);
  }

  async function loadCounts() {
    try {
      const [today, revisits] = await Promise.all([ctx.api.getToday(), ctx.api.getRevisits()]);
      if (destroyed) return;
      todayCount.textContent = String(today.length);
      // The number the list shows (it lists another volunteer's households too, greyed, last).
      revisitCount.textContent = String(revisits.length);
      const others = revisits.filter((x) => x.taken).length;
      revisitOthers.hidden = others === 0;
      revisitOthers.textContent = others ? t("home.revisits_others", { n: others }) : "";
    } catch {
      /* counts stay as they were */
    }
  }

  let shown: Household[] = [];
  /** The base map the map was drawn with (it is drawn again when the download completes). */
  let drawnBasemap: string | null = null;
  /** Said in words when there is no base map, or while it downloads: never a silent grey box. */
  function renderBasemapNote() {
    const b = ctx.state.status?.basemap;
    const mb = (n: number) => fmtNumber(n / 1_048_576, 1);
    mapNote.textContent = drawnBasemap
      ? ""
      : b && !b.path
        ? t("map.basemap_downloading", { done: mb(b.downloaded), size: mb(b.size) })
        : t("map.no_basemap");
  }
  async function loadMap() {
    let households: Household[] = [];
    try {
      households = await ctx.api.getHouseholds(null);
    } catch {
      households = [];
    }
    if (destroyed) return;
    shown = households;
    if (map) {
      map.setHouseholds(households);
      return;
    }
    if (!mapSupported()) {
      mapBox.classList.add("nomap");
      fill(mapBox, h("p", null, t("map.unavailable")));
      return;
    }
    try {
      const { basemapPath, createMap } = await import("../map");
      if (destroyed) return;
      drawnBasemap = basemapPath(ctx.state.settings, ctx.state.status);
      renderBasemapNote();
      map = await createMap(mapBox, {
        campaign: ctx.state.campaign,
        basemap: drawnBasemap,
        households,
        onBasemapError: () => (mapNote.textContent = t("map.basemap_failed")),
      });
      if (destroyed) {
        map.destroy();
        return;
      }
      // A household's dot opens it: the visit form, as from the walk list.
      map.onHousehold((id) => {
        const hh = shown.find((x) => x.id === id);
        if (hh) ctx.go("visit", { household: hh });
      });
      (globalThis as { __doorstepFieldMap?: MapHandle }).__doorstepFieldMap = map;
      // You are here, and the map starts from there: the volunteer walks by it.
      const fix = await locate(ctx.api);
      if (destroyed || !map) return;
      if (typeof fix.lat === "number" && typeof fix.lon === "number") {
        map.setHere({ lat: fix.lat, lon: fix.lon, accuracy_m: fix.accuracy_m });
        map.centre({ lat: fix.lat, lon: fix.lon }, 17);
      }
    } catch {
      mapBox.classList.add("nomap");
      fill(mapBox, h("p", null, t("map.unavailable")));
    }
  }

  render(ctx.state.status);
  void loadCounts();
  void loadMap();
  const ticker = setInterval(() => render(ctx.state.status), 30_000);

  return {
    el,
    onStatus(s) {
      render(s);
      if (map) {
        // The server's base map just arrived: draw the map again over it.
        void import("../map").then(({ basemapPath }) => {
          if (destroyed || !map || basemapPath(ctx.state.settings, s) === drawnBasemap) return renderBasemapNote();
          map.destroy();
          map = null;
          void loadMap();
        });
      }
      // A visit saved or a sync ended: counts and colours may have changed. Coalesce bursts.
      if (reloadTimer) clearTimeout(reloadTimer);
      reloadTimer = setTimeout(() => {
        void loadCounts();
        void loadMap();
      }, 300);
    },
    destroy() {
      destroyed = true;
      clearInterval(ticker);
      if (reloadTimer) clearTimeout(reloadTimer);
      map?.destroy();
      map = null;
    },
  };
}

function legend(ctx: Ctx): HTMLElement {
  const outcomes = ctx.state.campaign?.outcomes ?? [];
  return h(
    "ul",
    { class: "legend" },
    h("li", null, h("span", { class: "swatch", style: { background: UNVISITED_COLOR } }), t("map.unvisited")),
    outcomes.map((o, i) => h("li", null, h("span", { class: "swatch", style: { background: outcomeColor(o.code, i) } }), pick(o.label))),
    h("li", null, h("span", { class: "swatch ring" }), t("map.revisit")),
    h("li", null, h("span", { class: "swatch here" }), t("map.here")),
  );
}
