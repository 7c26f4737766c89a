// Issue 19, item 6: the dashboard on a 390 px phone. Tables keep their markup, their cells carry
// their column's name for the card layout, long tables are paged, the units' sort is a select.
// (The layout itself, 390 px wide and 44 px controls, is checked in Chromium: e2e/dashboard.mjs.)
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { h } from "../src/dom";
import { setLang } from "../src/i18n";
import { enhanceTables, labelCells, pageRows, PAGE_ROWS, PAGE_ROWS_NARROW } from "../src/responsive";
import type { Revisit, Visit } from "../src/types";
// @ts-expect-error: Node's fs, in vitest (the dashboard's types are the browser's); vitest hands CSS imports over empty.
import { readFileSync } from "node:fs";
declare const process: { cwd(): string }; // vitest runs from ui/
import { $, defaultRoutes, FLAGGED, fakeServer, REVISITS, signIn, startApp, waitFor } from "./helpers";

function table(rows: number, opts: { total?: boolean } = {}): HTMLTableElement {
  return h(
    "table",
    { class: "data", testid: "t" },
    h(
      "thead",
      null,
      h(
        "tr",
        null,
        h("th", { scope: "col" }, h("button", { class: "sort" }, "Tên", " ▲")),
        h("th", { scope: "col", class: "num" }, "Số lượt"),
        h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Thao tác")),
      ),
    ),
    h(
      "tbody",
      null,
      Array.from({ length: rows }, (_, i) => h("tr", { testid: `r${i}` }, h("th", { scope: "row" }, `Hộ ${i}`), h("td", { class: "num" }, String(i)), h("td", null, h("button", null, "Giao")))),
      opts.total ? h("tr", { class: "total", testid: "total" }, h("th", { scope: "row" }, "Cộng"), h("td", null, "99"), h("td", null)) : null,
    ),
  );
}

const shownRows = (root: ParentNode) => Array.from(root.querySelectorAll("tbody tr")).filter((r) => !r.classList.contains("paged-out"));

