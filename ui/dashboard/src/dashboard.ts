// The main screen: header, area breadcrumb, cards, map, progress (units table, daily curve, date
// range), revisit walk list, flagged visits, the daily report and (for leaders) the claims. Every figure is for the area at
// the end of the breadcrumb; opening a unit (in the table or on the map) goes down one level.
// Data is kept in this object and the DOM is rebuilt from it, so a language switch re-renders
// everything but the map canvas.

import * as api from "./api";
import { ApiError, errorText } from "./api";
import { mapSupported, VENUE_COLOR } from "./colors";
import { h, fill } from "./dom";
import { fmtPercent, fmtPercentValue, pick, t, today, type Key } from "./i18n";
import { householdVisits } from "./household";
import { dateField } from "./datefield";
import { dataRange, probeRange } from "./range";
import { isNarrow, watchTables } from "./responsive";
import { PhotoPanel } from "./photos";
import { renderFlagged, renderRevisits, saveBlob } from "./lists";
import { renderChart } from "./chart";
import { PeopleSection } from "./devices";
import { ClaimsSection, mayClaim } from "./claims";
import type { MapView } from "./map";
import { renderCardList } from "./cards";
import { campaignEnd, campaignOffset, campaignStart, campaignThresholds, colorOf, getCampaign, outcomeCodes, outcomeLabel, targetApp } from "./outcomes";
import { BAND_COLORS, loadThresholds, saveThresholds, validThresholds, type Band, type Thresholds } from "./thresholds";
import type { AreaProps, Coverage, FeatureCollection, HouseholdProps, Progress, Revisit, User, VenueProps, Visit } from "./types";
import { DEFAULT_SORT, renderUnitsTable, type Sort } from "./units";
import { renderVenues, venueCollection } from "./venues";
import { bboxOf, FilterPanel, fitZoom, STREET_ZOOM, resolutionForZoom, type ExportKind, type HexagonProps } from "./filters";

/** One request's state, for the area it was made for. */
type Load<T> = { state: "idle" | "loading" | "ok" | "error"; value?: T; error?: unknown; area?: string };
const idle = <T>(): Load<T> => ({ state: "idle" });

export type Crumb = { code: string; name: string };

export type DashboardContext = {
  user: User;
  langSwitch: () => HTMLElement;
  onLogout: () => void;
  /** Loads the map module (a separate chunk); tests leave it out. */
  loadMap?: () => Promise<typeof import("./map")>;
  /** Whether to try the map at all (WebGL present). */
  mapSupported?: () => boolean;
};

const UNVISITED = "";
const EMPTY_COLLECTION: FeatureCollection<never> = { type: "FeatureCollection", features: [] };
/** The longest the lists below the map wait for the map to draw. */
const SECONDARY_WAIT_MS = 2000;

export class Dashboard {
  readonly el: HTMLElement;
  private path: Crumb[];
  private gens: Record<string, number> = {};
  private coverage: Load<Coverage> = idle();
  private progress: Load<Progress> = idle();
  private revisits: Load<Revisit[]> = idle();
  private flagged: Load<Visit[]> = idle();
  private areasGeo: Load<FeatureCollection<AreaProps>> = idle();
  private householdsGeo: Load<FeatureCollection<HouseholdProps>> = idle();
  private hexagonsGeo: Load<FeatureCollection<HexagonProps>> = idle();
  private venuesGeo: Load<FeatureCollection<VenueProps>> = idle();
  /** The map has drawn the current area's data since it was opened. */
  private mapDrawn = false;
  /** What waits for the map's data (the lists below it), and its time limit. */
  private secondary: (() => void) | null = null;
  private secondaryTimer: ReturnType<typeof setTimeout> | null = null;
  private hexRes = resolutionForZoom(0);
  private filterPanel: FilterPanel;
  private from: string;
  private to: string;
  private rangeError = false;
  /** The range was set by the leader (or from the data): the first progress no longer moves it. */
  private rangeChosen = false;
  /** The map filters' fold, once the user opened or closed it (null: open unless on a phone). */
  private filtersOpen: boolean | null = null;
  /** The volunteers' days wait for the range to be chosen. */
  private peopleWaiting = false;
  private sort: Sort = DEFAULT_SORT;
  private thresholds: Thresholds = loadThresholds(campaignThresholds());
  private thresholdError = false;
  private hidden = new Set<string>();
  private reportDate: string;
  private report: { state: "idle" | "busy" | "done" | "error"; file?: string; error?: unknown } = { state: "idle" };
  private mapView: MapView | null = null;
  private mapState: "pending" | "ready" | "unavailable" = "pending";
  /** The server's base map: drawn, none loaded (said in words), or not known yet. */
  private basemapState: "drawn" | "none" | "unknown" = "unknown";
  private zoom = 0;
  /** The area and filters the households on the map were asked for (null: not asked yet). */
  private householdsKey: string | null = null;
  private disposed = false;
  /** Labels and pages the tables as sections draw them (responsive.ts). */
  private tables: MutationObserver;

