import { describe, expect, it } from "vitest";
import { DICTIONARIES, fmtDate, fmtNumber, fmtTime, mapLocale, setLang, t, type Key } from "../src/i18n";
import { COUNT_FIELDS } from "../src/types";

// Every source file's text, through Vite (no Node APIs needed).
const FILES = import.meta.glob("../src/**/*.ts", { query: "?raw", import: "default", eager: true }) as Record<string, string>;
const sources = () => Object.keys(FILES);
const sourceText = (f: string) => FILES[f];

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe("dictionaries", () => {
  const vi = DICTIONARIES.vi;
  const en = DICTIONARIES.en;

  it("give the map's own buttons their names in the volunteer's language", () => {
    setLang("vi");
    expect(mapLocale()["NavigationControl.ZoomIn"]).toBe("Phóng to");
    expect(mapLocale()["NavigationControl.ZoomOut"]).toBe("Thu nhỏ");
    expect(Object.values(mapLocale()).some((v) => /zoom|close|map/i.test(v))).toBe(false);
    setLang("en");
    expect(mapLocale()["NavigationControl.ZoomIn"]).toBe("Zoom in");
    setLang("vi");
  });

  it("call the team leader one thing: tổ trưởng, never trưởng nhóm or nhóm trưởng", () => {
    for (const [k, text] of Object.entries(vi)) {
      expect(text, k).not.toMatch(/trưởng nhóm|nhóm trưởng/i);
    }
  });

  it("have the same keys in Vietnamese and English", () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(vi).sort());
  });

  it("have no empty string and the same placeholders in both languages", () => {
    for (const k of Object.keys(vi) as Key[]) {
      expect(vi[k].trim(), `vi ${k}`).not.toBe("");
      expect(en[k].trim(), `en ${k}`).not.toBe("");
      expect(placeholders(en[k]), `placeholders of ${k}`).toEqual(placeholders(vi[k]));
    }
  });

  it("contain every key the source uses", () => {
    const used = new Set<string>();
    for (const file of sources()) {
      const text = sourceText(file);
      for (const m of text.matchAll(/\bt\(\s*["'`]([^"'`$]+)["'`]/g)) used.add(m[1]);
      // Keys built from a template: t(`count.${f}` as Key)
      if (/`count\.\$\{f\}`/.test(text)) for (const f of COUNT_FIELDS) used.add(`count.${f}`);
    }
    expect(used.size).toBeGreaterThan(50);
    const missing = [...used].filter((k) => !(k in DICTIONARIES.vi) || !(k in DICTIONARIES.en));
    expect(missing).toEqual([]);
  });

  it("has no key that nothing uses", () => {
    const all = sources()
      .filter((f) => !f.endsWith("/i18n.ts"))
      .map((f) => sourceText(f))
      .join("\n");
    // i18n.ts itself uses a few (relative times): its t("...") calls count, its tables do not.
    const own = [...sourceText("../src/i18n.ts").matchAll(/\bt\("([^"]+)"/g)].map((m) => `"${m[1]}"`).join("\n");
    const unused = (Object.keys(vi) as Key[]).filter((k) => {
      if (k.startsWith("count.")) return !all.includes("`count.${f}`");
      if (k.startsWith("dir.")) return !all.includes("t(`dir.${compass(");
      return !all.includes(`"${k}"`) && !own.includes(`"${k}"`);
    });
    expect(unused).toEqual([]);
  });

  it("shows Vietnamese first and switches the document language", () => {
    setLang("vi");
    expect(document.documentElement.lang).toBe("vi");
    expect(t("home.new_visit")).toBe("Ghé thăm hộ mới");
    setLang("en");
    expect(document.documentElement.lang).toBe("en");
    expect(t("home.new_visit")).toBe("New visit");
    expect(t("home.revoked", { n: 3 })).toContain("your 3 unsent visits are kept");
    setLang("vi");
  });
});

describe("local formats", () => {
  it("writes numbers the Vietnamese and the English way", () => {
    expect(fmtNumber(1234.5, 1, "vi")).toBe("1.234,5");
    expect(fmtNumber(1234.5, 1, "en")).toBe("1,234.5");
    expect(fmtNumber(12, 0, "vi")).toBe("12");
  });
  it("writes dates as dd/mm/yyyy in the campaign's time zone", () => {
    // 20:30 UTC on 2 August is 03:30 on 3 August in Vietnam (UTC+7).
    expect(fmtDate("2020-08-02T20:30:00Z", 420)).toBe("03/08/2020");
    expect(fmtTime("2020-08-02T20:30:00Z", 420)).toBe("03:30");
  });
});
