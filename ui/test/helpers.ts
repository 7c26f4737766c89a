import { api, setBackend } from "../src/api";
import { startApp, type App } from "../src/app";
import { createFakeBackend, type FakeBackend, type FakeOptions } from "../src/fake";
import { setLang } from "../src/i18n";
import type { Household } from "../src/types";

export type Harness = { app: App; fake: FakeBackend; root: HTMLElement; taps: number };

/** A household at a given offset (metres north) from a point. */
export function householdAt(id: string, lat: number, lon: number, metresNorth: number, extra: Partial<Household> = {}): Household {
  return {
    id,
    area_code: "18077",
    address: `Số ${id.slice(-2)}, đường Nguyễn Du`,
    lat: lat + metresNorth / 111_195,
    lon,
    latest_outcome: null,
    visits: 0,
    revisit_due: false,
    distance_m: null,
    ...extra,
  };
}

export const HERE = { lat: 18.3472, lon: 105.9008 };

export async function start(opts: FakeOptions = {}): Promise<Harness> {
  localStorage.clear();
  setLang("vi");
  document.body.innerHTML = "";
  const root = document.createElement("div");
  document.body.appendChild(root);
  const fake = createFakeBackend({ enrolled: true, online: false, ...opts });
  setBackend(fake);
  const app = startApp(root, api);
  await app.ready;
  return { app, fake, root, taps: 0 };
}

export function $(root: ParentNode, testid: string): HTMLElement | null {
  return root.querySelector<HTMLElement>(`[data-testid="${testid.replace(/["\\]/g, "\\$&")}"]`);
}

export function must(root: ParentNode, testid: string): HTMLElement {
  const el = $(root, testid);
  if (!el) throw new Error(`no element with data-testid="${testid}"`);
  return el;
}

/** A tap, counted. */
export function tap(hs: Harness, testid: string): void {
  const el = must(hs.root, testid);
  if ((el as HTMLButtonElement).disabled) throw new Error(`${testid} is disabled`);
  hs.taps += 1;
  el.click();
}

export async function waitFor<T>(fn: () => T | null | undefined | false, what = "condition", ms = 2000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const flush = () => new Promise((r) => setTimeout(r, 20));
