// The units table: the current area's children with their figures, ranked by the server
// (1 = highest share of smartphones with the app), sortable by any column.

import { h } from "./dom";
import { fmtDay, fmtNumber, fmtPercent, t, type Key } from "./i18n";
import { BAND_COLORS, coverageBand, type Thresholds } from "./thresholds";
import type { TargetSum, Unit } from "./types";

export type SortKey =
  | "rank"
  | "name"
  | "known"
  | "visited"
  | "coverage"
  | "smartphones"
  | "with_app"
  | "install_rate"
  | "target_households"
  | "target_coverage"
  | "install_rate_owners"
  | "finish";
export type Sort = { key: SortKey; dir: "asc" | "desc" };
export const DEFAULT_SORT: Sort = { key: "rank", dir: "asc" };

const withApp = (u: Unit) => u.already_installed + u.installed_now;

const VALUE: Record<SortKey, (u: Unit) => number | string | null> = {
  rank: (u) => u.rank,
  name: (u) => u.area_name,
  known: (u) => u.households_known,
  visited: (u) => u.households_visited,
  coverage: (u) => u.coverage_rate,
  smartphones: (u) => u.smartphones_seen,
  with_app: withApp,
  install_rate: (u) => u.install_rate,
  target_households: (u) => u.targets?.households ?? null,
  target_coverage: (u) => u.target_coverage_rate ?? null,
  install_rate_owners: (u) => u.install_rate_of_owners ?? null,
  // Reached first, then by date; no pace (no date) last.
  finish: (u) => (u.finish?.reached ? 0 : u.finish?.finishes_on ? Date.parse(u.finish.finishes_on) : null),
};

const COLUMNS: { key: SortKey; label: Key; numeric: boolean }[] = [
  { key: "rank", label: "units.rank", numeric: true },
  { key: "name", label: "units.name", numeric: false },
  { key: "known", label: "units.known", numeric: true },
  { key: "visited", label: "units.visited", numeric: true },
  { key: "coverage", label: "units.coverage", numeric: true },
  { key: "smartphones", label: "units.smartphones", numeric: true },
  { key: "with_app", label: "units.with_app", numeric: true },
  { key: "install_rate", label: "units.install_rate", numeric: true },
  { key: "target_households", label: "units.target_households", numeric: true },
  { key: "target_coverage", label: "units.target_coverage", numeric: true },
  { key: "install_rate_owners", label: "units.install_rate_owners", numeric: true },
  { key: "finish", label: "units.finish", numeric: true },
];

/** The day a unit reaches its goal at its last 7 days' pace: a date, "reached", or why there is
 * none; marked late when it comes after the campaign's last day. */
function finishCell(u: Unit): HTMLElement {
  const f = u.finish;
  const testid = `unit-finish-${u.area_code}`;
  if (!f) return h("td", { class: "num muted", testid }, t("app.none"));
  const text = f.reached ? t("units.finish_reached") : f.finishes_on ? fmtDay(f.finishes_on) : t("units.finish_no_pace");
  const detail = t(f.goal === "target" ? "units.finish_goal_target" : "units.finish_goal_found", {
    goal: fmtNumber(f.goal_households),
    week: fmtNumber(f.households_last_7_days),
  });
  return h(
    "td",
    { class: f.misses_end ? "num late" : "num", testid, title: detail, "data-late": f.misses_end ? "true" : null },
    text,
    h("span", { class: "finish-detail small muted" }, detail),
  );
}

