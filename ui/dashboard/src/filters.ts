// The map's filters and downloads: visits by the phones' dates, by a team, households by their
// latest outcome; which layer a zoom shows (H3 hexagons at province zoom, household points at
// street zoom) and at which resolution; and the CSV/GeoJSON exports of what the map shows. The
// server does the filtering (GET /api/v1/map/hexagons, /map/households, /map/areas and
// /exports/* take the same parameters); unticking an outcome also hides its dots at once.

import { h } from "./dom";
import { dateField } from "./datefield";
import { t, type Key } from "./i18n";

/** From this zoom on the map shows households one by one (MapLibre zoom levels). */
export const STREET_ZOOM = 13;

export type Layer = "hexagons" | "points";

export type MapFilters = {
  /** First and last day of visits ("YYYY-MM-DD", the phones' calendar); "" for none. */
  from: string;
  to: string;
  /** A team's name; "" for every team. */
  team: string;
  /** Outcome codes not shown ("" stands for households not visited yet). */
  hidden: Set<string>;
};

export type HexagonProps = {
  cell: string;
  res: number;
  households_known: number;
  households_visited: number;
  by_outcome: Record<string, number>;
  smartphones_seen: number;
  with_app: number;
  coverage_rate: number | null;
  install_rate: number | null;
};

export type TeamInfo = { name: string; area_code: string };

export const UNVISITED = "";
/** The server's word for "not visited yet" in the outcome filter. */
export const NOT_VISITED = "none";

export function emptyFilters(): MapFilters {
  return { from: "", to: "", team: "", hidden: new Set() };
}

/** Households one by one at street zoom; hexagons above it. */
export function layerForZoom(zoom: number): Layer {
  return zoom >= STREET_ZOOM ? "points" : "hexagons";
}

/**
 * The H3 resolution for a zoom: cells a few tens of pixels across. About res 6 (36 km²) for a
 * province on screen, 7 for a district, 8 for a commune, 9 (0.1 km²) just before the points.
 * Always within what the server accepts (5 to 9).
 */
export function resolutionForZoom(zoom: number): number {
  if (!Number.isFinite(zoom) || zoom < 8.5) return 6;
  if (zoom < 10) return 7;
  if (zoom < 11.5) return 8;
  return 9;
}

export type Bbox = [number, number, number, number];

function extend(b: Bbox | null, c: unknown): Bbox | null {
  if (!Array.isArray(c)) return b;
  if (typeof c[0] === "number" && typeof c[1] === "number") {
    const [x, y] = c as number[];
    if (!Number.isFinite(x) || !Number.isFinite(y)) return b;
    return b ? [Math.min(b[0], x), Math.min(b[1], y), Math.max(b[2], x), Math.max(b[3], y)] : [x, y, x, y];
  }
  for (const inner of c) b = extend(b, inner);
  return b;
}

export function bboxOf(fc: { features: { geometry: { coordinates: unknown } | null }[] }): Bbox | null {
  let b: Bbox | null = null;
  for (const f of fc.features) if (f.geometry) b = extend(b, f.geometry.coordinates);
  return b;
}

/** The zoom at which a map of `width` x `height` pixels shows `b` when fitted to it (as MapLibre's
 * fitBounds does with 512-pixel tiles and `padding`), so the hexagons can be asked for at the
 * resolution the map will show before the map has drawn anything. */
export function fitZoom(b: Bbox, width: number, height: number, padding = 32, maxZoom = 17): number {
  const merc = (lat: number) => {
    const s = Math.sin((Math.max(-85, Math.min(85, lat)) * Math.PI) / 180);
    return 0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI);
  };
  const dx = ((b[2] - b[0]) / 360) * 512;
  const dy = Math.abs(merc(b[1]) - merc(b[3])) * 512;
  // A single point: the map jumps to it at zoom 16.
  if (dx <= 0 && dy <= 0) return 16;
  const w = Math.max(1, width - 2 * padding);
  const h = Math.max(1, height - 2 * padding);
  return Math.min(maxZoom, Math.log2(Math.min(dx > 0 ? w / dx : Infinity, dy > 0 ? h / dy : Infinity)));
}

/** Whether the range is usable: each day a date, the first not after the last. */
export function validRange(f: Pick<MapFilters, "from" | "to">): boolean {
  const day = /^\d{4}-\d{2}-\d{2}$/;
  if (f.from && !day.test(f.from)) return false;
  if (f.to && !day.test(f.to)) return false;
  return !(f.from && f.to && f.from > f.to);
}

/**
 * The query parameters for the server: only those set. `outcome` lists the codes kept when some
 * are unticked (and is left out when all are ticked); "none" stands for unvisited households.
 */
export function filterParams(f: MapFilters, outcomes: string[]): Record<string, string> {
  const p: Record<string, string> = {};
  if (f.from) p.from = f.from;
  if (f.to) p.to = f.to;
  if (f.team) p.team = f.team;
  const all = [...outcomes, UNVISITED];
  if (all.some((c) => f.hidden.has(c))) {
    p.outcome = all
      .filter((c) => !f.hidden.has(c))
      .map((c) => (c === UNVISITED ? NOT_VISITED : c))
      .join(",");
  }
  return p;
}

/** The same as a query string ("" when nothing is filtered). */
export function filterQuery(f: MapFilters, outcomes: string[]): string {
  return new URLSearchParams(filterParams(f, outcomes)).toString();
}

/** Every outcome box unticked: nothing to show (the server's filter has no word for it). */
export function keepsNothing(f: MapFilters, outcomes: string[]): boolean {
  return [...outcomes, UNVISITED].every((c) => f.hidden.has(c));
}

