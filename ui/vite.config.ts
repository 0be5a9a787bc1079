/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import tailwindcss from "@tailwindcss/vite";
import { fileURLToPath } from "node:url";

export default defineConfig({
  plugins: [react(), tailwindcss()],
  resolve: {
    // monaco-vim and monaco-emacs import bare "monaco-editor", which would pull in every language
    // service; point them at the trimmed editor the app already loads (src/editor/monaco.ts).
    alias: [{ find: /^monaco-editor$/, replacement: fileURLToPath(new URL("./src/editor/monacoShim.ts", import.meta.url)) }],
  },
  build: {
    // Monaco alone is ~3 MB minified; it is split into its own lazily loaded chunk (see
    // EditorPane), so the warning would only repeat what docs/ui.md's budget already states.
    chunkSizeWarningLimit: 4000,
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}"],
    setupFiles: ["src/test/setup.ts"],
    // Two shared cores: one worker keeps the suite from starving the Rust builds next door.
    maxWorkers: 1,
    testTimeout: 20000,
  },
});
