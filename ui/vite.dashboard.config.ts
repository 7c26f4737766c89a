/// <reference types="vitest/config" />
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { defineConfig, type Plugin } from "vite";

// The leaders' and committees' web dashboard, served by `doorstep serve` from the site root.
// Everything (MapLibre GL and its CSS) is bundled: nothing is fetched from a CDN, no web fonts.
// `npm run dev:dashboard` proxies /api to DOORSTEP_API (default http://127.0.0.1:8080).
const api = process.env.DOORSTEP_API || "http://127.0.0.1:8080";

// The API page (`/api/docs`): Swagger UI's own files from npm and our page that starts it, put
// beside the dashboard's so the server embeds them too.
function apiDocs(): Plugin {
  const require = createRequire(import.meta.url);
  const swagger = (f: string) => require.resolve(`swagger-ui-dist/${f}`);
  const files: [string, string][] = [
    ["api-docs/index.html", new URL("./apidocs/index.html", import.meta.url).pathname],
    ["api-docs/init.js", new URL("./apidocs/init.js", import.meta.url).pathname],
    ["api-docs/swagger-ui.css", swagger("swagger-ui.css")],
    ["api-docs/swagger-ui-bundle.js", swagger("swagger-ui-bundle.js")],
  ];
  return {
    name: "doorstep-api-docs",
    apply: "build",
    generateBundle() {
      for (const [fileName, from] of files) this.emitFile({ type: "asset", fileName, source: readFileSync(from) });
    },
  };
}

export default defineConfig({
  plugins: [apiDocs()],
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