  // Slots rebuilt by render().
  private header = h("header", { class: "topbar" });
  private crumbs = h("nav", { class: "breadcrumb", testid: "breadcrumb" });
  private cards = h("section", { class: "cards", id: "cards" });
  private mapTitle = h("div", { class: "section-head" });
  private mapBox = h("div", { class: "map", testid: "map" });
  private mapNotes = h("div", { class: "map-notes", "aria-live": "polite" });
  private mapSide = h("div", { class: "map-side" });
  private progressSec = h("section", { class: "panel", id: "progress" });
  private revisitsSec = h("section", { class: "panel", id: "revisits-section" });
  private flaggedSec = h("section", { class: "panel noprint", id: "flagged-section" });
  private reportSec = h("section", { class: "panel noprint", id: "report-section" });
  private people: PeopleSection;
  /** Leaders' and admins' only: who else could give out claims is refused by the server. */
  private claims: ClaimsSection | null;
  private photos = new PhotoPanel();

  constructor(private ctx: DashboardContext) {
    this.people = new PeopleSection(ctx.user);
    // The map's filters (filters.ts): its outcome boxes are the set of outcomes hidden here.
    this.filterPanel = new FilterPanel({
      outcomes: outcomeCodes,
      outcomeLabel,
      colorOf,
      onChange: () => this.loadMap(),
      onVisible: (codes) => this.mapView?.setVisibleOutcomes(codes),
      onExport: (k) => void this.exportData(k),
    });
    this.hidden = this.filterPanel.filters.hidden;
    this.claims = mayClaim(ctx.user.role) ? new ClaimsSection(api, (code) => this.areaNames().get(code) ?? code) : null;
    api.teams().then(
      (teams) => {
        this.filterPanel.setTeams(teams);
        this.claims?.setTeams(teams);
        if (!this.disposed) this.renderMapSide();
      },
      () => undefined, // no team list: the filter offers "all teams" only
    );
    const root = ctx.user.area_code ?? "";
    this.path = [{ code: root, name: root }];
    const now = today(campaignOffset());
    // Until the first progress read says which days hold data: from the campaign's first day.
    const probe = probeRange(now, campaignStart());
    this.to = probe.to;
    this.from = probe.from;
    this.reportDate = now;
    this.el = h(
      "div",
      { class: "dashboard" },
      h("div", { class: "noprint" }, this.header),
      h(
        "main",
        { class: "content" },
        h("div", { class: "noprint" }, this.crumbs),
        h("div", { class: "noprint" }, this.cards),
        h(
          "section",
          { class: "panel noprint", id: "map-section" },
          this.mapTitle,
          h("div", { class: "map-layout" }, h("div", { class: "map-col" }, this.mapBox, this.mapNotes), this.mapSide),
        ),
        h("div", { class: "noprint" }, this.progressSec),
        this.reportSec,
        this.photos.el,
        this.revisitsSec,
        this.flaggedSec,
        this.claims?.el,
        this.people.el,
      ),
    );
    this.tables = watchTables(this.el);
    this.startMap();
    this.render();
    this.load();
  }

  get current(): Crumb {
    return this.path[this.path.length - 1];
  }

  /** The breadcrumb, for tests. */
  get crumbsPath(): Crumb[] {
    return this.path.map((c) => ({ ...c }));
  }

  destroy(): void {
    this.disposed = true;
    this.tables.disconnect();
    if (this.secondaryTimer) clearTimeout(this.secondaryTimer);
    this.mapView?.destroy();
    this.mapView = null;
  }

  /** Goes one level down, into a child of the current area. */
  open(code: string, name: string): void {
    if (code === this.current.code) return;
    this.path.push({ code, name });
    this.navigated();
  }

  /** Goes back up to the breadcrumb's i-th area. */
  goTo(i: number): void {
    if (i < 0 || i >= this.path.length - 1) return;
    this.path = this.path.slice(0, i + 1);
    this.navigated();
  }

  private navigated(): void {
    this.report = { state: "idle" };
    this.render();
    this.load();
    this.crumbs.querySelector<HTMLElement>("[aria-current]")?.focus({ preventScroll: true });
  }

  // ---------------------------------------------------------------- loading

