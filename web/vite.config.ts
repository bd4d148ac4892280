import path from "node:path";
import preact from "@preact/preset-vite";
import { defineConfig } from "vite";

const root = import.meta.dirname;

/** Builds the admin UI into dist/web, which wrangler serves as static assets. */
export default defineConfig({
  root,
  plugins: [preact()],
  build: {
    outDir: path.join(root, "..", "dist", "web"),
    emptyOutDir: true,
    sourcemap: false,
    target: "es2022",
  },
});
