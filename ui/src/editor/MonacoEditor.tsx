/**
 * The Monaco editor bound to the room: shared text, per-user undo, remote cursors, typing
 * indicator, follow mode, keymaps, and Ctrl/Cmd+Enter to run. Loaded lazily (see EditorPane):
 * Monaco is most of the app's JavaScript, and the rest of the page is useful without it.
 */
import { useEffect, useRef } from "react";
import { useTranslation } from "react-i18next";
import { monaco } from "./monaco";
import { TextBinding, createUndoManager } from "./binding";
import { remoteCursorCss, remoteMarks } from "./cursors";
import { applyKeymap } from "./keymaps";
import { participants, updatePresence, type RoomConnection } from "../room/connection";
import type { Keymap } from "../state/settings";

export interface MonacoEditorProps {
  conn: RoomConnection;
  file: string;
  monacoLanguage: string;
  readOnly: boolean;
  theme: string;
  fontSize: number;
  keymap: Keymap;
  /** Yjs client id of the participant whose cursor the view follows, if any. */
  follow: number | null;
  onRun: () => void;
  onStopFollowing: () => void;
}

const TYPING_MS = 1500;

performance.mark("tandem:monaco-loaded");

export default function MonacoEditor(props: MonacoEditorProps) {
  const { conn, file, monacoLanguage, readOnly, theme, fontSize, keymap, follow } = props;
  const { t } = useTranslation();
  const host = useRef<HTMLDivElement>(null);
  const status = useRef<HTMLDivElement>(null);
  const editorRef = useRef<monaco.editor.IStandaloneCodeEditor | null>(null);
  // Callbacks change every render; the editor's commands read the latest through refs.
  const onRun = useRef(props.onRun);
  onRun.current = props.onRun;
  const onStop = useRef(props.onStopFollowing);
  onStop.current = props.onStopFollowing;
  const followRef = useRef(follow);
  followRef.current = follow;
  const typingLabel = useRef(t("participants.typing"));
  typingLabel.current = t("participants.typing");

  // One editor for the component's life.
  useEffect(() => {
    const ed = monaco.editor.create(host.current!, {
      automaticLayout: true,
      minimap: { enabled: false },
      scrollBeyondLastLine: false,
      tabSize: 4,
      ariaLabel: t("editor.label"),
      fixedOverflowWidgets: true,
    });
    editorRef.current = ed;
    performance.mark("tandem:editor-created");
    ed.addCommand(monaco.KeyMod.CtrlCmd | monaco.KeyCode.Enter, () => onRun.current());
    return () => {
      ed.getModel()?.dispose();
      ed.dispose();
      editorRef.current = null;
    };
  }, []);

  // Model + binding per file.
  useEffect(() => {
    const ed = editorRef.current!;
    const ytext = conn.fileText(file);
    const model = monaco.editor.createModel(ytext.toString(), monacoLanguage);
    model.setEOL(monaco.editor.EndOfLineSequence.LF);
    const old = ed.getModel();
    ed.setModel(model);
    old?.dispose();

    const binding = new TextBinding(ytext, model, conn.localOrigin);
    const undo = createUndoManager(ytext, conn.localOrigin);
    // Monaco's own undo stack would undo remote edits too; route undo/redo to the per-user one.
    const cmds = [
      ed.addAction({ id: "tandem.undo", label: "Undo", keybindings: [monaco.KeyMod.CtrlCmd | monaco.KeyCode.KeyZ], run: () => void undo.undo() }),
      ed.addAction({
        id: "tandem.redo",
        label: "Redo",
        keybindings: [monaco.KeyMod.CtrlCmd | monaco.KeyMod.Shift | monaco.KeyCode.KeyZ, monaco.KeyMod.CtrlCmd | monaco.KeyCode.KeyY],
        run: () => void undo.redo(),
      }),
    ];

    let typingTimer: ReturnType<typeof setTimeout> | undefined;
    binding.onLocalEdit = () => {
      updatePresence(conn.awareness, { typing: true });
      clearTimeout(typingTimer);
      typingTimer = setTimeout(() => updatePresence(conn.awareness, { typing: false }), TYPING_MS);
    };

    const selSub = ed.onDidChangeCursorSelection((e) => {
      const anchor = model.getOffsetAt(e.selection.getSelectionStart());
      const head = model.getOffsetAt(e.selection.getPosition());
      const cursor = { file, anchor, head };
      updatePresence(conn.awareness, { cursor, selection: anchor === head ? null : cursor });
    });

    // Remote cursors: decorations plus one <style> with each person's colour and name.
    const style = document.createElement("style");
    document.head.appendChild(style);
    const decorations = ed.createDecorationsCollection();
    const paint = () => {
      const people = participants(conn.awareness);
      const marks = remoteMarks(people, file, model.getValueLength());
      style.textContent = remoteCursorCss(marks, typingLabel.current);
      decorations.set(
        marks.flatMap((m) => {
          const s = model.getPositionAt(m.start);
          const e = model.getPositionAt(m.end);
          const h = model.getPositionAt(m.head);
          const out: monaco.editor.IModelDeltaDecoration[] = [
            {
              range: new monaco.Range(h.lineNumber, h.column, h.lineNumber, h.column),
              options: { beforeContentClassName: `tandem-cur-${m.clientId}`, hoverMessage: { value: m.name }, stickiness: 1 },
            },
          ];
          if (m.end > m.start) {
            out.push({ range: new monaco.Range(s.lineNumber, s.column, e.lineNumber, e.column), options: { className: `tandem-sel-${m.clientId}` } });
          }
          return out;
        }),
      );
      const f = followRef.current;
      const target = f === null ? undefined : marks.find((m) => m.clientId === f);
      if (target) ed.revealPositionInCenterIfOutsideViewport(model.getPositionAt(target.head));
    };
    paint();
    conn.awareness.on("change", paint);
    ytext.observe(paint);

    return () => {
      clearTimeout(typingTimer);
      conn.awareness.off("change", paint);
      ytext.unobserve(paint);
      selSub.dispose();
      cmds.forEach((c) => c.dispose());
      decorations.clear();
      style.remove();
      undo.destroy();
      binding.destroy();
    };
  }, [conn, file, monacoLanguage]);

  useEffect(() => {
    const m = editorRef.current?.getModel();
    if (m) monaco.editor.setModelLanguage(m, monacoLanguage);
    // The model's language as Monaco has it, for tests and assistive tools.
    if (m && host.current) host.current.dataset.language = m.getLanguageId();
  }, [monacoLanguage]);

  useEffect(() => {
    editorRef.current?.updateOptions({ readOnly, fontSize, ariaLabel: t("editor.label") });
  }, [readOnly, fontSize, t]);

  useEffect(() => {
    monaco.editor.setTheme(theme);
  }, [theme]);

  useEffect(() => {
    let dispose = () => {};
    let cancelled = false;
    void applyKeymap(editorRef.current!, keymap, status.current!).then((d) => {
      if (cancelled) d();
      else {
        dispose = d;
        // Lets tests (and curious users' dev tools) see when the chosen keymap is live.
        if (host.current) host.current.dataset.keymap = keymap;
      }
    });
    return () => {
      cancelled = true;
      dispose();
    };
  }, [keymap]);

  return (
    <div className="flex h-full min-h-0 flex-col">
      <div ref={host} className="min-h-0 flex-1" data-testid="monaco-host" />
      <div ref={status} className={keymap === "default" ? "hidden" : "border-t border-zinc-200 px-2 font-mono text-xs dark:border-zinc-700"} aria-live="polite" />
    </div>
  );
}