  private track<T>(key: string, p: Promise<T>, set: (l: Load<T>) => void, after: () => void): void {
    const g = (this.gens[key] = (this.gens[key] ?? 0) + 1);
    const area = this.current.code;
    set({ state: "loading", area });
    after();
    p.then(
      (value) => {
        if (this.disposed || g !== this.gens[key]) return;
        set({ state: "ok", value, area });
        after();
      },
      (error: unknown) => {
        if (this.disposed || g !== this.gens[key]) return;
        if (error instanceof ApiError && error.status === 401) return; // the app is back at sign-in
        set({ state: "error", error, area });
        after();
      },
    );
  }

  load(): void {
    const code = this.current.code;
    // Nothing of the previous area may be shown (or fitted on the map) for this one.
    const loading = { state: "loading" as const, area: code };
    this.coverage = { ...loading };
    this.progress = { ...loading };
    this.revisits = { ...loading };
    this.flagged = { ...loading };
    this.areasGeo = { ...loading };
    this.householdsGeo = { ...loading };
    // The map's reads go out first: it is what a committee opens the page for.
    this.loadMap();
    this.track("coverage", api.coverage(code), (l) => (this.coverage = l), () => {
      if (this.coverage.state === "ok" && this.coverage.value) {
        const c = this.coverage.value;
        if (c.area_code === this.current.code && c.area_name && c.area_name !== this.current.name) {
          this.current.name = c.area_name;
          this.renderCrumbs();
          this.renderMapHead();
          this.renderReport();
          this.renderRevisits();
          this.photos.rename(c.area_name);
        }
      }
      this.renderCards();
    });
    this.loadProgress(false);
    // The lists below the map wait until the map has drawn (at most SECONDARY_WAIT_MS): on a
    // province they read many rows, and the cores go to what is on screen first.
    this.deferUntilMapData(() => {
      // Volunteers' days take a year at most: they wait for the range the data holds.
      if (this.rangeChosen) this.people.load(code, this.from, this.to);
      else this.peopleWaiting = true;
      this.claims?.load(code, this.path.map((c) => c.code));
      this.track("revisits", api.revisits(code), (l) => (this.revisits = l), () => {
        this.renderRevisits();
        this.renderFlagged();
      });
      this.track("flagged", api.flaggedVisits(code), (l) => (this.flagged = l), () => this.renderFlagged());
    });
  }

  private deferUntilMapData(run: () => void): void {
    if (this.secondaryTimer) clearTimeout(this.secondaryTimer);
    this.mapDrawn = false;
    this.secondary = run;
    this.secondaryTimer = setTimeout(() => this.runSecondary(), SECONDARY_WAIT_MS);
    this.runSecondaryIfMapIn();
  }

  private runSecondaryIfMapIn(): void {
    if (!this.secondary) return;
    // Until the map has drawn the area (the first draw on software WebGL takes a second or more
    // of the same cores), or it cannot draw at all.
    const waiting =
      this.mapState !== "unavailable" &&
      ([this.areasGeo, this.hexagonsGeo].some((l) => l.state === "loading") || (this.mapState === "ready" ? !this.mapDrawn : true));
    if (!waiting) this.runSecondary();
  }

  private runSecondary(): void {
    if (this.secondaryTimer) clearTimeout(this.secondaryTimer);
    this.secondaryTimer = null;
    const run = this.secondary;
    this.secondary = null;
    if (run && !this.disposed) run();
  }

  /** The map's layers for the current area and filters: child areas, households, hexagons. */
  private loadMap(): void {
    const code = this.current.code;
    const f = this.filterPanel.params();
    this.track("areasGeo", api.mapAreas(code, f), (l) => (this.areasGeo = l), () => {
      this.predictResolution();
      this.updateMapData();
      this.loadHouseholdsIfWanted();
    });
    // Households are read only where they are drawn: a leaf area, or at street zoom. A
    // province's 365,000 would be 50,000 points nobody sees under its hexagons.
    this.gens.householdsGeo = (this.gens.householdsGeo ?? 0) + 1;
    this.householdsKey = null;
    this.householdsGeo = { state: "ok", value: EMPTY_COLLECTION, area: code };
    this.loadHouseholdsIfWanted();
    this.loadHexagons();
  }

  /** The map fits itself to the areas once it has drawn (on software WebGL, a second or more):
   * asks for the hexagons at the resolution of that zoom now, rather than once at another and
   * again after the fit. */
  private predictResolution(): void {
    const a = this.areasGeo;
    if (a.state !== "ok" || !a.value || a.area !== this.current.code) return;
    const b = bboxOf(a.value);
    const { clientWidth: w, clientHeight: h } = this.mapBox;
    if (!b || w <= 0 || h <= 0) return;
    const res = resolutionForZoom(fitZoom(b, w, h));
    if (res !== this.hexRes) {
      this.hexRes = res;
      this.loadHexagons();
    }
  }

