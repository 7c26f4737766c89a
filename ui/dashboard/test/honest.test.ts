// Issue 19, item 7: the headline "coverage of households found" reads 100 % as soon as every
// household found is visited; beside it, the rate on the target, or what is missing, in words.
import { beforeEach, describe, expect, it } from "vitest";
import { renderCardList } from "../src/cards";
import { setLang } from "../src/i18n";
import { DEFAULT_THRESHOLDS } from "../src/thresholds";
import type { Coverage } from "../src/types";
import { DEFAULT_SORT, missingTargets, renderUnitsTable } from "../src/units";
import { coverage, UNITS } from "./helpers";

const card = (cards: HTMLElement[], testid: string) => cards.find((c) => c.dataset.testid === testid)!;
const line = (c: Coverage) => card(renderCardList(c, "Bluezone"), "card-found-coverage").querySelector('[data-testid="card-found-coverage-target"]')!;

describe("coverage of households found, beside the target", () => {
  beforeEach(() => setLang("vi"));

  it("a commune with every found household visited: 100 % found, and the target rate beside it", () => {
    const all: Coverage = {
      ...coverage("18073", "Phường Nam Hà", 40, 40, 30, 20),
      targets: { households: 80, population: null, smartphone_owners: null, households_sum: null },
      target_coverage_rate: 0.5,
    };
    const found = card(renderCardList(all, "Bluezone"), "card-found-coverage");
    expect(found.querySelector(".card-value")!.textContent).toBe("100,0 %");
    expect(line(all).textContent).toBe("Trên 80 hộ mục tiêu: 50,0 %");
  });

  it("without a target, says in words what is missing and, beside it, who enters it; never a command", () => {
    const none = coverage("18073", "Phường Nam Hà", 40, 40, 30, 20);
    expect(line(none).textContent).toBe("Chưa so được với số hộ mục tiêu: chưa có số này cho Phường Nam Hà.");
    const cards = renderCardList(none, "Bluezone");
    // The target card comes right after the headline and says what to do.
    expect(cards.indexOf(card(cards, "card-target-coverage"))).toBe(cards.indexOf(card(cards, "card-found-coverage")) + 1);
    const todo = card(cards, "card-target-coverage").querySelector('[data-testid="card-target-coverage-missing"]')!.textContent!;
    expect(todo).toBe("Chưa có số hộ mục tiêu cho Phường Nam Hà: nhờ ban chỉ đạo nhập số hộ mục tiêu để tính tỷ lệ này.");
    for (const c of cards) expect(c.textContent).not.toMatch(/doorstep|import-targets/);
    setLang("en");
    expect(line(none).textContent).toBe("Not compared with a target yet: there is no target number of households for Phường Nam Hà.");
  });

  it("a partial target says which part it covers", () => {
    const partial: Coverage = {
      ...coverage("42", "Tỉnh Hà Tĩnh", 400, 300, 30, 20),
      targets: { households: 500, population: null, smartphone_owners: null, households_sum: { areas_with_target: 3, areas: 12 } },
      target_coverage_rate: null,
    };
    expect(line(partial).textContent).toContain("3/12");
  });

  it("the units table names the units that have no target (a dash's tooltip says nothing on a phone)", () => {
    const units = [{ ...UNITS[0], targets: { households: 100, population: null, smartphone_owners: null } }, UNITS[1], UNITS[2]];
    const table = renderUnitsTable({ units, sort: DEFAULT_SORT, thresholds: DEFAULT_THRESHOLDS, onSort: () => undefined, onOpen: () => undefined });
    const note = table.querySelector('[data-testid="units-missing-targets"]')!;
    expect(note.textContent).toBe("Chưa có số hộ mục tiêu cho 2/3 đơn vị (Huyện Đức Thọ, Huyện Vũ Quang): nhờ ban chỉ đạo nhập số hộ để so độ phủ với mục tiêu.");
    const withAll = units.map((u) => ({ ...u, targets: { households: 100, population: null, smartphone_owners: null } }));
    expect(missingTargets(withAll)).toBeNull();
  });
});
