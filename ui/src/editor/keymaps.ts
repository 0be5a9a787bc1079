/**
 * Vim and Emacs keymaps, loaded only when chosen (they are ~150 kB together and most people
 * never switch). Each returns a disposer that restores the standard bindings.
 */
import type { editor } from "monaco-editor/esm/vs/editor/editor.api.js";
import type { Keymap } from "../state/settings";

export async function applyKeymap(ed: editor.IStandaloneCodeEditor, keymap: Keymap, statusNode: HTMLElement): Promise<() => void> {
  if (keymap === "vim") {
    const { initVimMode } = await import("monaco-vim");
    const vim = initVimMode(ed as never, statusNode);
    return () => vim.dispose();
  }
  if (keymap === "emacs") {
    const mod = (await import("monaco-emacs")) as unknown as { EmacsExtension: new (e: unknown) => { start(): void; dispose(): void } };
    const emacs = new mod.EmacsExtension(ed);
    emacs.start();
    return () => emacs.dispose();
  }
  return () => {};
}
