import { beforeEach, describe, expect, it } from "vitest";
import { App } from "../src/app";
import type { MapCallbacks, MapView } from "../src/map";
import { $, defaultRoutes, fakeServer, flush, json, signIn, waitFor, type Call } from "./helpers";

/** A map module whose map does nothing but tell when it is idle: the order of the page's
 * requests is what is tested. `idle()` plays MapLibre's `idle` event. */
let idle: () => void = () => undefined;
function stubMap(): () => Promise<typeof import("../src/map")> {
  const view = {
    map: { on: () => undefined, getCanvas: () => document.createElement("canvas") },
    setAreas: () => undefined,
    setHouseholds: () => undefined,
    setVenues: () => undefined,
    setLeaf: () => undefined,
    setHexagons: () => undefined,
    setThresholds: () => undefined,
    setVisibleOutcomes: () => undefined,
    setOutcomeColors: () => undefined,
    zoom: () => 7,
    destroy: () => undefined,
  } as unknown as MapView;
  return async () =>
    ({
      createMap: (_el: HTMLElement, cb: MapCallbacks) => {
        idle = () => cb.onIdle?.();
        return view;
      },
    }) as unknown as typeof import("../src/map");
}

describe("the order of a page's requests", () => {
  beforeEach(() => {
    sessionStorage.clear();
    localStorage.clear();
  });

  it("asks for the map first and the lists below it once the map has drawn its data", async () => {
    const routes = defaultRoutes();
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    const hexagons = { type: "FeatureCollection", features: [] };
    routes["GET /api/v1/map/hexagons"] = async () => {
      await held;
      return json(hexagons);
    };
    const { calls } = fakeServer(routes);
    document.body.replaceChildren();
    const root = document.createElement("div");
    document.body.append(root);
    const app = new App(root, { mapSupported: () => true, loadMap: stubMap() });
    await app.start();
    await flush();
    await signIn(root);
    const paths = () => calls.map((c: Call) => c.path);
    await waitFor(() => paths().includes("/api/v1/map/hexagons"), "the hexagons asked for");
    const first = paths().findIndex((p) => p.startsWith("/api/v1/map/"));
    expect(first).toBeLessThan(paths().indexOf("/api/v1/coverage"));
    await flush();
    // The hexagons are still on their way: no walk list, flagged visits or volunteers yet.
    expect(paths()).not.toContain("/api/v1/revisits");
    expect(paths()).not.toContain("/api/v1/volunteers/daily");
    release();
    await flush();
    // The data is in, but the map has not drawn it yet.
    expect(paths()).not.toContain("/api/v1/revisits");
    idle();
    await waitFor(() => $("revisit-h1", root), "the walk list, once the map has drawn");
    expect(paths()).toContain("/api/v1/visits");
    expect(paths()).toContain("/api/v1/volunteers/daily");
  });
});
