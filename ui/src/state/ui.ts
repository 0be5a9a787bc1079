/** Per-page view state that several components share (and the editor's commands read). */
import { createStore, useStore } from "./store";

export interface UiState {
  /** Yjs client id of the participant being followed. */
  follow: number | null;
  stdin: string;
  /** Run shown in the console; null shows the newest. */
  selectedRun: string | null;
  /** Tablet: which pane shares the screen with the editor. */
  tabletSide: "problem" | "console";
  /** Phone: which single view is shown. */
  phoneTab: "problem" | "code" | "console";
}

export const uiStore = createStore<UiState>({ follow: null, stdin: "", selectedRun: null, tabletSide: "problem", phoneTab: "code" });
export const useUi = () => useStore(uiStore);
export const setUi = (patch: Partial<UiState>) => uiStore.set((s) => ({ ...s, ...patch }));
