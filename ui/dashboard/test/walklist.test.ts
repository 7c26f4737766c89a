import { describe, expect, it } from "vitest";
import { renderRevisits, whereUnaddressed } from "../src/lists";
import { setLang } from "../src/i18n";
import type { Revisit } from "../src/types";

const row = (id: string, address: string | null, metresNorth: number, metresEast = 0): Revisit => ({
  id,
  area_code: "18073",
  area_name: "Phường Nam Hà",
  address,
  latest_outcome: "not_home",
  visits: 1,
  lat: 18.3428 + metresNorth / 111_195,
  lon: 105.9057 + metresEast / (111_195 * Math.cos((18.3428 * Math.PI) / 180)),
});

describe("the printed walk list", () => {
  it("tells households without an address apart: beside a listed one with an address, else by coordinates", () => {
    setLang("vi");
    const list = [
      row("h-12", "Số 12, đường Nguyễn Du", 0),
      row("h-a", null, 8),
      row("h-b", null, 0, -20),
      row("h-far", null, 400),
      { ...row("h-none", null, 0), lat: null, lon: null },
    ];
    expect(whereUnaddressed(list[1], list)).toBe("cách Số 12, đường Nguyễn Du 8 m về phía Bắc");
    expect(whereUnaddressed(list[2], list)).toBe("cách Số 12, đường Nguyễn Du 20 m về phía Tây");
    expect(whereUnaddressed(list[3], list)).toBe(`tại ${list[3].lat?.toFixed(5)}, 105.90570`);
    expect(whereUnaddressed(list[4], list)).toBeNull();
    const table = renderRevisits(list, "2020-08-04");
    const cells = [...table.querySelectorAll("tbody tr td:nth-child(3)")].map((td) => td.textContent);
    expect(new Set(cells).size).toBe(cells.length);
    expect(cells[1]).toBe("(chưa có địa chỉ) cách Số 12, đường Nguyễn Du 8 m về phía Bắc");
    setLang("en");
    expect(whereUnaddressed(list[1], list)).toBe("8 m north of Số 12, đường Nguyễn Du");
    setLang("vi");
  });
});
