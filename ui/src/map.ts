// The map: households as dots coloured by their latest outcome (grey when unvisited, a black ring
// when a revisit is due), over an optional offline base map (a PMTiles file), else a plain
// background. Loaded on demand (MapLibre is large) and only where WebGL exists.

import maplibregl from "maplibre-gl";
import "maplibre-gl/dist/maplibre-gl.css";
import { PMTiles, Protocol, TileType } from "pmtiles";
import type { ExpressionSpecification, LayerSpecification, SourceSpecification, StyleSpecification } from "maplibre-gl";
import { fileUrl } from "./api";
import { mapLocale } from "./i18n";
import { basemapLayers, basemapSource } from "./basemapstyle";
import { outcomeColor, UNVISITED_COLOR } from "./colors";
import type { Campaign, Household } from "./types";
import type { FeatureCollection } from "geojson";

export type MapHandle = {
  setHouseholds(hs: Household[]): void;
  /** Shows (or, with null, hides) the pinned point. */
  setPin(p: { lat: number; lon: number } | null): void;
  /** Calls back with each tap on the map. */
  onTap(cb: (p: { lat: number; lon: number }) => void): void;
  /** Calls back with the id of a household whose dot was tapped (instead of `onTap`). */
  onHousehold(cb: (id: string) => void): void;
  /** Shows (or, with null, hides) where the volunteer stands, with the fix's error as a halo. */
  setHere(p: { lat: number; lon: number; accuracy_m?: number | null } | null): void;
  /** How many of the base map's features are drawn in view (for tests). */
  basemapDrawn(): number;
  /** The map's last error, if any (for tests and for whoever reads a failure). */
  lastError(): string | null;
  /** Where a point is drawn, in pixels from the map's top left (for tests). */
  project(p: { lat: number; lon: number }): { x: number; y: number };
  centre(p: { lat: number; lon: number }, zoom?: number): void;
  destroy(): void;
};

/** The base map to draw: the one set by hand in the settings, else the server's once it is on
 * the phone; null: none. */
export function basemapPath(settings: { basemap: string | null } | null | undefined, status: { basemap?: { path: string | null } | null } | null | undefined): string | null {
  return settings?.basemap?.trim() || status?.basemap?.path || null;
}

export type MapOptions = {
  campaign: Campaign | null;
  basemap: string | null;
  households: Household[];
  centre?: { lat: number; lon: number } | null;
  onBasemapError?: () => void;
};

const BACKGROUND = "#eef0ea";
let protocol: Protocol | null = null;

function householdsGeoJson(hs: Household[]): FeatureCollection {
  return {
    type: "FeatureCollection",
    features: hs
      .filter((h) => typeof h.lat === "number" && typeof h.lon === "number")
      .map((h) => ({
        type: "Feature",
        geometry: { type: "Point", coordinates: [h.lon as number, h.lat as number] },
        properties: { id: h.id, o: h.latest_outcome ?? "", r: h.revisit_due },
      })),
  };
}

function colourExpression(campaign: Campaign | null): ExpressionSpecification {
  const codes = campaign?.outcomes.map((o) => o.code) ?? [];
  if (codes.length === 0) return ["literal", UNVISITED_COLOR] as unknown as ExpressionSpecification;
  const pairs: string[] = [];
  codes.forEach((c, i) => pairs.push(c, outcomeColor(c, i)));
  return ["match", ["get", "o"], ...pairs, UNVISITED_COLOR] as unknown as ExpressionSpecification;
}

async function basemapParts(basemap: string): Promise<{ source: SourceSpecification; layers: LayerSpecification[] }> {
  if (!protocol) {
    protocol = new Protocol({ metadata: true });
    maplibregl.addProtocol("pmtiles", protocol.tile);
  }
  const url = fileUrl(basemap);
  const archive = new PMTiles(url);
  protocol.add(archive);
  const header = await archive.getHeader();
  const kind = header.tileType === TileType.Mvt ? "mvt" : "raster";
  return { source: basemapSource(kind, `pmtiles://${url}`), layers: basemapLayers(kind) };
}

function bounds(hs: Household[]): maplibregl.LngLatBounds | null {
  const pts = hs.filter((h) => typeof h.lat === "number" && typeof h.lon === "number");
  if (pts.length === 0) return null;
  const b = new maplibregl.LngLatBounds([pts[0].lon as number, pts[0].lat as number], [pts[0].lon as number, pts[0].lat as number]);
  for (const h of pts) b.extend([h.lon as number, h.lat as number]);
  return b;
}

