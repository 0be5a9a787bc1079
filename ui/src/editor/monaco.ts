/**
 * Monaco, trimmed: the editor core and its contributions, plus Monarch highlighting for the
 * manifest's languages only. Why not `import "monaco-editor"`: that pulls in the TypeScript,
 * CSS, HTML and JSON language services and ~80 grammars, several MB nobody uses here.
 * Vite aliases bare `monaco-editor` to `./monacoShim.ts`, so monaco-vim/monaco-emacs share it.
 */
import * as monaco from "monaco-editor/esm/vs/editor/editor.api.js";
import "monaco-editor/esm/vs/editor/editor.all.js";
import "monaco-editor/esm/vs/basic-languages/javascript/javascript.contribution.js";
import "monaco-editor/esm/vs/basic-languages/python/python.contribution.js";
import "monaco-editor/esm/vs/basic-languages/java/java.contribution.js";
import "monaco-editor/esm/vs/basic-languages/cpp/cpp.contribution.js";
import "monaco-editor/esm/vs/basic-languages/go/go.contribution.js";
import EditorWorker from "monaco-editor/esm/vs/editor/editor.worker.js?worker";

(self as unknown as { MonacoEnvironment: object }).MonacoEnvironment = {
  getWorker: () => new EditorWorker(),
};

export { monaco };