export function isFiltered(f: MapFilters, outcomes: string[]): boolean {
  return Object.keys(filterParams(f, outcomes)).length > 0;
}

export type ExportKind = { what: "households" | "visits"; format: "csv" | "geojson" };
export const EXPORTS: ExportKind[] = [
  { what: "households", format: "csv" },
  { what: "households", format: "geojson" },
  { what: "visits", format: "csv" },
  { what: "visits", format: "geojson" },
];

export type FilterPanelOptions = {
  outcomes: () => string[];
  outcomeLabel: (code: string) => string;
  colorOf: (code: string | null) => string;
  /** The filters changed (already valid): reload what the map shows. */
  onChange: (f: MapFilters) => void;
  /** Only the outcomes shown changed: hide dots at once (the reload follows). */
  onVisible?: (visible: string[]) => void;
  /** A download was asked for. */
  onExport?: (kind: ExportKind) => void;
};

/** The filter form beside the map. Its state survives re-renders (language, thresholds). */
export class FilterPanel {
  readonly filters: MapFilters = emptyFilters();
  private teams: TeamInfo[] = [];
  private rangeError = false;
  private exportNote: { text: string; error: boolean } | null = null;

  constructor(private opts: FilterPanelOptions) {}

  setTeams(teams: TeamInfo[]): void {
    this.teams = teams;
    if (this.filters.team && !teams.some((x) => x.name === this.filters.team)) this.filters.team = "";
  }

  /** A line under the download buttons (busy, done, or why it failed). */
  setExportNote(text: string | null, error = false): void {
    this.exportNote = text === null ? null : { text, error };
  }

  /** The outcome codes shown, "" for unvisited. */
  visible(): string[] {
    return [...this.opts.outcomes(), UNVISITED].filter((c) => !this.filters.hidden.has(c));
  }

  params(): Record<string, string> {
    return filterParams(this.filters, this.opts.outcomes());
  }

  keepsNothing(): boolean {
    return keepsNothing(this.filters, this.opts.outcomes());
  }

  /** Builds the form anew (the caller puts it where it belongs). */
  element(): HTMLElement {
    const f = this.filters;
    const dates = () => {
      const a = from.value();
      const b = to.value();
      if (a === null || b === null) return; // not a day: the field says so
      const next = { from: a, to: b };
      this.rangeError = !validRange(next);
      if (!this.rangeError) {
        f.from = next.from;
        f.to = next.to;
        this.opts.onChange(f);
      }
      this.refresh(root);
    };
    const from = dateField({ id: "filter-from", testid: "filter-from", value: f.from, onChange: dates });
    const to = dateField({ id: "filter-to", testid: "filter-to", value: f.to, onChange: dates });
    const team = h(
      "select",
      {
        id: "filter-team",
        testid: "filter-team",
        onchange: (e: Event) => {
          f.team = (e.target as HTMLSelectElement).value;
          this.opts.onChange(f);
        },
      },
      h("option", { value: "" }, t("filters.all_teams")),
      this.teams.map((x) => h("option", { value: x.name, selected: x.name === f.team ? true : null }, x.name)),
    );
    team.value = f.team;
    const box = (code: string, label: string, color: string) =>
      h(
        "li",
        null,
        h(
          "label",
          { class: "check" },
          h("input", {
            type: "checkbox",
            testid: `outcome-filter-${code || "unvisited"}`,
            "data-outcome": code,
            checked: !f.hidden.has(code),
            onchange: (e: Event) => {
              if ((e.target as HTMLInputElement).checked) f.hidden.delete(code);
              else f.hidden.add(code);
              this.opts.onVisible?.(this.visible());
              this.opts.onChange(f);
            },
          }),
          h("span", { class: "dot", style: { background: color }, "aria-hidden": "true" }),
          label,
        ),
      );
    const outcomes = this.opts.outcomes();
    const root = h(
      "fieldset",
      { class: "outcome-filter map-filters", testid: "map-filters" },
      h("legend", null, t("filters.title")),
      h("div", { class: "filter-dates" }, h("label", { for: "filter-from" }, t("filters.from")), from.input, h("label", { for: "filter-to" }, t("filters.to")), to.input, from.error, to.error),
      h("p", { class: "error", role: "alert", testid: "filter-range-error", hidden: !this.rangeError }, t("filters.bad_range")),
      h("label", { for: "filter-team" }, t("filters.team")),
      team,
      h("p", { class: "muted small" }, t("map.filter")),
      h(
        "ul",
        { class: "keys" },
        outcomes.map((c) => box(c, this.opts.outcomeLabel(c), this.opts.colorOf(c))),
        box(UNVISITED, t("map.unvisited"), this.opts.colorOf(null)),
      ),
      h("p", { class: "muted small" }, h("span", { class: "dot ring", "aria-hidden": "true" }), t("map.revisit_ring")),
      h("p", { class: "muted small" }, t("filters.layers")),
      h(
        "div",
        { class: "exports" },
        h("p", { class: "muted small" }, t("exports.title")),
        EXPORTS.map((k) =>
          h(
            "button",
            { type: "button", class: "secondary", testid: `export-${k.what}-${k.format}`, onclick: () => this.opts.onExport?.(k) },
            "⬇ ",
            t(`exports.${k.what}_${k.format}` as Key),
          ),
        ),
        h("p", { class: this.exportNote?.error ? "error" : "muted small", role: "status", testid: "export-status" }, this.exportNote?.text ?? ""),
      ),
    );
    return root;
  }

  private refresh(root: HTMLElement): void {
    const err = root.querySelector<HTMLElement>('[data-testid="filter-range-error"]');
    if (err) err.hidden = !this.rangeError;
  }
}
