/// <reference types="vitest/config" />
import { defineConfig } from "vite";

// The bundle is loaded from tauri://localhost (or from a file), so every URL is relative and
// everything (MapLibre, its CSS, the QR decoder) is bundled: nothing is fetched at run time.
export default defineConfig({
  base: "./",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // Android System WebView on cheap phones and WebKitGTK on Linux.
    target: ["es2020", "safari14", "chrome87"],
    chunkSizeWarningLimit: 1200,
  },
  server: { host: "127.0.0.1", port: 5173, strictPort: true },
  test: {
    environment: "jsdom",
    include: ["test/**/*.test.ts"],
  },
});
