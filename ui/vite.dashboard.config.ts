/// <reference types="vitest/config" />
import { defineConfig } from "vite";

// The leaders' and committees' web dashboard, served by `doorstep serve` from the site root.
// Everything (MapLibre GL and its CSS) is bundled: nothing is fetched from a CDN, no web fonts.
// `npm run dev:dashboard` proxies /api to DOORSTEP_API (default http://127.0.0.1:8080).
const api = process.env.DOORSTEP_API || "http://127.0.0.1:8080";

export default defineConfig({
  root: "dashboard",
  base: "/",
  build: {
    outDir: "../dist-dashboard",
    emptyOutDir: true,
    assetsDir: "assets",
    target: ["es2020", "safari14", "chrome87"],
    chunkSizeWarningLimit: 1200,
  },
  server: { host: "127.0.0.1", port: 5174, strictPort: true, proxy: { "/api": api, "/healthz": api } },
  preview: { host: "127.0.0.1", port: 4174, proxy: { "/api": api, "/healthz": api } },
  test: {
    environment: "jsdom",
    include: ["test/**/*.test.ts"],
  },
});
