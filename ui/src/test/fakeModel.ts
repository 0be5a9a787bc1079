/**
 * A stand-in for Monaco's text model with the same position arithmetic (1-based lines and
 * columns, columns in UTF-16 units) and change events (offsets against the text before the
 * edit), so the binding is tested without a browser.
 */
import type { ContentChange, IPosition, IRange, ModelLike } from "../editor/binding";

export class FakeModel implements ModelLike {
  private text: string;
  private listeners = new Set<(e: { changes: readonly ContentChange[] }) => void>();
  constructor(text = "") {
    this.text = text;
  }
  getValue() {
    return this.text;
  }
  setValue(v: string) {
    const old = this.text;
    this.text = v;
    this.fire([{ rangeOffset: 0, rangeLength: old.length, text: v }]);
  }
  getPositionAt(offset: number): IPosition {
    const o = Math.max(0, Math.min(offset, this.text.length));
    const before = this.text.slice(0, o);
    const lines = before.split("\n");
    return { lineNumber: lines.length, column: lines[lines.length - 1].length + 1 };
  }
  getOffsetAt(p: IPosition): number {
    const lines = this.text.split("\n");
    let off = 0;
    for (let i = 0; i < p.lineNumber - 1; i++) off += lines[i].length + 1;
    return off + p.column - 1;
  }
  private rangeOffsets(r: IRange) {
    const s = this.getOffsetAt({ lineNumber: r.startLineNumber, column: r.startColumn });
    const e = this.getOffsetAt({ lineNumber: r.endLineNumber, column: r.endColumn });
    return [s, e] as const;
  }
  /** Edits from the program (the binding): applied in order, reported as one event. */
  applyEdits(ops: { range: IRange; text: string }[]) {
    const changes: ContentChange[] = [];
    for (const op of ops) {
      const [s, e] = this.rangeOffsets(op.range);
      this.text = this.text.slice(0, s) + op.text + this.text.slice(e);
      changes.push({ rangeOffset: s, rangeLength: e - s, text: op.text });
    }
    this.fire(changes);
  }
  /**
   * A user's edit, possibly multi-cursor: every change is given against the text before the edit
   * (as Monaco reports them) and they must not overlap.
   */
  type(changes: ContentChange[]) {
    const sorted = [...changes].sort((a, b) => b.rangeOffset - a.rangeOffset);
    for (const c of sorted) this.text = this.text.slice(0, c.rangeOffset) + c.text + this.text.slice(c.rangeOffset + c.rangeLength);
    this.fire(changes);
  }
  onDidChangeContent(cb: (e: { changes: readonly ContentChange[] }) => void) {
    this.listeners.add(cb);
    return { dispose: () => this.listeners.delete(cb) };
  }
  private fire(changes: ContentChange[]) {
    for (const l of [...this.listeners]) l({ changes });
  }
}
