import { describe, expect, it } from "vitest";
import { cssString, remoteCursorCss, remoteMarks, safeColour } from "./cursors";
import type { Presence } from "../room/connection";

const p = (over: Partial<Presence>): Presence => ({ name: "N", colour: "#123456", role: "candidate", member: "m", ...over });

describe("remote cursors", () => {
  it("marks other people's cursors and selections in this file only, clamped", () => {
    const marks = remoteMarks(
      [
        { clientId: 1, local: true, presence: p({ cursor: { file: "a", anchor: 1, head: 1 } }) },
        { clientId: 2, local: false, presence: p({ name: "Bo", cursor: { file: "a", anchor: 9, head: 3 }, selection: { file: "a", anchor: 9, head: 3 } }) },
        { clientId: 3, local: false, presence: p({ cursor: { file: "b", anchor: 0, head: 0 } }) },
        { clientId: 4, local: false, presence: p({ cursor: { file: "a", anchor: 50, head: 50 }, typing: true }) },
      ],
      "a",
      10,
    );
    expect(marks).toEqual([
      { clientId: 2, start: 3, end: 9, head: 3, name: "Bo", colour: "#123456", typing: false },
      { clientId: 4, start: 10, end: 10, head: 10, name: "N", colour: "#123456", typing: true },
    ]);
  });

  it("never lets a name or colour break out of the CSS", () => {
    expect(safeColour("red;}body{display:none")).toBe("#888888");
    expect(safeColour("#e91e63")).toBe("#e91e63");
    expect(cssString('a"}\\b')).toBe('"a\\22 }\\5c b"');
    const css = remoteCursorCss([{ clientId: 7, start: 0, end: 0, head: 0, name: 'x"}*{', colour: "url(x)", typing: true }], "typing…");
    expect(css).toContain('content:"x\\22 }*{ · typing…"');
    expect(css).not.toContain("url(");
  });
});