/** The units that will miss the campaign's last day, named first (above the table): who to help. */
export function lateUnits(units: Unit[], endsOn: string | null): HTMLElement | null {
  if (!endsOn) return null;
  const late = units.filter((u) => u.finish?.misses_end);
  if (late.length === 0) return null;
  const collator = new Intl.Collator("vi", { sensitivity: "base" });
  // No date (no new household in 7 days) first, then the latest dates.
  const key = (u: Unit) => u.finish?.finishes_on ?? "9999";
  late.sort((a, b) => key(b).localeCompare(key(a)) || collator.compare(a.area_name, b.area_name));
  const item = (u: Unit) =>
    h(
      "li",
      { testid: `units-late-${u.area_code}` },
      h("strong", null, u.area_name),
      ": ",
      u.finish?.finishes_on ? t("units.late_on", { date: fmtDay(u.finish.finishes_on) }) : t("units.finish_no_pace"),
    );
  return h(
    "div",
    { class: "note warn", testid: "units-late", role: "status" },
    h("p", null, t("units.late", { n: late.length, m: units.length, end: fmtDay(endsOn) })),
    h("ul", null, late.map(item)),
  );
}

/** A target figure, with the partial roll-up marker ("8/12") when its sum leaves areas out. */
function targetCell(u: Unit): HTMLElement {
  const n = u.targets?.households ?? null;
  if (n === null) return h("td", { class: "num muted", title: t("units.no_target"), testid: `unit-target-${u.area_code}` }, t("app.none"));
  const sum = u.targets?.households_sum;
  const partial =
    sum && sum.areas_with_target < sum.areas
      ? h(
          "span",
          { class: "partial", testid: `unit-partial-${u.area_code}`, title: t("targets.partial", { n: sum.areas_with_target, m: sum.areas }) },
          ` (${t("targets.partial_short", { n: sum.areas_with_target, m: sum.areas })})`,
        )
      : null;
  return h("td", { class: "num", testid: `unit-target-${u.area_code}`, "data-value": String(n) }, fmtNumber(n), partial);
}

/** A rate from a target: a dash, saying why, when the unit has no such target; marked when the target is partial. */
function targetRate(rate: number | null | undefined, hasTarget: boolean, sum: TargetSum | null | undefined, testid: string): HTMLElement {
  const partial =
    sum && sum.areas_with_target < sum.areas
      ? h("span", { class: "partial", testid: `${testid}-partial`, title: t("targets.partial", { n: sum.areas_with_target, m: sum.areas }) }, " ⚠")
      : null;
  return h("td", { class: "num", testid, title: hasTarget ? null : t("units.no_target") }, fmtPercent(rate), partial);
}

/** Sorted copy; names in Vietnamese order; missing rates last whatever the direction. */
export function sortUnits(units: Unit[], sort: Sort): Unit[] {
  const get = VALUE[sort.key];
  const sign = sort.dir === "asc" ? 1 : -1;
  const collator = new Intl.Collator("vi", { sensitivity: "base", numeric: true });
  return [...units].sort((a, b) => {
    const va = get(a);
    const vb = get(b);
    if (va === null && vb === null) return (a.rank - b.rank) || 0;
    if (va === null) return 1;
    if (vb === null) return -1;
    const c = typeof va === "string" || typeof vb === "string" ? collator.compare(String(va), String(vb)) : va - vb;
    return c !== 0 ? sign * c : a.rank - b.rank;
  });
}

/** Clicking the sorted column flips it; another column sorts ascending (names) or descending (figures; rank ascending). */
export function nextSort(current: Sort, key: SortKey): Sort {
  if (current.key === key) return { key, dir: current.dir === "asc" ? "desc" : "asc" };
  return { key, dir: key === "rank" || key === "name" ? "asc" : "desc" };
}

export type UnitsTableOptions = {
  units: Unit[];
  sort: Sort;
  thresholds: Thresholds;
  onSort: (sort: Sort) => void;
  onOpen: (code: string, name: string) => void;
  /** The campaign's last day ("YYYY-MM-DD"), when it names one. */
  endsOn?: string | null;
};

