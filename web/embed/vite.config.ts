import path from "node:path";
import { defineConfig } from "vite";

const root = import.meta.dirname;

/**
 * The loader partners include with one script tag: dist/web/embed.js, a classic script that defines
 * `Postroom.mount(element, { token, onTokenExpired })`. Built as an IIFE with a fixed name, beside
 * (not inside) the app's assets.
 */
export default defineConfig({
  root,
  publicDir: false,
  build: {
    outDir: path.join(root, "..", "..", "dist", "web"),
    emptyOutDir: false,
    sourcemap: false,
    target: "es2020",
    lib: {
      entry: path.join(root, "embed.ts"),
      name: "Postroom",
      formats: ["iife"],
      fileName: () => "embed.js",
    },
  },
});
