/**
 * Loading the Monaco editor component (its own chunk, most of the app's JavaScript), shared by
 * the prefetches (main.tsx, App.tsx) and the editor pane, so the pane knows when it is already
 * here and can render it without suspending: `lazy` suspends on its first render even for a
 * loaded module, and React holds back revealing a suspended boundary for up to 300 ms after a
 * fallback was shown — 250 ms more to an editable editor in about a third of the desktop app's
 * starts (docs/benchmarks.md, "Desktop").
 */
type MonacoEditorComponent = (typeof import("./MonacoEditor"))["default"];

let loaded: MonacoEditorComponent | null = null;

/** Imports the editor component (once; later calls share the module). */
export function loadMonacoEditor(): Promise<typeof import("./MonacoEditor")> {
  return import("./MonacoEditor").then((m) => {
    loaded = m.default;
    return m;
  });
}

/** The editor component if a load has finished, else null. */
export function loadedMonacoEditor(): MonacoEditorComponent | null {
  return loaded;
}