export async function createMap(container: HTMLElement, opts: MapOptions): Promise<MapHandle> {
  let base: { source: SourceSpecification; layers: LayerSpecification[] } | null = null;
  if (opts.basemap && opts.basemap.trim()) {
    try {
      base = await basemapParts(opts.basemap.trim());
    } catch {
      opts.onBasemapError?.();
    }
  }
  const sources: Record<string, SourceSpecification> = {
    households: { type: "geojson", data: householdsGeoJson(opts.households) },
    pin: { type: "geojson", data: { type: "FeatureCollection", features: [] } },
    here: { type: "geojson", data: { type: "FeatureCollection", features: [] } },
  };
  if (base) sources.base = base.source;
  const style: StyleSpecification = {
    version: 8,
    sources,
    layers: [
      { id: "background", type: "background", paint: { "background-color": BACKGROUND } },
      ...(base ? base.layers : []),
      {
        id: "households",
        type: "circle",
        source: "households",
        paint: {
          "circle-radius": ["interpolate", ["linear"], ["zoom"], 11, 3.5, 15, 7, 18, 11],
          "circle-color": colourExpression(opts.campaign),
          "circle-stroke-width": ["case", ["get", "r"], 3, 1.2],
          "circle-stroke-color": ["case", ["get", "r"], "#000000", "#ffffff"],
        },
      },
      // You are here: the fix's error as a pale halo (metres to pixels at this latitude), a ring.
      {
        id: "here-halo",
        type: "circle",
        source: "here",
        paint: {
          "circle-radius": ["interpolate", ["exponential", 2], ["zoom"], 10, ["/", ["get", "acc"], ["get", "mpp10"]], 20, ["/", ["get", "acc"], ["/", ["get", "mpp10"], 1024]]],
          "circle-color": "#1a73e8",
          "circle-opacity": 0.15,
        },
      },
      {
        id: "here",
        type: "circle",
        source: "here",
        // A ring with a white core: no household's dot looks like it (they are filled).
        paint: { "circle-radius": 7, "circle-color": "#ffffff", "circle-stroke-width": 5, "circle-stroke-color": "#1a73e8" },
      },
      {
        id: "pin",
        type: "circle",
        source: "pin",
        paint: { "circle-radius": 10, "circle-color": "#d0021b", "circle-stroke-width": 3, "circle-stroke-color": "#ffffff" },
      },
    ],
  };

  const b = bounds(opts.households);
  const map = new maplibregl.Map({
    container,
    style,
    center: opts.centre ? [opts.centre.lon, opts.centre.lat] : b ? b.getCenter() : [105.9, 18.34],
    zoom: opts.centre ? 17 : 15,
    attributionControl: { compact: true },
    locale: mapLocale(),
    dragRotate: false,
    pitchWithRotate: false,
    touchPitch: false,
    fadeDuration: 0,
    pixelRatio: Math.min(2, globalThis.devicePixelRatio || 1),
  });
  map.touchZoomRotate.disableRotation();
  if (b && !opts.centre) map.fitBounds(b, { padding: 24, maxZoom: 17, animate: false });

  let lastError: string | null = null;
  map.on("error", (e) => {
    lastError = String(e.error?.message ?? e.error ?? "error");
    console.warn("map:", lastError);
  });
  const tapCallbacks: ((p: { lat: number; lon: number }) => void)[] = [];
  const householdCallbacks: ((id: string) => void)[] = [];
  map.on("click", (e) => {
    // A finger is wider than a dot: a household within 12 px of the tap is the one meant.
    const box: [maplibregl.PointLike, maplibregl.PointLike] = [
      [e.point.x - 12, e.point.y - 12],
      [e.point.x + 12, e.point.y + 12],
    ];
    const hit = householdCallbacks.length && map.getLayer("households") ? map.queryRenderedFeatures(box, { layers: ["households"] }) : [];
    const id = hit.length ? String(hit[0].properties?.id ?? "") : "";
    if (id) {
      for (const cb of householdCallbacks) cb(id);
      return;
    }
    for (const cb of tapCallbacks) cb({ lat: e.lngLat.lat, lon: e.lngLat.lng });
  });

  const whenLoaded = new Promise<void>((resolve) => (map.loaded() ? resolve() : map.once("load", () => resolve())));

  return {
    setHouseholds(hs) {
      void whenLoaded.then(() => (map.getSource("households") as maplibregl.GeoJSONSource | undefined)?.setData(householdsGeoJson(hs)));
    },
    setPin(p) {
      void whenLoaded.then(() =>
        (map.getSource("pin") as maplibregl.GeoJSONSource | undefined)?.setData({
          type: "FeatureCollection",
          features: p ? [{ type: "Feature", geometry: { type: "Point", coordinates: [p.lon, p.lat] }, properties: {} }] : [],
        }),
      );
    },
    onTap(cb) {
      tapCallbacks.push(cb);
    },
    onHousehold(cb) {
      householdCallbacks.push(cb);
    },
    setHere(p) {
      // Metres per pixel at zoom 10 at this latitude (512 px tiles), for the halo's radius.
      const mpp10 = p ? (40_075_016.686 * Math.cos((p.lat * Math.PI) / 180)) / (512 * 2 ** 10) : 1;
      void whenLoaded.then(() =>
        (map.getSource("here") as maplibregl.GeoJSONSource | undefined)?.setData({
          type: "FeatureCollection",
          features: p ? [{ type: "Feature", geometry: { type: "Point", coordinates: [p.lon, p.lat] }, properties: { acc: Math.max(0, p.accuracy_m ?? 0), mpp10 } }] : [],
        }),
      );
    },
    basemapDrawn: () => {
      const layers = (map.getStyle()?.layers ?? []).filter((l) => "source" in l && l.source === "base").map((l) => l.id);
      return layers.length ? map.queryRenderedFeatures({ layers }).length : 0;
    },
    lastError: () => lastError,
    project(p) {
      const pt = map.project([p.lon, p.lat]);
      return { x: pt.x, y: pt.y };
    },
    centre(p, zoom) {
      map.jumpTo({ center: [p.lon, p.lat], zoom: zoom ?? Math.max(map.getZoom(), 16) });
    },
    destroy() {
      map.remove();
    },
  };
}