  private loadHouseholdsIfWanted(): void {
    if (!(this.isLeaf() === true || this.zoom >= STREET_ZOOM)) return;
    const code = this.current.code;
    const f = this.filterPanel.params();
    const key = `${code}?${JSON.stringify(f)}`;
    if (this.householdsKey === key) return;
    this.householdsKey = key;
    const nothing = this.filterPanel.keepsNothing();
    const households = nothing ? Promise.resolve(EMPTY_COLLECTION) : api.mapHouseholds(code, f);
    this.track("householdsGeo", households, (l) => (this.householdsGeo = l), () => this.updateMapData());
    // Venues are few (tens per commune): all of the area's, whatever the households' filters.
    const venues = api.venues(code).then(venueCollection);
    this.track("venuesGeo", venues, (l) => (this.venuesGeo = l), () => this.updateMapData());
  }

  private loadHexagons(): void {
    const code = this.current.code;
    const nothing = this.filterPanel.keepsNothing();
    const req = nothing ? Promise.resolve(EMPTY_COLLECTION) : api.mapHexagons(code, this.hexRes, this.filterPanel.params());
    this.track("hexagonsGeo", req, (l) => (this.hexagonsGeo = l), () => this.updateMapData());
  }

  private async exportData(kind: ExportKind): Promise<void> {
    this.filterPanel.setExportNote(t("exports.downloading"));
    this.renderMapSide();
    try {
      const { blob, filename } = await api.exportFile(kind, this.current.code, this.filterPanel.params());
      if (this.disposed) return;
      saveBlob(blob, filename);
      this.filterPanel.setExportNote(t("exports.done", { file: filename }));
    } catch (error) {
      if (this.disposed || (error instanceof ApiError && error.status === 401)) return;
      this.filterPanel.setExportNote(errorText(error), true);
    }
    this.renderMapSide();
  }

  private loadProgress(withPeople = true): void {
    // Volunteers' days follow the progress range; their devices, the area.
    if (withPeople) this.people.load(this.current.code, this.from, this.to);
    this.photos.show(this.current.code, this.current.name, this.reportDate);
    this.track("progress", api.progress(this.current.code, this.from || null, this.to || null), (l) => (this.progress = l), () => {
      if (!this.rangeChosen && (this.progress.state === "ok" || this.progress.state === "error")) this.chooseRange();
      this.renderProgress();
      this.renderFlagged();
      this.updateMapData();
    });
  }

  /** The first progress read is in: open on the days that hold data (range.ts). */
  private chooseRange(): void {
    this.rangeChosen = true;
    const now = today(campaignOffset());
    const days = this.progress.state === "ok" ? (this.progress.value?.days ?? []) : [];
    const r = dataRange(days, now, campaignStart());
    const moved = r.from !== this.from || r.to !== this.to;
    const endMoved = r.to !== this.to;
    this.from = r.from;
    this.to = r.to;
    // The units' finish dates are measured at the pace of the 7 days up to the range's end: read
    // again for the range shown (the probe ended today), the probe's figures shown meanwhile.
    if (endMoved) {
      const keep = (l: Load<Progress>) => {
        if (l.state !== "loading") this.progress = l;
      };
      this.track("progress", api.progress(this.current.code, this.from, this.to), keep, () => {
        this.renderProgress();
        this.renderFlagged();
        this.updateMapData();
      });
    }
    if (moved && this.reportDate === now) {
      this.reportDate = r.to;
      this.renderReport();
      this.photos.show(this.current.code, this.current.name, this.reportDate);
    }
    if (this.peopleWaiting) {
      this.peopleWaiting = false;
      this.people.load(this.current.code, this.from, this.to);
    }
  }

  // ---------------------------------------------------------------- map