export function renderUnitsTable(o: UnitsTableOptions): HTMLElement {
  if (o.units.length === 0) return h("p", { class: "muted", testid: "units-table" }, t("units.empty"));
  const head = h(
    "tr",
    null,
    COLUMNS.map((c) => {
      const active = o.sort.key === c.key;
      const arrow = active ? (o.sort.dir === "asc" ? " ▲" : " ▼") : "";
      return h(
        "th",
        {
          scope: "col",
          class: c.numeric ? "num" : null,
          "aria-sort": active ? (o.sort.dir === "asc" ? "ascending" : "descending") : "none",
        },
        h("button", { type: "button", class: "sort", "data-sort": c.key, onclick: () => o.onSort(nextSort(o.sort, c.key)) }, t(c.label), arrow),
      );
    }),
  );
  const rows = sortUnits(o.units, o.sort).map((u) => {
    const band = coverageBand(u.coverage_rate, o.thresholds);
    return h(
      "tr",
      { testid: `unit-row-${u.area_code}`, class: "clickable", onclick: () => o.onOpen(u.area_code, u.area_name) },
      h("td", { class: "num rank" }, String(u.rank)),
      h(
        "th",
        { scope: "row" },
        h(
          "button",
          {
            type: "button",
            class: "link",
            "aria-label": t("units.open", { name: u.area_name }),
            onclick: (e: Event) => {
              e.stopPropagation();
              o.onOpen(u.area_code, u.area_name);
            },
          },
          u.area_name,
        ),
      ),
      h("td", { class: "num" }, fmtNumber(u.households_known)),
      h("td", { class: "num" }, fmtNumber(u.households_visited)),
      h(
        "td",
        { class: `num band-${band}` },
        h("span", { class: "swatch", style: { background: BAND_COLORS[band] }, "aria-hidden": "true" }),
        fmtPercent(u.coverage_rate),
      ),
      h("td", { class: "num" }, fmtNumber(u.smartphones_seen)),
      h("td", { class: "num" }, fmtNumber(withApp(u))),
      h("td", { class: "num" }, fmtPercent(u.install_rate)),
      targetCell(u),
      targetRate(u.target_coverage_rate, (u.targets?.households ?? null) !== null, u.targets?.households_sum, `unit-target-coverage-${u.area_code}`),
      targetRate(
        u.install_rate_of_owners,
        (u.targets?.smartphone_owners ?? null) !== null,
        u.targets?.smartphone_owners_sum,
        `unit-owners-rate-${u.area_code}`,
      ),
      finishCell(u),
    );
  });
  return h(
    "div",
    { class: "table-wrap" },
    lateUnits(o.units, o.endsOn ?? null),
    missingTargets(o.units),
    sortSelect(o),
    h("table", { class: "data units", testid: "units-table" }, h("thead", null, head), h("tbody", null, rows)),
  );
}

/** The units without target households, named (a tooltip on a dash says nothing on a phone). */
export function missingTargets(units: Unit[]): HTMLElement | null {
  const missing = units.filter((u) => (u.targets?.households ?? null) === null);
  if (missing.length === 0) return null;
  const names = missing.slice(0, 5).map((u) => u.area_name);
  const more = missing.length > 5 ? `${names.join(", ")}, …` : names.join(", ");
  return h("p", { class: "note small", testid: "units-missing-targets" }, t("units.missing_targets", { n: missing.length, m: units.length, names: more }));
}

/** On a phone the headers are hidden (each row is a card): the same sorts, as one select. */
function sortSelect(o: UnitsTableOptions): HTMLElement {
  const value = (s: Sort) => `${s.key}:${s.dir}`;
  const select = h(
    "select",
    {
      id: "units-sort",
      testid: "units-sort",
      onchange: (e: Event) => {
        const [key, dir] = (e.target as HTMLSelectElement).value.split(":") as [SortKey, Sort["dir"]];
        o.onSort({ key, dir });
      },
    },
    COLUMNS.flatMap((c) =>
      (["asc", "desc"] as const).map((dir) => {
        const v = value({ key: c.key, dir });
        return h("option", { value: v, selected: v === value(o.sort) ? true : null }, `${t(c.label)} ${dir === "asc" ? "▲" : "▼"}`);
      }),
    ),
  );
  select.value = value(o.sort);
  return h("div", { class: "units-sort narrow-only" }, h("label", { for: "units-sort" }, t("units.sort_by")), select);
}
