/**
 * Monaco, trimmed: the editor core and its contributions, plus Monarch highlighting for the
 * manifest's languages only. Why not `import "monaco-editor"`: that pulls in the TypeScript,
 * CSS, HTML and JSON language services and ~80 grammars, several MB nobody uses here.
 * Vite aliases bare `monaco-editor` to `./monacoShim.ts`, so monaco-vim/monaco-emacs share it.
 */
import * as monaco from "monaco-editor/esm/vs/editor/editor.api.js";
// The contributions an interview editor uses, instead of `editor.all.js` (which adds the diff
// editor, code lens, colour picker, inlay hints, sticky scroll, inline completions, rename, go to
// definition…): each one is code to parse and objects per editor, and the desktop app's memory
// budget is tight (docs/benchmarks.md, "Desktop"). Keep keyboard and accessibility features.
import "monaco-editor/esm/vs/editor/internal/initialize.js";
import "monaco-editor/esm/vs/editor/browser/coreCommands.js";
import "monaco-editor/esm/vs/editor/browser/widget/codeEditor/codeEditorWidget.js";
import "monaco-editor/esm/vs/editor/contrib/bracketMatching/browser/bracketMatching.js";
import "monaco-editor/esm/vs/editor/contrib/caretOperations/browser/caretOperations.js";
import "monaco-editor/esm/vs/editor/contrib/caretOperations/browser/transpose.js";
import "monaco-editor/esm/vs/editor/contrib/clipboard/browser/clipboard.js";
import "monaco-editor/esm/vs/editor/contrib/comment/browser/comment.js";
import "monaco-editor/esm/vs/editor/contrib/contextmenu/browser/contextmenu.js";
import "monaco-editor/esm/vs/editor/contrib/cursorUndo/browser/cursorUndo.js";
import "monaco-editor/esm/vs/editor/contrib/find/browser/findController.js";
import "monaco-editor/esm/vs/editor/contrib/folding/browser/folding.js";
import "monaco-editor/esm/vs/editor/contrib/fontZoom/browser/fontZoom.js";
import "monaco-editor/esm/vs/editor/contrib/hover/browser/hoverContribution.js";
import "monaco-editor/esm/vs/editor/contrib/indentation/browser/indentation.js";
import "monaco-editor/esm/vs/editor/contrib/lineSelection/browser/lineSelection.js";
import "monaco-editor/esm/vs/editor/contrib/linesOperations/browser/linesOperations.js";
import "monaco-editor/esm/vs/editor/contrib/longLinesHelper/browser/longLinesHelper.js";
import "monaco-editor/esm/vs/editor/contrib/multicursor/browser/multicursor.js";
import "monaco-editor/esm/vs/editor/contrib/smartSelect/browser/smartSelect.js";
import "monaco-editor/esm/vs/editor/contrib/suggest/browser/suggestController.js";
import "monaco-editor/esm/vs/editor/contrib/tokenization/browser/tokenization.js";
import "monaco-editor/esm/vs/editor/contrib/toggleTabFocusMode/browser/toggleTabFocusMode.js";
import "monaco-editor/esm/vs/editor/contrib/wordHighlighter/browser/wordHighlighter.js";
import "monaco-editor/esm/vs/editor/contrib/wordOperations/browser/wordOperations.js";
import "monaco-editor/esm/vs/editor/contrib/wordPartOperations/browser/wordPartOperations.js";
import "monaco-editor/esm/vs/editor/contrib/readOnlyMessage/browser/contribution.js";
import "monaco-editor/esm/vs/editor/common/standaloneStrings.js";
import "monaco-editor/esm/vs/base/browser/ui/codicons/codicon/codicon.css";
import "monaco-editor/esm/vs/base/browser/ui/codicons/codicon/codicon-modifiers.css";
import "monaco-editor/esm/vs/basic-languages/javascript/javascript.contribution.js";
import "monaco-editor/esm/vs/basic-languages/python/python.contribution.js";
import "monaco-editor/esm/vs/basic-languages/java/java.contribution.js";
import "monaco-editor/esm/vs/basic-languages/cpp/cpp.contribution.js";
import "monaco-editor/esm/vs/basic-languages/go/go.contribution.js";
import EditorWorker from "monaco-editor/esm/vs/editor/editor.worker.js?worker";

/**
 * The browser gives Monaco its helper worker (word suggestions, link detection off the main
 * thread). The desktop app does not: a worker is a second JavaScript VM with its own heap in the
 * page's process, and for interview-sized files the helper's work is small enough for the main
 * thread (Monaco falls back to it when `getWorker` throws).
 */
(self as unknown as { MonacoEnvironment: object }).MonacoEnvironment = {
  getWorker: () => {
    if ("__TAURI_INTERNALS__" in self) throw new Error("the desktop app runs Monaco's helper on the main thread");
    return new EditorWorker();
  },
};

export { monaco };
