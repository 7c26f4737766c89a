import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";

// Read as a file: Vite hands a stylesheet to a test empty, `?raw` or not. Tests run from ui/.
const css = readFileSync(`${process.cwd()}/src/style.css`, "utf8");

/** WCAG relative luminance of a #rrggbb colour. */
function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255);
  const lin = (c: number) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/** A custom property of :root. */
function variable(name: string): string {
  const m = new RegExp(`--${name}:\\s*(#[0-9a-fA-F]{6})`).exec(css);
  if (!m) throw new Error(`--${name} is not a #rrggbb colour in style.css`);
  return m[1];
}

/** The declarations of every rule whose selector names `cls`. */
function rulesNaming(cls: string): string[] {
  return [...css.matchAll(/([^{}]+)\{([^}]*)\}/g)].filter((m) => m[1].includes(cls)).map((m) => `${m[1].trim()} { ${m[2].trim()} }`);
}

describe("the field app in the sun", () => {
  it("never fades another volunteer's door: its chip and text keep at least 4.5:1", () => {
    const taken = rulesNaming(".taken");
    expect(taken.length).toBeGreaterThan(0);
    // Opacity multiplies when a faded chip sits in a faded card (the chip read 2.85:1).
    for (const rule of taken) expect(rule).not.toMatch(/opacity/);
    expect(contrast(variable("ink-2"), variable("paper"))).toBeGreaterThanOrEqual(4.5);
    expect(contrast(variable("ink-2"), variable("taken-bg"))).toBeGreaterThanOrEqual(4.5);
  });

  it("keeps the main text colours at least 4.5:1 on their backgrounds", () => {
    for (const [ink, paper] of [
      ["ink", "paper"],
      ["ink-2", "paper-2"],
      ["primary-ink", "primary"],
      ["danger", "paper"],
      ["brand", "paper"],
      ["ink", "warn-bg"],
    ]) {
      expect(contrast(variable(ink), variable(paper)), `${ink} on ${paper}`).toBeGreaterThanOrEqual(4.5);
    }
  });
});
