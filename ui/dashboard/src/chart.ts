// The daily curve as inline SVG, without a chart library: households visited each day (bars and
// a line with one point per day, left axis) and the cumulative new installs (a dashed line with
// one point per day, right axis). Days missing between the first and the last are drawn as zero.

import { h, s } from "./dom";
import { fmtDay, fmtNumber, t } from "./i18n";
import type { Day } from "./types";

export const HOUSEHOLDS_COLOR = "#0d3b66";
export const INSTALLS_COLOR = "#138a36";

const W = 760;
const H = 280;
const M = { top: 16, right: 64, bottom: 40, left: 60 };

function addDays(day: string, n: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/** The days in order, one per calendar day from the first to the last (gaps as zeros). */
export function continuousDays(days: Day[]): Day[] {
  const sorted = [...days].filter((d) => /^\d{4}-\d{2}-\d{2}$/.test(d.date)).sort((a, b) => a.date.localeCompare(b.date));
  if (sorted.length === 0) return [];
  const byDate = new Map<string, Day>();
  for (const d of sorted) {
    const prev = byDate.get(d.date);
    byDate.set(
      d.date,
      prev
        ? { date: d.date, visits: prev.visits + d.visits, households: prev.households + d.households, installed_now: prev.installed_now + d.installed_now }
        : d,
    );
  }
  const out: Day[] = [];
  const last = sorted[sorted.length - 1].date;
  for (let day = sorted[0].date, i = 0; day <= last && i < 3700; day = addDays(day, 1), i++) {
    out.push(byDate.get(day) ?? { date: day, visits: 0, households: 0, installed_now: 0 });
  }
  return out;
}

/** A round axis maximum and its tick step. */
function niceScale(max: number): { max: number; step: number } {
  if (max <= 0) return { max: 4, step: 1 };
  const raw = max / 4;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((c) => c >= raw) ?? 10 * mag;
  const stepInt = Math.max(1, step);
  return { max: Math.ceil(max / stepInt) * stepInt, step: stepInt };
}

export function renderChart(input: Day[]): HTMLElement {
  const days = continuousDays(input);
  const wrap = h("div", { class: "chart", testid: "days-chart" });
  if (days.length === 0) {
    wrap.append(h("p", { class: "muted" }, t("chart.empty")));
    return wrap;
  }
  let total = 0;
  const cumulative = days.map((d) => (total += d.installed_now));
  const left = niceScale(Math.max(...days.map((d) => d.households)));
  const right = niceScale(Math.max(...cumulative));
  const iw = W - M.left - M.right;
  const ih = H - M.top - M.bottom;
  const n = days.length;
  const slot = iw / n;
  const x = (i: number) => M.left + slot * (i + 0.5);
  const yl = (v: number) => M.top + ih - (v / left.max) * ih;
  const yr = (v: number) => M.top + ih - (v / right.max) * ih;
  const r = (v: number) => Math.round(v * 10) / 10;

  const svg = s("svg", {
    viewBox: `0 0 ${W} ${H}`,
    role: "img",
    "aria-label": t("chart.aria"),
    preserveAspectRatio: "xMidYMid meet",
  });
  // Grid and axes.
  const grid = s("g", { class: "grid" });
  for (let v = 0; v <= left.max; v += left.step) {
    grid.append(
      s("line", { x1: M.left, x2: W - M.right, y1: r(yl(v)), y2: r(yl(v)), stroke: "#d0d0d0", "stroke-width": 1 }),
      s("text", { x: M.left - 8, y: r(yl(v)) + 5, "text-anchor": "end", class: "axis-left", fill: HOUSEHOLDS_COLOR }, fmtNumber(v)),
    );
  }
  for (let v = 0; v <= right.max; v += right.step) {
    grid.append(s("text", { x: W - M.right + 8, y: r(yr(v)) + 5, "text-anchor": "start", class: "axis-right", fill: INSTALLS_COLOR }, fmtNumber(v)));
  }
  grid.append(s("line", { x1: M.left, x2: W - M.right, y1: M.top + ih, y2: M.top + ih, stroke: "#222", "stroke-width": 1.5 }));
  const every = Math.max(1, Math.ceil(n / 8));
  days.forEach((d, i) => {
    if (i % every !== 0) return;
    grid.append(s("text", { x: r(x(i)), y: H - M.bottom + 22, "text-anchor": "middle", class: "axis-x" }, fmtDay(d.date).slice(0, 5)));
  });
  svg.append(grid);

  // Households per day: light bars, a line, one point per day.
  const bars = s("g", { class: "bars" });
  const barW = Math.max(2, Math.min(40, slot * 0.6));
  days.forEach((d, i) => {
    const y = yl(d.households);
    bars.append(s("rect", { x: r(x(i) - barW / 2), y: r(y), width: r(barW), height: r(M.top + ih - y), fill: "#c9d8ea" }));
  });
  svg.append(bars);

  const series = (name: string, color: string, ys: number[], dashed: boolean, values: (i: number) => string) => {
    const g = s("g", { class: `series series-${name}`, "data-series": name });
    if (n > 1) {
      const dPath = ys.map((y, i) => `${i === 0 ? "M" : "L"}${r(x(i))},${r(y)}`).join(" ");
      g.append(s("path", { d: dPath, fill: "none", stroke: color, "stroke-width": 3, "stroke-dasharray": dashed ? "8 5" : null }));
    }
    ys.forEach((y, i) => {
      g.append(
        s(
          "circle",
          { cx: r(x(i)), cy: r(y), r: n > 60 ? 2.5 : 4.5, fill: dashed ? "#fff" : color, stroke: color, "stroke-width": 2, "data-date": days[i].date },
          s("title", null, values(i)),
        ),
      );
    });
    return g;
  };
  const label = (i: number) =>
    t("chart.point", { date: fmtDay(days[i].date), households: fmtNumber(days[i].households), installs: fmtNumber(cumulative[i]) });
  svg.append(series("households", HOUSEHOLDS_COLOR, days.map((d) => yl(d.households)), false, label));
  svg.append(series("installs", INSTALLS_COLOR, cumulative.map((c) => yr(c)), true, label));

  wrap.append(
    h(
      "div",
      { class: "chart-legend" },
      h("span", { class: "key" }, h("span", { class: "swatch line", style: { background: HOUSEHOLDS_COLOR } }), t("chart.households")),
      h("span", { class: "key" }, h("span", { class: "swatch line dashed", style: { borderColor: INSTALLS_COLOR } }), t("chart.installs")),
    ),
    svg,
  );
  return wrap;
}
