/** What bare `monaco-editor` resolves to (see vite.config.ts): the trimmed editor API. */
export * from "monaco-editor/esm/vs/editor/editor.api.js";
