/** Per-device preferences, persisted in localStorage (never shared with the room). */
import { createStore, useStore } from "./store";

export type ThemeMode = "light" | "dark";
export type EditorTheme = "auto" | "vs" | "vs-dark" | "hc-light" | "hc-black";
export type Keymap = "default" | "vim" | "emacs";

export interface Settings {
  theme: ThemeMode;
  editorTheme: EditorTheme;
  keymap: Keymap;
  /** UI language code; empty means "follow the browser". */
  uiLanguage: string;
  name: string;
  fontSize: number;
}

const KEY = "tandem.settings.v1";

function prefersDark(): boolean {
  return typeof window !== "undefined" && !!window.matchMedia?.("(prefers-color-scheme: dark)").matches;
}

export function defaultSettings(): Settings {
  return { theme: prefersDark() ? "dark" : "light", editorTheme: "auto", keymap: "default", uiLanguage: "", name: "", fontSize: 14 };
}

function load(): Settings {
  try {
    const raw = typeof localStorage !== "undefined" ? localStorage.getItem(KEY) : null;
    if (raw) return { ...defaultSettings(), ...(JSON.parse(raw) as Partial<Settings>) };
  } catch {
    /* unreadable settings fall back to defaults */
  }
  return defaultSettings();
}

export const settingsStore = createStore<Settings>(load());
settingsStore.subscribe(() => {
  try {
    localStorage.setItem(KEY, JSON.stringify(settingsStore.get()));
  } catch {
    /* private mode: settings last for the session */
  }
});

export function updateSettings(patch: Partial<Settings>) {
  settingsStore.set((s) => ({ ...s, ...patch }));
}

export const useSettings = () => useStore(settingsStore);

/** The Monaco theme in effect: "auto" follows the UI theme. */
export function monacoTheme(s: Settings): string {
  if (s.editorTheme !== "auto") return s.editorTheme;
  return s.theme === "dark" ? "vs-dark" : "vs";
}
