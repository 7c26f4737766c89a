import { describe, expect, it } from "vitest";
import { DICTIONARIES, fmtNumber, fmtPercent, mapLocale, setLang } from "../src/i18n";

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe("i18n", () => {
  it("has every key in both languages", () => {
    const vi = Object.keys(DICTIONARIES.vi).sort();
    const en = Object.keys(DICTIONARIES.en).sort();
    expect(en).toEqual(vi);
    expect(vi.length).toBeGreaterThan(100);
  });

  it("gives the map's own buttons their names in the reader's language", () => {
    setLang("vi");
    expect(mapLocale()["NavigationControl.ZoomIn"]).toBe("Phóng to");
    expect(mapLocale()["NavigationControl.ZoomOut"]).toBe("Thu nhỏ");
    setLang("en");
    expect(mapLocale()["NavigationControl.ZoomIn"]).toBe("Zoom in");
    setLang("vi");
  });

  it("has no empty string", () => {
    for (const lang of ["vi", "en"] as const) {
      for (const [k, v] of Object.entries(DICTIONARIES[lang])) {
        expect(v.trim(), `${lang} ${k}`).not.toBe("");
      }
    }
  });

  it("uses the same placeholders in both languages", () => {
    for (const [k, v] of Object.entries(DICTIONARIES.vi)) {
      expect(placeholders(DICTIONARIES.en[k as keyof typeof DICTIONARIES.en]), k).toEqual(placeholders(v));
    }
  });

  it("writes numbers the Vietnamese and the English way", () => {
    expect(fmtNumber(1234.5, 1, "vi")).toBe("1.234,5");
    expect(fmtNumber(1234.5, 1, "en")).toBe("1,234.5");
    expect(fmtPercent(0.6575, "vi")).toBe("65,8 %");
    expect(fmtPercent(0.6575, "en")).toBe("65.8%");
    expect(fmtPercent(null, "vi")).toBe("—");
  });
});