  private startMap(): void {
    const supported = (this.ctx.mapSupported ?? mapSupported)();
    const loader = this.ctx.loadMap ?? (() => import("./map"));
    if (!supported) {
      this.mapState = "unavailable";
      return;
    }
    loader()
      .then((mod) => {
        if (this.disposed) return;
        try {
          this.mapView = mod.createMap(
            this.mapBox,
            {
              onAreaClick: (code, name) => this.open(code, name),
              popupContent: (p) => this.popupContent(p),
              areaTooltip: (p) => t("map.tooltip", { name: String(p.name), p: fmtPercent(p.coverage_rate) }),
              onZoom: (z) => {
                this.zoom = z;
                this.loadHouseholdsIfWanted();
                this.renderMapNotes();
                const res = resolutionForZoom(z);
                if (res !== this.hexRes) {
                  this.hexRes = res;
                  this.loadHexagons();
                }
              },
              onIdle: () => {
                // Drawn with the area's data: the lists below may now take the server's cores.
                const a = this.areasGeo;
                if (a.state === "ok" && a.area === this.current.code && this.hexagonsGeo.state !== "loading") {
                  this.mapDrawn = true;
                  this.runSecondaryIfMapIn();
                }
              },
              venueTooltip: (p) =>
                t("map.venue_tooltip", { name: String(p.name), visits: Number(p.visits) || 0, people: Number(p.people_reached) || 0, installs: Number(p.installed_now) || 0 }),
              hexagonTooltip: (p) =>
                t("map.hex_tooltip", { visited: Number(p.households_visited) || 0, known: Number(p.households_known) || 0, p: fmtPercent(p.coverage_rate) }),
            },
            { thresholds: this.thresholds, visible: this.visibleOutcomes(), colors: this.outcomeColors() },
          );
          this.mapView.map.on("error", (e) => console.warn("map:", e.error?.message ?? e));
          this.zoom = this.mapView.zoom();
          this.mapState = "ready";
          void this.loadBasemap();
        } catch (e) {
          console.warn("map unavailable:", e);
          this.mapState = "unavailable";
        }
        this.renderMapNotes();
        this.updateMapData();
      })
      .catch((e: unknown) => {
        console.warn("map module failed to load:", e);
        this.mapState = "unavailable";
        this.renderMapNotes();
      });
  }

  /** Streets under the coverage, when IT has loaded a base map; else the notes say there is none. */
  private async loadBasemap(): Promise<void> {
    try {
      const info = await api.basemap();
      if (this.disposed || !this.mapView) return;
      const { url, headers } = api.basemapSource();
      this.mapView.setBasemap(url, info.tile_type, headers);
      this.basemapState = "drawn";
    } catch (e) {
      this.basemapState = e instanceof ApiError && e.code === "no_basemap" ? "none" : "unknown";
    }
    this.renderMapNotes();
  }

  private outcomeColors(): [string, string][] {
    return outcomeCodes().map((c) => [c, colorOf(c)]);
  }

  private visibleOutcomes(): string[] {
    return [...outcomeCodes(), UNVISITED].filter((c) => !this.hidden.has(c));
  }

  private isLeaf(): boolean | null {
    if (this.areasGeo.state === "ok" && this.areasGeo.value) return this.areasGeo.value.features.length === 0;
    if (this.progress.state === "ok" && this.progress.value) return this.progress.value.units.length === 0;
    return null;
  }

  private updateMapData(): void {
    const v = this.mapView;
    const key = this.current.code;
    if (v) {
      const empty = EMPTY_COLLECTION;
      const a = this.areasGeo;
      const hh = this.householdsGeo;
      v.setAreas(key, a.state === "ok" && a.value && a.area === key ? a.value : empty);
      v.setHouseholds(key, hh.state === "ok" && hh.value && hh.area === key ? hh.value : empty);
      const vn = this.venuesGeo;
      v.setVenues(vn.state === "ok" && vn.value && vn.area === key ? vn.value : EMPTY_COLLECTION);
      v.setLeaf(this.isLeaf() === true);
      const hx = this.hexagonsGeo;
      v.setHexagons(hx.state === "ok" && hx.value && hx.area === key ? hx.value : EMPTY_COLLECTION);
    }
    this.renderMapNotes();
    this.runSecondaryIfMapIn();
  }

  private popupContent(p: HouseholdProps): HTMLElement {
    const outcome = p.outcome === "null" ? null : p.outcome;
    const revisit = p.revisit_due === true || String(p.revisit_due) === "true";
    return h(
      "div",
      { class: "popup", testid: "popup" },
      h("p", { class: "popup-address" }, p.address && p.address !== "null" ? p.address : t("popup.no_address")),
      h("p", null, h("span", { class: "dot", style: { background: colorOf(outcome) }, "aria-hidden": "true" }), t("popup.outcome", { o: outcomeLabel(outcome) })),
      h("p", null, t("popup.visits", { n: Number(p.visits) || 0 })),
      revisit ? h("p", { class: "popup-revisit" }, t("popup.revisit")) : null,
      Number(p.visits) > 0 ? householdVisits(String(p.id), this.ctx.user.role) : null,
      this.claims ? this.giveHouseholdButton(String(p.id)) : null,
    );
  }

