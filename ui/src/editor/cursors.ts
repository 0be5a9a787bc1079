/**
 * Remote cursors and selections as Monaco decorations, computed from presence.
 *
 * Pure functions (no Monaco import) so they are testable: the editor component turns the
 * returned offsets into ranges and the CSS into one <style> element.
 */
import type { Presence } from "../room/connection";

export interface RemoteMark {
  clientId: number;
  /** Selection (may be empty) in UTF-16 offsets, start ≤ end. */
  start: number;
  end: number;
  head: number;
  name: string;
  colour: string;
  typing: boolean;
}

export function remoteMarks(
  people: { clientId: number; presence: Presence; local: boolean }[],
  file: string,
  length: number,
): RemoteMark[] {
  const out: RemoteMark[] = [];
  for (const { clientId, presence, local } of people) {
    if (local) continue;
    const c = presence.selection ?? presence.cursor;
    if (!c || c.file !== file) continue;
    const clamp = (n: number) => Math.max(0, Math.min(length, n | 0));
    const anchor = clamp(c.anchor);
    const head = clamp(c.head);
    out.push({
      clientId,
      start: Math.min(anchor, head),
      end: Math.max(anchor, head),
      head,
      name: presence.name,
      colour: presence.colour,
      typing: !!presence.typing,
    });
  }
  return out;
}

/** Only hex and rgb()/hsl() colours reach CSS: presence is written by other people. */
export function safeColour(c: string): string {
  return /^#[0-9a-fA-F]{3,8}$/.test(c) || /^(rgb|hsl)a?\([\d\s.,%]+\)$/.test(c) ? c : "#888888";
}

/** A CSS string literal for a name: quotes, backslashes and control characters escaped. */
export function cssString(s: string): string {
  return `"${[...s.slice(0, 40)].map((ch) => (/["\\\n\r\f\u0000-\u001f]/.test(ch) ? `\\${ch.charCodeAt(0).toString(16)} ` : ch)).join("")}"`;
}

export function remoteCursorCss(marks: RemoteMark[], typingLabel: string): string {
  return marks
    .map((m) => {
      const colour = safeColour(m.colour);
      const label = cssString(m.typing ? `${m.name} · ${typingLabel}` : m.name);
      return [
        `.tandem-sel-${m.clientId}{background:${colour}33;}`,
        `.tandem-cur-${m.clientId}{border-left:2px solid ${colour};margin-left:-1px;}`,
        `.tandem-cur-${m.clientId}::after{content:${label};position:absolute;transform:translateY(-100%);background:${colour};color:#fff;font:11px/1.4 system-ui,sans-serif;padding:0 4px;border-radius:3px 3px 3px 0;white-space:nowrap;pointer-events:none;z-index:10;}`,
      ].join("");
    })
    .join("\n");
}
