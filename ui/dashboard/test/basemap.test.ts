import { beforeEach, describe, expect, it } from "vitest";
import { App } from "../src/app";
import type { MapView } from "../src/map";
import { $, apiError, defaultRoutes, fakeServer, flush, json, signIn, waitFor } from "./helpers";

/** A map module whose map only records the base map it is given. */
function stubMap(drawn: unknown[][]): () => Promise<typeof import("../src/map")> {
  const nothing = () => undefined;
  const view = {
    map: { on: nothing, getCanvas: () => document.createElement("canvas") },
    setAreas: nothing,
    setHouseholds: nothing,
    setVenues: nothing,
    setLeaf: nothing,
    setHexagons: nothing,
    setThresholds: nothing,
    setVisibleOutcomes: nothing,
    setOutcomeColors: nothing,
    setBasemap: (...args: unknown[]) => void drawn.push(args),
    zoom: () => 7,
    destroy: nothing,
  } as unknown as MapView;
  return async () => ({ createMap: () => view }) as unknown as typeof import("../src/map");
}

async function open(routes: ReturnType<typeof defaultRoutes>, drawn: unknown[][]): Promise<HTMLElement> {
  fakeServer(routes);
  document.body.replaceChildren();
  const root = document.createElement("div");
  document.body.append(root);
  const app = new App(root, { mapSupported: () => true, loadMap: stubMap(drawn) });
  await app.start();
  await flush();
  await signIn(root);
  return root;
}

describe("the base map", () => {
  beforeEach(() => {
    sessionStorage.clear();
    localStorage.clear();
  });

  it("is drawn under the coverage from the server, read by range with the session's token", async () => {
    const routes = defaultRoutes();
    routes["GET /api/v1/basemap"] = () => json({
      name: "Hà Tĩnh",
      sha256: "ab".repeat(32),
      size: 1234,
      tile_type: "mvt",
      min_zoom: 0,
      max_zoom: 14,
      bounds: [105.5, 17.9, 106.5, 18.6],
      imported_at: "2026-12-07T00:00:00Z",
      });
    const drawn: unknown[][] = [];
    const root = await open(routes, drawn);
    await waitFor(() => drawn.length === 1, "the base map drawn");
    const [url, tileType, headers] = drawn[0] as [string, string, Record<string, string>];
    expect(url).toBe(`${location.origin}/api/v1/basemap.pmtiles`);
    expect(tileType).toBe("mvt");
    expect(headers.Authorization).toMatch(/^Bearer \S+$/);
    expect($("no-basemap", root)).toBeNull();
  });

  it("when IT has loaded none, the map says so in words", async () => {
    const routes = defaultRoutes();
    routes["GET /api/v1/basemap"] = () => apiError(404, "no_basemap", "Máy chủ chưa có bản đồ nền.", "No base map.");
    const drawn: unknown[][] = [];
    const root = await open(routes, drawn);
    const note = await waitFor(() => $("no-basemap", root), "the note");
    expect(note.textContent).toContain("Chưa có bản đồ nền (đường phố)");
    expect(drawn).toHaveLength(0);
  });
});
