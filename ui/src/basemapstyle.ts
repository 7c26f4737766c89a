// How a base map (a PMTiles archive) is drawn, shared by the field app and the dashboard as the
// colours and MapLibre's words are: vector tiles of the Protomaps or OpenMapTiles schema, or
// raster tiles.

import type { LayerSpecification, SourceSpecification } from "maplibre-gl";

/** Layers for a vector base map of unknown schema: the Protomaps and OpenMapTiles layer names. */
function vectorLayers(): LayerSpecification[] {
  const src = "base";
  const fill = (id: string, layer: string, color: string): LayerSpecification => ({
    id,
    type: "fill",
    source: src,
    "source-layer": layer,
    filter: ["==", ["geometry-type"], "Polygon"],
    paint: { "fill-color": color },
  });
  const line = (id: string, layer: string, color: string, width: number, dash?: number[]): LayerSpecification => ({
    id,
    type: "line",
    source: src,
    "source-layer": layer,
    filter: ["==", ["geometry-type"], "LineString"],
    paint: {
      "line-color": color,
      "line-width": ["interpolate", ["linear"], ["zoom"], 10, width * 0.4, 16, width * 2.5],
      ...(dash ? { "line-dasharray": dash } : {}),
    },
  });
  return [
    fill("earth", "earth", "#f3f1ea"),
    fill("landcover", "landcover", "#e1ebd6"),
    fill("landuse", "landuse", "#e6e8dc"),
    fill("water", "water", "#a9d3ee"),
    line("waterway", "waterway", "#a9d3ee", 1.5),
    line("water-lines", "water", "#a9d3ee", 1.5),
    fill("buildings", "buildings", "#d8cfc6"),
    fill("building", "building", "#d8cfc6"),
    line("roads-casing", "roads", "#9a9a9a", 2.4),
    line("roads", "roads", "#ffffff", 1.6),
    line("transportation-casing", "transportation", "#9a9a9a", 2.4),
    line("transportation", "transportation", "#ffffff", 1.6),
    line("boundaries", "boundaries", "#6b6b6b", 1, [3, 2]),
    line("boundary", "boundary", "#6b6b6b", 1, [3, 2]),
  ];
}

/** The source for an archive at `url` (`pmtiles://…`): vector (`mvt`) or raster tiles. */
export function basemapSource(tileType: string, url: string): SourceSpecification {
  return tileType === "mvt" ? { type: "vector", url } : { type: "raster", url, tileSize: 256 };
}

/** The layers drawing source `base`, under everything else. */
export function basemapLayers(tileType: string): LayerSpecification[] {
  return tileType === "mvt" ? vectorLayers() : [{ id: "raster", type: "raster", source: "base" }];
}
