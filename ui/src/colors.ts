// Outcome colours, shared by the map and its legend (kept out of map.ts so that MapLibre is only
// loaded where a map is drawn). Chosen to stay apart in sunlight and for common colour blindness.

export const UNVISITED_COLOR = "#8a8a8a";
/** Venues on the maps: a dark ring no outcome uses. */
export const VENUE_COLOR = "#2b2d42";

const KNOWN: Record<string, string> = {
  installed_now: "#138a36",
  already_installed: "#1560bd",
  refused: "#c8102e",
  not_home: "#f08c00",
  no_smartphone: "#7b3fa0",
  unsupported_phone: "#8d5b2c",
  partial: "#00a3a3",
};
const OTHERS = ["#e6007e", "#4d4d00", "#003f5c", "#ff6e54", "#2f4b7c"];

/** The colour of an outcome (campaign data: unknown codes get colours by position). */
export function outcomeColor(code: string, index: number): string {
  return KNOWN[code] ?? OTHERS[index % OTHERS.length];
}

/** True where MapLibre can draw (WebGL). False in jsdom and on web views without WebGL. */
export function mapSupported(): boolean {
  if (typeof window === "undefined" || typeof (window as unknown as { WebGLRenderingContext?: unknown }).WebGLRenderingContext === "undefined") {
    return false;
  }
  try {
    const c = document.createElement("canvas");
    return !!(c.getContext("webgl2") || c.getContext("webgl"));
  } catch {
    return false;
  }
}
