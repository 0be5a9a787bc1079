import { StrictMode, useEffect } from "react";
import { createRoot } from "react-dom/client";
import "./index.css";
import { initI18n } from "./i18n";
import { App } from "./App";
import { loadMonacoEditor } from "./editor/load";
import { settingsStore, useSettings } from "./state/settings";

// Start-up marks (performance.mark, "tandem:*"): the desktop benchmark reads them to say where
// the time to an editable editor goes (docs/benchmarks.md, "Desktop").
performance.mark("tandem:script");
initI18n(settingsStore.get().uiLanguage || undefined);

// Start fetching and compiling Monaco (the largest chunk) now, in parallel with React's first
// render, instead of when the editor pane mounts: it is on the path to "editable" of every room.
// The editor pane's lazy import gets the same module.
if (location.pathname.startsWith("/room/") || new URLSearchParams(location.search).has("demo")) {
  loadMonacoEditor().catch(() => {});
}

/** Applies the UI theme to <html> so Tailwind's `dark:` variants and native controls follow. */
function ThemeRoot() {
  const { theme } = useSettings();
  useEffect(() => {
    document.documentElement.classList.toggle("dark", theme === "dark");
    document.documentElement.style.colorScheme = theme;
  }, [theme]);
  return <App />;
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <ThemeRoot />
  </StrictMode>,
);
