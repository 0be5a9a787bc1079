import { StrictMode, useEffect } from "react";
import { createRoot } from "react-dom/client";
import "./index.css";
import { initI18n } from "./i18n";
import { App } from "./App";
import { settingsStore, useSettings } from "./state/settings";

initI18n(settingsStore.get().uiLanguage || undefined);

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
