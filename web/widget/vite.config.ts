import path from "node:path";
import { defineConfig } from "vite";

const root = import.meta.dirname;

/**
 * The embedded inbox's frame page, built into dist/web/widget (served under /widget/ by the Worker
 * with per-partner frame-ancestors). Plain TypeScript and its own small stylesheet: no preact, no app
 * CSS, so the loader and the widget stay within their 15 KB budget (scripts/bundle-budget.mjs).
 */
export default defineConfig({
  root,
  base: "/widget/",
  publicDir: false,
  build: {
    outDir: path.join(root, "..", "..", "dist", "web", "widget"),
    emptyOutDir: true,
    sourcemap: false,
    target: "es2022",
    modulePreload: { polyfill: false },
  },
});