  /** Opens the claims form on a household (its popup, a flagged visit of it). */
  private giveHouseholdButton(id: string): HTMLElement {
    return h("button", { type: "button", class: "secondary small", testid: `give-household-${id}`, onclick: () => this.claims?.prefillHousehold(id) }, t("claims.give_household"));
  }

  // ---------------------------------------------------------------- rendering

  render(): void {
    this.renderHeader();
    this.renderCrumbs();
    this.renderCards();
    this.renderMapHead();
    this.renderMapNotes();
    this.renderMapSide();
    this.renderProgress();
    this.renderReport();
    this.renderRevisits();
    this.renderFlagged();
    this.claims?.render();
    this.people.render();
  }

  private renderHeader(): void {
    const u = this.ctx.user;
    const roleKey = `role.${u.role}` as Key;
    const role = ["admin", "committee", "leader", "volunteer"].includes(u.role) ? t(roleKey) : u.role;
    fill(
      this.header,
      h("div", { class: "brand" }, "Doorstep", h("span", { class: "brand-sub" }, t("app.title").replace(/^Doorstep\s*—\s*/, ""))),
      this.campaignLine(),
      h(
        "div",
        { class: "topbar-right" },
        h("span", { class: "account", title: t("header.account") }, h("strong", null, u.username), " · ", role),
        this.ctx.langSwitch(),
        h("button", { type: "button", class: "secondary", testid: "logout", onclick: () => this.ctx.onLogout() }, t("header.logout")),
      ),
    );
  }

  /** The campaign's name and where its app is installed from (the campaign file's links). */
  private campaignLine(): HTMLElement | null {
    const c = getCampaign();
    if (!c) return null;
    const links = (c.store_links ?? []).flatMap((l, i) => [i ? " · " : " ", h("a", { href: l.url, target: "_blank", rel: "noopener" }, l.store)]);
    return h(
      "div",
      { class: "campaign-line", testid: "campaign-line" },
      h("span", { class: "campaign-name" }, pick(c.name)),
      links.length ? h("span", { class: "store-links" }, " — ", t("header.get_app", { app: targetApp() }), ...links) : null,
    );
  }

  private renderCrumbs(): void {
    const last = this.path.length - 1;
    fill(
      this.crumbs,
      h("span", { class: "crumb-label" }, t("crumb.label"), ": "),
      h(
        "ol",
        null,
        this.path.map((c, i) =>
          h(
            "li",
            null,
            i === last
              ? h("span", { "aria-current": "page", tabindex: "-1", "data-code": c.code }, c.name)
              : h("button", { type: "button", class: "link", "data-code": c.code, onclick: () => this.goTo(i) }, c.name),
          ),
        ),
      ),
    );
    this.crumbs.setAttribute("aria-label", t("crumb.label"));
  }

  private loadingOrError<T>(l: Load<T>): HTMLElement | null {
    if (l.state === "loading" || l.state === "idle") return h("p", { class: "muted loading" }, t("app.loading"));
    if (l.state === "error")
      return h(
        "div",
        { class: "error-box", role: "alert" },
        h("p", null, errorText(l.error)),
        h("button", { type: "button", class: "secondary", onclick: () => this.load() }, t("app.retry")),
      );
    return null;
  }

  private renderCards(): void {
    const c = this.coverage.state === "ok" ? this.coverage.value : undefined;
    const problem = c ? null : this.loadingOrError(this.coverage);
    fill(this.cards, ...renderCardList(c, targetApp()), problem ? h("div", { class: "cards-problem" }, problem) : null);
  }

  private renderMapHead(): void {
    fill(this.mapTitle, h("h2", null, t("map.title"), " — ", this.current.name));
  }

  private renderMapNotes(): void {
    const notes: HTMLElement[] = [];
    if (this.mapState === "unavailable") {
      this.mapBox.hidden = true;
      notes.push(h("p", { class: "map-unavailable", testid: "map-unavailable", role: "status" }, t("map.unavailable")));
    } else {
      if (this.mapState === "pending") notes.push(h("p", { class: "muted" }, t("map.loading")));
      if (this.basemapState === "none") notes.push(h("p", { class: "muted", testid: "no-basemap" }, t("map.no_basemap")));
      const a = this.areasGeo.value;
      const hh = this.householdsGeo.value;
      const leaf = this.isLeaf();
      if (this.areasGeo.state === "error") notes.push(h("p", { class: "error" }, errorText(this.areasGeo.error)));
      if (this.householdsGeo.state === "error") notes.push(h("p", { class: "error" }, errorText(this.householdsGeo.error)));
      if (a && hh && this.areasGeo.state === "ok" && this.householdsGeo.state === "ok") {
        const shapes = a.features.some((f) => f.geometry);
        if (!shapes && hh.features.length === 0) notes.push(h("p", { class: "muted" }, t("map.empty")));
      }
      if (hh?.truncated) notes.push(h("p", { class: "note" }, t("map.truncated", { n: hh.features.length })));
      if (leaf === false) {
        notes.push(h("p", { class: "muted" }, t("map.click_hint")));
        if (this.zoom < STREET_ZOOM) notes.push(h("p", { class: "muted" }, t("map.zoom_hint")));
      }
    }
    fill(this.mapNotes, notes);
  }

