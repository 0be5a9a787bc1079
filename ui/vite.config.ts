/// <reference types="vitest/config" />
import { defineConfig, type Plugin } from "vite";
import react from "@vitejs/plugin-react";
import tailwindcss from "@tailwindcss/vite";
import { fileURLToPath } from "node:url";

/**
 * Monaco 0.55's Monarch grammars (`basic-languages/<lang>/<lang>.js`, and their registry
 * `basic-languages/_.contribution.js`) start with ~70 side-effect
 * imports of every editor contribution (the diff editor, code lens, colour picker, sticky
 * scroll…), so loading one grammar undoes the trimmed contribution list in src/editor/monaco.ts.
 * This drops those binding-less imports from the grammar modules only; what a grammar uses by name
 * (`languages`, a shared grammar) stays.
 */
function monacoGrammarsWithoutSideEffects(): Plugin {
  return {
    name: "tandem-monaco-grammars-without-side-effects",
    enforce: "pre",
    transform(code, id) {
      if (!/monaco-editor\/esm\/vs\/basic-languages\/.*\.js$/.test(id)) return null;
      return { code: code.replace(/^import '[^']+';$/gm, ""), map: null };
    },
  };
}

export default defineConfig({
  plugins: [react(), tailwindcss(), monacoGrammarsWithoutSideEffects()],
  resolve: {
    // monaco-vim and monaco-emacs import bare "monaco-editor", which would pull in every language
    // service; point them at the trimmed editor the app already loads (src/editor/monaco.ts).
    alias: [{ find: /^monaco-editor$/, replacement: fileURLToPath(new URL("./src/editor/monacoShim.ts", import.meta.url)) }],
  },
  build: {
    // Monaco alone is ~3 MB minified; it is split into its own lazily loaded chunk (see
    // EditorPane), so the warning would only repeat what docs/ui.md's budget already states.
    chunkSizeWarningLimit: 4000,
    rolldownOptions: {
      // Escape non-ASCII characters (`\u2026`): one character above U+00FF anywhere in a script
      // makes WebKit and Chromium hold its whole source as UTF-16, twice the bytes. Monaco, the
      // translations and xterm.js each have a few, so this halves ~4 MB of resident source text
      // (docs/benchmarks.md, "Desktop").
      output: { charset: "ascii" },
    },
  },
  // The same for the editor's helper when it runs as a Web Worker (browsers).
  worker: { rolldownOptions: { output: { charset: "ascii" } } },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}"],
    setupFiles: ["src/test/setup.ts"],
    // Two shared cores: one worker keeps the suite from starving the Rust builds next door.
    maxWorkers: 1,
    testTimeout: 20000,
  },
});
