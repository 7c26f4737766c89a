// Tables on a phone (issue 19, item 6). Every data table of the dashboard keeps its markup (the
// desktop table, the printed walk list); on a narrow screen style.css lays each row out as a card,
// each cell under its column's name, which it reads from the cell's `data-label`. Long tables show
// their first rows with the count and a "show more" button (the rows beyond are hidden on screen
// only: the printed walk list still has them all).
// The dashboard watches its own DOM (watchTables), so the tables of every section (devices, claims,
// volunteers' days, lists, units) get their labels and pages without each renderer knowing.

import { h } from "./dom";
import { t } from "./i18n";

/** Rows shown before "show more", and how many more each press shows: 20 on a wide screen, 5 as
 * cards on a phone (a card is a third of its screen); a `total` row is always shown. */
export const PAGE_ROWS = 20;
export const PAGE_ROWS_NARROW = 5;
export const NARROW = "(max-width: 700px)";

/** A phone-sized screen (where tables are cards). */
export function isNarrow(): boolean {
  return typeof window !== "undefined" && !!window.matchMedia?.(NARROW).matches;
}

export function pageSize(): number {
  return isNarrow() ? PAGE_ROWS_NARROW : PAGE_ROWS;
}

/** Tables not paged on a wide screen: a unit's children (a few tens, the row to open in reach);
 * on a phone, where each is a card, they are paged too. */
const NOT_PAGED_WIDE = "table.units, [data-nopage]";

function headerTexts(table: HTMLTableElement): string[] {
  const row = table.tHead?.rows[table.tHead.rows.length - 1];
  if (!row) return [];
  const out: string[] = [];
  for (const cell of Array.from(row.cells)) {
    const hidden = cell.querySelector(".visually-hidden") && (cell.textContent ?? "").trim() === (cell.querySelector(".visually-hidden")?.textContent ?? "").trim();
    const text = hidden ? "" : (cell.textContent ?? "").replace(/[▲▼]/g, "").replace(/\s+/g, " ").trim();
    for (let i = 0; i < (cell.colSpan || 1); i++) out.push(text);
  }
  return out;
}

/** Gives each body cell its column's name (`data-label`), for the card layout. */
export function labelCells(table: HTMLTableElement): void {
  const names = headerTexts(table);
  if (names.length === 0) return;
  for (const body of Array.from(table.tBodies)) {
    for (const row of Array.from(body.rows)) {
      let col = 0;
      for (const cell of Array.from(row.cells)) {
        const name = names[col] ?? "";
        if (name && cell.tagName === "TD") cell.setAttribute("data-label", name);
        col += cell.colSpan || 1;
      }
    }
  }
  table.classList.add("cards-narrow");
}

function testidOf(table: HTMLTableElement): string {
  const own = table.getAttribute("data-testid");
  if (own) return own;
  const up = table.parentElement?.closest("[data-testid]")?.getAttribute("data-testid");
  return up || "table";
}

/** Shows a table's first `n` body rows, the count, and a button for `n` more. */
export function pageRows(table: HTMLTableElement, n = pageSize()): void {
  // A total row stays in sight, whatever the page.
  const rows = Array.from(table.tBodies).flatMap((b) => Array.from(b.rows)).filter((r) => !r.classList.contains("total"));
  if (rows.length <= n) return;
  let shown = n;
  const id = testidOf(table);
  const count = h("p", { class: "pager-count", testid: `${id}-shown`, "aria-live": "polite" });
  const more = h("button", { type: "button", class: "secondary pager-more", testid: `${id}-more` });
  const all = h("button", { type: "button", class: "secondary pager-all", testid: `${id}-all` }, t("pager.all", { n: rows.length }));
  const pager = h("div", { class: "pager noprint", testid: `${id}-pager` }, count, h("div", { class: "pager-buttons" }, more, all));
  const update = () => {
    rows.forEach((r, i) => r.classList.toggle("paged-out", i >= shown));
    count.textContent = t("pager.shown", { shown: Math.min(shown, rows.length), n: rows.length });
    const next = Math.min(n, rows.length - shown);
    more.textContent = t("pager.more", { n: next });
    pager.hidden = shown >= rows.length;
  };
  more.addEventListener("click", () => {
    const first = rows[shown];
    shown += n;
    update();
    first?.querySelector<HTMLElement>("button, a, [tabindex]")?.focus({ preventScroll: true });
  });
  all.addEventListener("click", () => {
    shown = rows.length;
    update();
  });
  update();
  const wrap = table.closest(".table-wrap") ?? table;
  wrap.after(pager);
}

/** Labels and pages every data table under `root` not done yet. */
export function enhanceTables(root: ParentNode): void {
  for (const table of Array.from(root.querySelectorAll<HTMLTableElement>("table.data:not([data-enhanced])"))) {
    table.setAttribute("data-enhanced", "");
    labelCells(table);
    const n = pageSize();
    if (n === PAGE_ROWS_NARROW || !table.matches(NOT_PAGED_WIDE)) pageRows(table, n);
  }
}

/** Enhances the tables under `root` now and whenever a section draws new ones. */
export function watchTables(root: HTMLElement): MutationObserver {
  enhanceTables(root);
  let queued = false;
  const obs = new MutationObserver(() => {
    if (queued) return;
    queued = true;
    queueMicrotask(() => {
      queued = false;
      enhanceTables(root);
    });
  });
  obs.observe(root, { childList: true, subtree: true });
  return obs;
}