  private renderMapSide(): void {
    const th = this.thresholds;
    const pct = (n: number) => fmtPercentValue(n);
    const band = (b: Band, label: string) => h("li", null, h("span", { class: "swatch", style: { background: BAND_COLORS[b] } }), label);
    const legend = h(
      "div",
      { class: "legend" },
      h("h3", null, t("map.legend_coverage")),
      h(
        "ul",
        { class: "keys" },
        band("red", t("legend.red", { a: pct(th.low) })),
        th.low < th.high ? band("amber", t("legend.amber", { a: pct(th.low), b: pct(th.high) })) : null,
        band("green", t("legend.green", { b: pct(th.high) })),
        band("none", t("legend.none")),
        h("li", null, h("span", { class: "swatch venue", style: { background: VENUE_COLOR } }), t("legend.venue")),
      ),
    );
    const filter = this.filterPanel.element();
    const low = h("input", { type: "number", min: "0", max: "100", step: "1", id: "th-low", testid: "threshold-low", value: String(th.low) });
    const high = h("input", { type: "number", min: "0", max: "100", step: "1", id: "th-high", testid: "threshold-high", value: String(th.high) });
    const settings = h(
      "details",
      { class: "settings", open: this.thresholdError ? true : null },
      h("summary", null, t("settings.title")),
      h(
        "form",
        {
          onsubmit: (e: Event) => {
            e.preventDefault();
            const next = { low: Number(low.value), high: Number(high.value) };
            if (low.value.trim() === "" || high.value.trim() === "" || !validThresholds(next)) {
              this.thresholdError = true;
              this.renderMapSide();
              return;
            }
            this.setThresholds(next, true);
          },
        },
        h("label", { for: "th-low" }, t("settings.low")),
        low,
        h("label", { for: "th-high" }, t("settings.high")),
        high,
        this.thresholdError ? h("p", { class: "error", role: "alert" }, t("settings.invalid")) : null,
        h(
          "div",
          { class: "buttons" },
          h("button", { type: "submit", class: "primary", testid: "threshold-save" }, t("settings.save")),
          h("button", { type: "button", class: "secondary", testid: "threshold-reset", onclick: () => this.setThresholds(campaignThresholds(), false) }, t("settings.reset")),
        ),
      ),
    );
    if (this.thresholdError) settings.open = true;
    // On a phone the filters and downloads (a screen and a half of checkboxes and buttons) are
    // folded under their title until asked for; open on a wide screen.
    const filters = h(
      "details",
      { class: "filters-box", testid: "filters-box", open: this.filtersOpen ?? !isNarrow() },
      h("summary", null, t("filters.title")),
      filter,
    );
    filters.addEventListener("toggle", () => (this.filtersOpen = filters.open));
    fill(this.mapSide, legend, filters, settings);
  }

  /** New coverage thresholds: the map, the legend and the table's swatches. */
  setThresholds(th: Thresholds, remember: boolean): void {
    this.thresholds = { ...th };
    this.thresholdError = false;
    saveThresholds(remember ? th : null);
    this.mapView?.setThresholds(th);
    this.renderMapSide();
    this.renderProgress();
    const d = this.mapSide.querySelector("details");
    if (d) d.open = true;
  }

