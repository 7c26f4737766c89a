// The coverage map (MapLibre GL, loaded on demand): the current area's children filled by
// coverage with the configurable thresholds, their outlines, and the households as dots coloured
// by their latest outcome (grey when unvisited, a black ring when a revisit is due), shown from a
// zoom level or at once when the area has no children, with the venues as larger purple rings.
// Under them the server's base map (a PMTiles archive read by range requests with the bearer
// token) when IT has loaded one, else a plain background, and the notes say so.
// The map object is window.__doorstepMap, for the browser test.

import maplibregl from "maplibre-gl";
import "maplibre-gl/dist/maplibre-gl.css";
import type { ExpressionSpecification, FilterSpecification, GeoJSONSource, LngLatBoundsLike, MapGeoJSONFeature } from "maplibre-gl";
import type { FeatureCollection as GeoCollection, Point } from "geojson";
import { FetchSource, PMTiles, Protocol } from "pmtiles";
import { basemapLayers, basemapSource } from "../../src/basemapstyle";
import { UNVISITED_COLOR, VENUE_COLOR } from "./colors";
import { mapLocale } from "./i18n";
import { coverageFillExpression, type Thresholds } from "./thresholds";
import type { AreaProps, FeatureCollection, HouseholdProps, VenueProps } from "./types";
import { bboxOf, STREET_ZOOM, type Bbox, type HexagonProps } from "./filters";

/** Below this zoom a non-leaf area shows only its children's fills (and hexagons). */
export const HOUSEHOLD_MIN_ZOOM = STREET_ZOOM;
const BACKGROUND = "#f2f1ec";
const EMPTY = { type: "FeatureCollection", features: [] } as GeoCollection;

export type MapCallbacks = {
  onAreaClick: (code: string, name: string) => void;
  popupContent: (p: HouseholdProps) => HTMLElement;
  areaTooltip: (p: AreaProps) => string;
  onZoom?: (zoom: number) => void;
  hexagonTooltip?: (p: HexagonProps) => string;
  venueTooltip?: (p: VenueProps) => string;
  /** The map has drawn all it holds and nothing is moving (MapLibre's `idle`). */
  onIdle?: () => void;
};

export type MapView = {
  readonly map: maplibregl.Map;
  /** The children of `key` (an area code); fits the view to them when they have shapes. */
  setAreas(key: string, fc: FeatureCollection<AreaProps>): void;
  /** The households of `key`; fits the view to them if the areas had no shapes. */
  setHouseholds(key: string, fc: FeatureCollection<HouseholdProps>): void;
  /** A leaf area shows its households at every zoom. */
  setLeaf(leaf: boolean): void;
  /** Venues (agencies, schools, businesses, transport hubs) as marked points with households. */
  setVenues(fc: FeatureCollection<VenueProps>): void;
  /** H3 hexagons coloured by coverage, shown below street zoom (filters.ts). */
  setHexagons(fc: FeatureCollection<HexagonProps>): void;
  setThresholds(th: Thresholds): void;
  /** Outcome codes to show; "" stands for unvisited households. */
  setVisibleOutcomes(codes: string[]): void;
  setOutcomeColors(pairs: [string, string][]): void;
  /** Draws the server's base map (its absolute URL, tile type, and the request's headers). */
  setBasemap(url: string, tileType: string, headers: Record<string, string>): void;
  zoom(): number;
  destroy(): void;
};

let protocol: Protocol | null = null;

function colorExpression(pairs: [string, string][]): ExpressionSpecification {
  if (pairs.length === 0) return ["literal", UNVISITED_COLOR] as unknown as ExpressionSpecification;
  return ["match", ["coalesce", ["get", "outcome"], ""], ...pairs.flat(), UNVISITED_COLOR] as unknown as ExpressionSpecification;
}

