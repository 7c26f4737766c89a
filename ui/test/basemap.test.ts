import { afterEach, describe, expect, it } from "vitest";
import { basemapPath } from "../src/map";
import { must, start, tap, type Harness } from "./helpers";

let hs: Harness | null = null;
afterEach(() => {
  hs?.app.destroy();
  hs = null;
});

describe("the server's base map on the phone", () => {
  it("is drawn once whole; a file set by hand in the settings comes first", () => {
    const held = { basemap: { name: "Hà Tĩnh", path: "/data/basemaps/server.pmtiles", downloaded: 10, size: 10 } };
    const coming = { basemap: { name: "Hà Tĩnh", path: null, downloaded: 3, size: 10 } };
    expect(basemapPath({ basemap: null }, held)).toBe("/data/basemaps/server.pmtiles");
    expect(basemapPath({ basemap: null }, coming)).toBeNull();
    expect(basemapPath({ basemap: " /mine.pmtiles " }, held)).toBe("/mine.pmtiles");
    expect(basemapPath(null, {})).toBeNull();
  });

  it("is described in the settings: none, downloading, held", async () => {
    hs = await start({ status: { basemap: { name: "Hà Tĩnh 11/2026", path: null, downloaded: 3_145_728, size: 12_582_912 } } });
    tap(hs, "nav-settings");
    expect(must(hs.root, "settings-server-map").textContent).toBe("Bản đồ nền của máy chủ: Hà Tĩnh 11/2026 — đang tải 3,0/12,0 MB.");
    hs.fake.pushStatus({ basemap: { name: "Hà Tĩnh 11/2026", path: "/d/basemaps/server.pmtiles", downloaded: 12_582_912, size: 12_582_912 } });
    expect(must(hs.root, "settings-server-map").textContent).toBe(
      "Bản đồ nền của máy chủ: Hà Tĩnh 11/2026 — đã tải về máy (12,0 MB), dùng được khi mất mạng.",
    );
    hs.fake.pushStatus({ basemap: null });
    expect(must(hs.root, "settings-server-map").textContent).toContain("chưa có");
  });
});