  private renderProgress(): void {
    const apply = () => {
      const f = from.value();
      const tt = to.value();
      if (f === null || tt === null) return; // the field says what is wrong
      if (f && tt && f > tt) {
        this.rangeError = true;
        this.renderProgress();
        return;
      }
      this.rangeError = false;
      this.from = f;
      this.to = tt;
      this.rangeChosen = true;
      this.loadProgress();
    };
    const from = dateField({ id: "from", testid: "from", value: this.from, onChange: apply });
    const to = dateField({ id: "to", testid: "to", value: this.to, onChange: apply });
    const p = this.progress.state === "ok" ? this.progress.value : undefined;
    fill(
      this.progressSec,
      h("div", { class: "section-head" }, h("h2", null, t("progress.title"))),
      h(
        "div",
        { class: "range" },
        h("label", { for: "from" }, t("progress.from")),
        from.input,
        h("label", { for: "to" }, t("progress.to")),
        to.input,
        from.error,
        to.error,
        this.rangeError ? h("p", { class: "error", role: "alert" }, t("progress.bad_range")) : null,
      ),
      p
        ? [
            h("h3", null, t("chart.title")),
            renderChart(p.days),
            h("h3", null, t("units.title")),
            h("p", { class: "muted small" }, t("units.hint")),
            renderUnitsTable({
              units: p.units,
              sort: this.sort,
              thresholds: this.thresholds,
              onSort: (s) => {
                this.sort = s;
                this.renderProgress();
                this.progressSec.querySelector<HTMLElement>(`button[data-sort="${s.key}"]`)?.focus();
              },
              onOpen: (code, name) => this.open(code, name),
              endsOn: campaignEnd(),
            }),
            h("h3", null, t("venues.title")),
            h("p", { class: "muted small" }, t("venues.hint")),
            renderVenues(p.venues),
          ]
        : this.loadingOrError(this.progress),
    );
  }

  private renderRevisits(): void {
    const list = this.revisits.state === "ok" ? this.revisits.value : undefined;
    fill(
      this.revisitsSec,
      h(
        "div",
        { class: "section-head" },
        h("h2", null, t("revisits.title"), " — ", this.current.name),
        h("button", { type: "button", class: "secondary noprint", testid: "print", disabled: !list || list.length === 0, onclick: () => window.print() }, t("revisits.print")),
      ),
      list ? renderRevisits(list, today(campaignOffset())) : h("div", { testid: "revisits" }, this.loadingOrError(this.revisits)),
    );
  }

  private areaNames(): Map<string, string> {
    const m = new Map<string, string>();
    for (const c of this.path) m.set(c.code, c.name);
    for (const u of this.progress.value?.units ?? []) m.set(u.area_code, u.area_name);
    for (const r of this.revisits.value ?? []) if (r.area_name) m.set(r.area_code, r.area_name);
    return m;
  }

  private renderFlagged(): void {
    const list = this.flagged.state === "ok" ? this.flagged.value : undefined;
    fill(
      this.flaggedSec,
      h("div", { class: "section-head" }, h("h2", null, t("flagged.title"))),
      h("p", { class: "muted small" }, t("flagged.intro")),
      list
        ? renderFlagged(list, this.areaNames(), this.claims ? (v) => this.giveHouseholdButton(v.household_id) : undefined)
        : h("div", { testid: "flagged" }, this.loadingOrError(this.flagged)),
    );
  }

  private renderReport(): void {
    const date = dateField({ id: "report-date", testid: "report-date", value: this.reportDate, onChange: (iso) => (this.reportDate = iso) });
    const r = this.report;
    const status =
      r.state === "busy"
        ? t("report.downloading")
        : r.state === "done"
          ? t("report.done", { file: r.file ?? "" })
          : r.state === "error"
            ? r.error === "no_date"
              ? t("report.no_date")
              : errorText(r.error)
            : "";
    fill(
      this.reportSec,
      h("div", { class: "section-head" }, h("h2", null, t("report.title"), " — ", this.current.name)),
      h("p", { class: "muted small" }, t("report.intro")),
      h(
        "div",
        { class: "range" },
        h("label", { for: "report-date" }, t("report.date")),
        date.input,
        h(
          "button",
          { type: "button", class: "primary", testid: "report-download", disabled: r.state === "busy", onclick: () => this.download(date.check()) },
          "⬇ ",
          t("report.download"),
        ),
      ),
      date.error,
      h("p", { class: r.state === "error" ? "error" : "muted", role: "status", testid: "report-status" }, status),
    );
  }

  private async download(date: string | null): Promise<void> {
    if (date === null) return; // not a day: the field says so
    this.reportDate = date;
    if (!date) {
      this.report = { state: "error", error: "no_date" };
      this.renderReport();
      return;
    }
    const code = this.current.code;
    this.report = { state: "busy" };
    this.renderReport();
    try {
      const { blob, filename } = await api.dailyReport(code, date);
      if (this.disposed) return;
      saveBlob(blob, filename);
      this.report = { state: "done", file: filename };
    } catch (error) {
      if (this.disposed || (error instanceof ApiError && error.status === 401)) return;
      this.report = { state: "error", error };
    }
    this.renderReport();
  }
}