export function createMap(container: HTMLElement, cb: MapCallbacks, init: { thresholds: Thresholds; visible: string[]; colors: [string, string][] }): MapView {
  const map = new maplibregl.Map({
    container,
    locale: mapLocale(),
    style: {
      version: 8,
      sources: {
        areas: { type: "geojson", data: EMPTY },
        households: { type: "geojson", data: EMPTY },
        hexagons: { type: "geojson", data: EMPTY },
        venues: { type: "geojson", data: EMPTY },
      },
      layers: [
        { id: "background", type: "background", paint: { "background-color": BACKGROUND } },
        {
          id: "areas-fill",
          type: "fill",
          source: "areas",
          paint: {
            "fill-color": coverageFillExpression(init.thresholds) as unknown as ExpressionSpecification,
            "fill-opacity": 0.6,
          },
        },
        {
          id: "hexagons-fill",
          type: "fill",
          source: "hexagons",
          maxzoom: STREET_ZOOM,
          paint: {
            "fill-color": coverageFillExpression(init.thresholds) as unknown as ExpressionSpecification,
            "fill-opacity": 0.7,
            "fill-outline-color": "#ffffff",
          },
        },
        { id: "areas-outline", type: "line", source: "areas", paint: { "line-color": "#1f1f1f", "line-width": 1.6 } },
        {
          id: "households",
          type: "circle",
          source: "households",
          minzoom: HOUSEHOLD_MIN_ZOOM,
          filter: ["in", ["coalesce", ["get", "outcome"], ""], ["literal", init.visible]] as FilterSpecification,
          paint: {
            "circle-color": colorExpression(init.colors),
            "circle-radius": ["interpolate", ["linear"], ["zoom"], 8, 2.5, 13, 4.5, 17, 8],
            "circle-stroke-color": ["case", ["boolean", ["get", "revisit_due"], false], "#000000", "#ffffff"],
            "circle-stroke-width": ["case", ["boolean", ["get", "revisit_due"], false], 2.5, 0.8],
          },
        },
        {
          // Venues: larger, one colour no outcome uses, ringed, above the households.
          id: "venues",
          type: "circle",
          source: "venues",
          minzoom: HOUSEHOLD_MIN_ZOOM,
          paint: {
            "circle-color": VENUE_COLOR,
            "circle-radius": ["interpolate", ["linear"], ["zoom"], 8, 4, 13, 7, 17, 11],
            "circle-stroke-color": "#ffffff",
            "circle-stroke-width": 2.5,
          },
        },
      ],
    },
    center: [106.0, 16.5],
    zoom: 5,
    attributionControl: false,
    dragRotate: false,
    pitchWithRotate: false,
    maxZoom: 19,
  });
  map.touchZoomRotate.disableRotation();
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
  (window as unknown as { __doorstepMap?: maplibregl.Map }).__doorstepMap = map;

  let loaded = false;
  const queue: (() => void)[] = [];
  const whenLoaded = (f: () => void) => (loaded ? f() : queue.push(f));
  map.on("load", () => {
    loaded = true;
    for (const f of queue.splice(0)) f();
  });

  // The view fits the children's shapes, else the households; each area once.
  let fitted: { key: string; rank: number } | null = null;
  const fit = (key: string, b: Bbox | null, rank: number) => {
    if (!b || (fitted && fitted.key === key && fitted.rank >= rank)) return;
    fitted = { key, rank };
    const bounds: LngLatBoundsLike = [
      [b[0], b[1]],
      [b[2], b[3]],
    ];
    const same = b[0] === b[2] && b[1] === b[3];
    if (same) map.jumpTo({ center: [b[0], b[1]], zoom: 16 });
    else map.fitBounds(bounds, { padding: 32, maxZoom: 17, duration: 0 });
  };

  // The collections on the map now: the same one again is not re-tiled.
  const shown: { areas: unknown; households: unknown } = { areas: null, households: null };
  const source = (id: string) => map.getSource(id) as GeoJSONSource | undefined;

  // Clicks: a household dot opens its popup; elsewhere in a child area, that area opens.
  const hitBox = (p: maplibregl.Point): [maplibregl.PointLike, maplibregl.PointLike] => [
    [p.x - 5, p.y - 5],
    [p.x + 5, p.y + 5],
  ];
  let popup: maplibregl.Popup | null = null;
  map.on("click", (e) => {
    const hs = map.getLayer("households") ? map.queryRenderedFeatures(hitBox(e.point), { layers: ["households"] }) : [];
    if (hs.length > 0) {
      const f = hs[0] as MapGeoJSONFeature;
      const coords = (f.geometry as Point).coordinates as [number, number];
      popup?.remove();
      popup = new maplibregl.Popup({ closeButton: true, maxWidth: "340px", className: "household-popup" })
        .setLngLat(coords)
        .setDOMContent(cb.popupContent(f.properties as HouseholdProps))
        .addTo(map);
      return;
    }
    const as = map.queryRenderedFeatures(e.point, { layers: ["areas-fill"] });
    if (as.length > 0) {
      const p = as[0].properties as AreaProps;
      tip.remove();
      cb.onAreaClick(String(p.code), String(p.name));
    }
  });
  const tip = new maplibregl.Popup({ closeButton: false, closeOnClick: false, className: "area-tip", offset: 12 });
  map.on("mousemove", (e) => {
    const vs = cb.venueTooltip ? map.queryRenderedFeatures(hitBox(e.point), { layers: ["venues"] }) : [];
    if (vs.length && cb.venueTooltip) {
      map.getCanvas().style.cursor = "";
      tip.setLngLat(e.lngLat).setText(cb.venueTooltip(vs[0].properties as VenueProps)).addTo(map);
      return;
    }
    const hs = map.queryRenderedFeatures(hitBox(e.point), { layers: ["households"] });
    const as = hs.length ? [] : map.queryRenderedFeatures(e.point, { layers: ["areas-fill"] });
    const hx = hs.length || !cb.hexagonTooltip ? [] : map.queryRenderedFeatures(e.point, { layers: ["hexagons-fill"] });
    map.getCanvas().style.cursor = hs.length || as.length ? "pointer" : "";
    if (hx.length && cb.hexagonTooltip) tip.setLngLat(e.lngLat).setText(cb.hexagonTooltip(hx[0].properties as HexagonProps)).addTo(map);
    else if (as.length) tip.setLngLat(e.lngLat).setText(cb.areaTooltip(as[0].properties as AreaProps)).addTo(map);
    else tip.remove();
  });
  map.on("mouseout", () => tip.remove());
  map.on("zoomend", () => cb.onZoom?.(map.getZoom()));
  map.on("idle", () => cb.onIdle?.());

  return {
    map,
    setAreas(key, fc) {
      whenLoaded(() => {
        if (shown.areas === fc) return fit(key, bboxOf(fc), 2);
        shown.areas = fc;
        popup?.remove();
        source("areas")?.setData(fc as unknown as GeoCollection);
        fit(key, bboxOf(fc), 2);
      });
    },
    setHouseholds(key, fc) {
      whenLoaded(() => {
        if (shown.households === fc) return fit(key, bboxOf(fc), 1);
        shown.households = fc;
        source("households")?.setData({ type: "FeatureCollection", features: fc.features } as unknown as GeoCollection);
        fit(key, bboxOf(fc), 1);
      });
    },
    setLeaf(leaf) {
      whenLoaded(() => {
        map.setLayerZoomRange("households", leaf ? 0 : HOUSEHOLD_MIN_ZOOM, 24);
        map.setLayerZoomRange("venues", leaf ? 0 : HOUSEHOLD_MIN_ZOOM, 24);
      });
    },
    setVenues(fc) {
      whenLoaded(() => source("venues")?.setData(fc as unknown as GeoCollection));
    },
    setThresholds(th) {
      whenLoaded(() => {
        map.setPaintProperty("areas-fill", "fill-color", coverageFillExpression(th) as unknown as ExpressionSpecification);
        map.setPaintProperty("hexagons-fill", "fill-color", coverageFillExpression(th) as unknown as ExpressionSpecification);
      });
    },
    setHexagons(fc) {
      whenLoaded(() => {
        source("hexagons")?.setData(fc as unknown as GeoCollection);
        // With hexagons on top the areas keep their outlines and a light fill.
        map.setPaintProperty("areas-fill", "fill-opacity", fc.features.length ? 0.15 : 0.6);
      });
    },
    setVisibleOutcomes(codes) {
      whenLoaded(() => map.setFilter("households", ["in", ["coalesce", ["get", "outcome"], ""], ["literal", codes]] as FilterSpecification));
    },
    setOutcomeColors(pairs) {
      whenLoaded(() => map.setPaintProperty("households", "circle-color", colorExpression(pairs)));
    },
    setBasemap(url, tileType, headers) {
      if (!protocol) {
        protocol = new Protocol({ metadata: true });
        maplibregl.addProtocol("pmtiles", protocol.tile);
      }
      protocol.add(new PMTiles(new FetchSource(url, new Headers(headers))));
      whenLoaded(() => {
        if (map.getSource("base")) return;
        map.addSource("base", basemapSource(tileType, `pmtiles://${url}`));
        // Under the coverage fills, the outlines and the dots.
        for (const layer of basemapLayers(tileType)) map.addLayer(layer, "areas-fill");
      });
    },
    zoom: () => map.getZoom(),
    destroy() {
      popup?.remove();
      tip.remove();
      map.remove();
      const w = window as unknown as { __doorstepMap?: maplibregl.Map };
      if (w.__doorstepMap === map) delete w.__doorstepMap;
    },
  };
}
