/**
 * i18n setup. Resources are bundled (not fetched) because they are small and the UI must render
 * translated before any server answers; a test checks every language has every English key.
 */
import i18n from "i18next";
import { initReactI18next } from "react-i18next";
import en from "./locales/en.json";
import de from "./locales/de.json";
import fr from "./locales/fr.json";
import es from "./locales/es.json";
import ja from "./locales/ja.json";

export const resources = { en, de, fr, es, ja } as const;
export type UiLanguage = keyof typeof resources;
export const UI_LANGUAGES: { code: UiLanguage; name: string }[] = [
  { code: "en", name: "English" },
  { code: "de", name: "Deutsch" },
  { code: "fr", name: "Français" },
  { code: "es", name: "Español" },
  { code: "ja", name: "日本語" },
];

/** The best supported language for a preference list such as `navigator.languages`. */
export function pickLanguage(preferred: readonly string[]): UiLanguage {
  for (const p of preferred) {
    const base = p.toLowerCase().split("-")[0];
    if (base in resources) return base as UiLanguage;
  }
  return "en";
}

export function initI18n(lang?: string) {
  const lng = lang && lang in resources ? lang : pickLanguage(typeof navigator !== "undefined" ? navigator.languages ?? [] : []);
  if (!i18n.isInitialized) {
    void i18n.use(initReactI18next).init({
      resources: Object.fromEntries(Object.entries(resources).map(([k, v]) => [k, { translation: v }])),
      lng,
      fallbackLng: "en",
      interpolation: { escapeValue: false },
      returnNull: false,
    });
  } else if (i18n.language !== lng) {
    void i18n.changeLanguage(lng);
  }
  if (typeof document !== "undefined") document.documentElement.lang = lng;
  return i18n;
}

export default i18n;
