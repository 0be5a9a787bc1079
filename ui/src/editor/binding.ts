/**
 * Binds a Yjs `Y.Text` to a Monaco text model, both ways.
 *
 * Why our own binding rather than `y-monaco`: y-monaco 0.1.6 breaks on monaco-editor ≥ 0.56,
 * and this is also where remote cursors are drawn, which we want in our own terms (the
 * `Presence` JSON the Rust peers publish, plain UTF-16 offsets). Offsets need no conversion:
 * Yjs and Monaco both count UTF-16 code units, so a surrogate pair is 2 in both.
 *
 * The model is typed structurally (`ModelLike`) so tests can drive the binding with a small fake
 * instead of a browser-only Monaco.
 */
import * as Y from "yjs";

export interface IPosition {
  lineNumber: number;
  column: number;
}
export interface IRange {
  startLineNumber: number;
  startColumn: number;
  endLineNumber: number;
  endColumn: number;
}
export interface ContentChange {
  rangeOffset: number;
  rangeLength: number;
  text: string;
}
export interface Disposable {
  dispose(): void;
}
/** The subset of `monaco.editor.ITextModel` the binding uses. */
export interface ModelLike {
  getValue(): string;
  setValue(value: string): void;
  getPositionAt(offset: number): IPosition;
  applyEdits(ops: { range: IRange; text: string }[]): unknown;
  onDidChangeContent(cb: (e: { changes: readonly ContentChange[] }) => void): Disposable;
}

function rangeAt(model: ModelLike, start: number, end: number): IRange {
  const a = model.getPositionAt(start);
  const b = model.getPositionAt(end);
  return { startLineNumber: a.lineNumber, startColumn: a.column, endLineNumber: b.lineNumber, endColumn: b.column };
}

export class TextBinding {
  /** True while one side is being updated from the other, so the echo is ignored. */
  private muting = false;
  private readonly sub: Disposable;
  private readonly observer: (e: Y.YTextEvent) => void;
  readonly ytext: Y.Text;
  readonly model: ModelLike;
  readonly origin: object;
  /** Called after each local edit: drives the typing indicator. */
  onLocalEdit?: () => void;

  constructor(ytext: Y.Text, model: ModelLike, origin: object) {
    this.ytext = ytext;
    this.model = model;
    this.origin = origin;
    this.mute(() => {
      if (model.getValue() !== ytext.toString()) model.setValue(ytext.toString());
    });

    // Remote (and undo/redo) changes → model. Deltas are applied one at a time so each offset is
    // read against the model as it stands after the previous operation.
    this.observer = (event) => {
      if (this.muting) return;
      this.mute(() => {
        let index = 0;
        for (const op of event.delta) {
          if (op.retain !== undefined) {
            index += op.retain;
          } else if (op.insert !== undefined) {
            const text = typeof op.insert === "string" ? op.insert : "";
            model.applyEdits([{ range: rangeAt(model, index, index), text }]);
            index += text.length;
          } else if (op.delete !== undefined) {
            model.applyEdits([{ range: rangeAt(model, index, index + op.delete), text: "" }]);
          }
        }
      });
    };
    ytext.observe(this.observer);

    // Local changes → Y.Text, in one transaction with our origin (what the undo manager tracks).
    // Monaco reports a multi-cursor edit's changes against the text before the edit, so they are
    // applied from the end backwards to keep earlier offsets valid.
    this.sub = model.onDidChangeContent((e) => {
      if (this.muting) return;
      this.mute(() => {
        const doc = ytext.doc;
        const apply = () => {
          const changes = [...e.changes].sort((x, y) => y.rangeOffset - x.rangeOffset);
          for (const c of changes) {
            if (c.rangeLength > 0) ytext.delete(c.rangeOffset, c.rangeLength);
            if (c.text) ytext.insert(c.rangeOffset, c.text);
          }
        };
        if (doc) doc.transact(apply, origin);
        else apply();
      });
      this.onLocalEdit?.();
    });
  }

  private mute(f: () => void) {
    const prev = this.muting;
    this.muting = true;
    try {
      f();
    } finally {
      this.muting = prev;
    }
  }

  destroy() {
    this.ytext.unobserve(this.observer);
    this.sub.dispose();
  }
}

/**
 * A per-user undo manager: it tracks only transactions with our origin, so undo reverts my
 * edits and never yours, even when they interleave.
 */
export function createUndoManager(ytext: Y.Text, origin: object): Y.UndoManager {
  return new Y.UndoManager(ytext, { trackedOrigins: new Set([origin]), captureTimeout: 400 });
}