describe("tables on a phone", () => {
  beforeEach(() => {
    sessionStorage.clear();
    localStorage.clear();
    setLang("vi");
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllGlobals();
    setLang("vi");
  });

  it("labels each cell with its column's name, without sort arrows, and none for a hidden header", () => {
    const tb = table(2);
    labelCells(tb);
    const cells = tb.tBodies[0].rows[0].cells;
    expect(cells[0].tagName).toBe("TH");
    expect(cells[0].hasAttribute("data-label")).toBe(false);
    expect(cells[1].getAttribute("data-label")).toBe("Số lượt");
    expect(cells[2].hasAttribute("data-label")).toBe(false);
    expect(tb.classList.contains("cards-narrow")).toBe(true);
  });

  it("pages a long table: the first rows, the count, more and all; a total row stays", () => {
    const tb = table(45, { total: true });
    const wrap = h("div", { class: "table-wrap" }, tb);
    document.body.replaceChildren(wrap);
    pageRows(tb, 20);
    expect(shownRows(tb)).toHaveLength(21);
    expect($("r19")!.classList.contains("paged-out")).toBe(false);
    expect($("r20")!.classList.contains("paged-out")).toBe(true);
    expect($("total")!.classList.contains("paged-out")).toBe(false);
    // Every row stays in the page (the printed walk list has them all).
    expect(tb.tBodies[0].rows).toHaveLength(46);
    expect($("t-shown")!.textContent).toBe("Đang hiện 20/45 dòng.");
    const more = $("t-more") as HTMLButtonElement;
    expect(more.textContent).toBe("Xem thêm 20");
    more.click();
    expect(shownRows(tb)).toHaveLength(41);
    expect(more.textContent).toBe("Xem thêm 5");
    more.click();
    expect(shownRows(tb)).toHaveLength(46);
    expect($("t-pager")!.hidden).toBe(true);
  });

  it("pages 20 rows on a wide screen and 5 on a phone; a short table not at all", () => {
    const wide = table(30);
    const short = table(20);
    document.body.replaceChildren(h("div", null, wide), h("div", null, short));
    enhanceTables(document.body);
    expect(shownRows(wide)).toHaveLength(PAGE_ROWS);
    expect(shownRows(short)).toHaveLength(20);
    expect(document.querySelectorAll(".pager")).toHaveLength(1);
    vi.stubGlobal("matchMedia", (q: string) => ({ matches: q.includes("max-width: 700px"), media: q }));
    const phone = table(30);
    document.body.replaceChildren(h("div", null, phone));
    enhanceTables(document.body);
    expect(shownRows(phone)).toHaveLength(PAGE_ROWS_NARROW);
    expect(PAGE_ROWS_NARROW).toBe(5);
    // Done once: a second pass adds no second pager.
    enhanceTables(document.body);
    expect(document.querySelectorAll(".pager")).toHaveLength(1);
  });

  it("a long walk list (the committee had 927 households) shows a page and the count; the flagged visits say why under each cell's name", async () => {
    const many: Revisit[] = Array.from({ length: 120 }, (_, i) => ({ ...REVISITS[0], id: `hh${i}`, address: `Số ${i + 1} Trần Phú` }));
    const flagged: Visit[] = Array.from({ length: 30 }, (_, i) => ({ ...FLAGGED[0], id: `fv${i}` }));
    const routes = defaultRoutes();
    routes["GET /api/v1/revisits"] = many;
    routes["GET /api/v1/visits"] = flagged;
    fakeServer(routes);
    const { root } = await startApp();
    await signIn(root);
    const walk = await waitFor(() => $("revisits-more", root) && $("revisits", root), "the paged walk list");
    expect(shownRows(walk)).toHaveLength(PAGE_ROWS);
    expect(walk.querySelectorAll("tbody tr")).toHaveLength(120);
    expect($("revisits-shown", root)!.textContent).toBe("Đang hiện 20/120 dòng.");
    expect(walk.textContent).toContain("120");
    ($("revisits-more", root) as HTMLButtonElement).click();
    expect(shownRows(walk)).toHaveLength(40);

    const list = await waitFor(() => $("flagged-more", root) && $("flagged", root), "the paged flagged visits");
    expect(shownRows(list)).toHaveLength(PAGE_ROWS);
    const why = $("flagged-fv0", root)!.querySelector("td:has(ul.flags)")!;
    expect(why.getAttribute("data-label")).toBe("Lý do cần kiểm tra");
    expect(why.textContent).toContain("Ngoài địa bàn được giao");
    const when = $("flagged-fv0", root)!.querySelector("td")!;
    expect(when.getAttribute("data-label")).toBe("Thời gian");
    // The language switch draws the lists again, labelled in English.
    ($("lang-en", root) as HTMLButtonElement).click();
    await waitFor(() => $("flagged-fv0", root)?.querySelector("td")?.getAttribute("data-label") === "Time", "English labels");
    expect($("revisits-shown", root)!.textContent).toBe("Showing 20 of 120 rows.");
  });

  it("the units' sort is also a select, for the phone where the headers are hidden", async () => {
    fakeServer(defaultRoutes());
    const { root } = await startApp();
    await signIn(root);
    const select = $("units-sort", root) as HTMLSelectElement;
    expect(select.value).toBe("rank:asc");
    const names = () => Array.from($("units-table", root)!.querySelectorAll("tbody th")).map((th) => th.textContent);
    expect(names()).toEqual(["Huyện Đức Thọ", "Huyện Can Lộc", "Huyện Vũ Quang"]);
    select.value = "visited:desc";
    select.dispatchEvent(new Event("change"));
    await waitFor(() => names()[0] === "Huyện Can Lộc", "sorted by households visited");
    expect(($("units-sort", root) as HTMLSelectElement).value).toBe("visited:desc");
    expect($("units-table", root)!.querySelector('th[aria-sort="descending"] [data-sort="visited"]')).not.toBeNull();
  });

  it("folds the map's filters under their title on a phone, open on a wide screen, and keeps the user's choice", async () => {
    vi.stubGlobal("matchMedia", (q: string) => ({ matches: q.includes("max-width: 700px"), media: q }));
    fakeServer(defaultRoutes());
    const { root } = await startApp();
    await signIn(root);
    const box = () => $("filters-box", root) as HTMLDetailsElement;
    expect(box().open).toBe(false);
    expect(box().querySelector("summary")!.textContent).toBe("Lọc bản đồ");
    box().open = true;
    box().dispatchEvent(new Event("toggle"));
    ($("lang-en", root) as HTMLButtonElement).click();
    expect(box().open).toBe(true);
    vi.unstubAllGlobals();
    sessionStorage.clear();
    fakeServer(defaultRoutes());
    const wide = await startApp();
    await signIn(wide.root);
    expect(($("filters-box", wide.root) as HTMLDetailsElement).open).toBe(true);
  });

  it("style.css lays tables out as cards under 700 px and makes controls 44 px on touch", () => {
    const css: string = readFileSync(`${process.cwd()}/dashboard/src/style.css`, "utf8");
    const block = (media: string) => {
      const i = css.indexOf(media);
      expect(i, media).toBeGreaterThan(-1);
      return css.slice(i, css.indexOf("\n}\n", i));
    };
    const phone = block("@media screen and (max-width: 700px) {\n  :root");
    expect(phone).toMatch(/table\.data\.cards-narrow thead \{ display: none; \}/);
    expect(phone).toMatch(/td\[data-label\]::before \{\s*content: attr\(data-label\)/);
    expect(phone).toMatch(/\.table-wrap \{ overflow-x: visible; \}/);
    // A flagged visit's reasons come right after who and what; the accuracy after them.
    expect(phone).toMatch(/\.flagged table\.data\.cards-narrow td:nth-child\(5\) \{ order: 1; \}/);
    const touch = block("@media (pointer: coarse), screen and (max-width: 700px)");
    expect(touch).toMatch(/button, select, summary, input:not\(\[type="checkbox"\]\):not\(\[type="radio"\]\) \{ min-height: 44px; \}/);
    // The hidden header that widened the page to 860 px: its scroll box contains it.
    expect(css).toMatch(/\.table-wrap \{ overflow-x: auto; position: relative; \}/);
  });
});
