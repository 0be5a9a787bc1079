import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import { TextBinding, createUndoManager } from "./binding";
import { FakeModel } from "../test/fakeModel";
import { MemoryHub } from "../room/memory";

/** Two docs that exchange updates only when `flush` is called: concurrency on demand. */
function pair() {
  const a = new Y.Doc();
  const b = new Y.Doc();
  const qa: Uint8Array[] = [];
  const qb: Uint8Array[] = [];
  a.on("update", (u: Uint8Array, o: unknown) => o !== "remote" && qa.push(u));
  b.on("update", (u: Uint8Array, o: unknown) => o !== "remote" && qb.push(u));
  const flush = () => {
    qa.splice(0).forEach((u) => Y.applyUpdate(b, u, "remote"));
    qb.splice(0).forEach((u) => Y.applyUpdate(a, u, "remote"));
  };
  return { a, b, flush };
}

describe("TextBinding", () => {
  it("loads the shared text into the model", () => {
    const doc = new Y.Doc();
    doc.getText("file:main.py").insert(0, "print(1)\n");
    const m = new FakeModel();
    new TextBinding(doc.getText("file:main.py"), m, {});
    expect(m.getValue()).toBe("print(1)\n");
  });

  it("converges two editors under concurrent edits, non-BMP characters included", () => {
    const { a, b, flush } = pair();
    const oa = {};
    const ob = {};
    const ma = new FakeModel();
    const mb = new FakeModel();
    new TextBinding(a.getText("file:x"), ma, oa);
    new TextBinding(b.getText("file:x"), mb, ob);
    ma.type([{ rangeOffset: 0, rangeLength: 0, text: "def f():\n    return '😀'\n" }]);
    flush();
    expect(mb.getValue()).toBe(ma.getValue());

    // Concurrent: A inserts after the emoji (offset counts its 2 UTF-16 units), B edits line 1
    // and adds an astral character at the end, A deletes the emoji.
    const emoji = ma.getValue().indexOf("😀");
    ma.type([{ rangeOffset: emoji + 2, rangeLength: 0, text: "𝄞x" }]);
    mb.type([
      { rangeOffset: 4, rangeLength: 1, text: "g" },
      { rangeOffset: mb.getValue().length, rangeLength: 0, text: "# 🎉 done\n" },
    ]);
    ma.type([{ rangeOffset: emoji, rangeLength: 2, text: "" }]);
    flush();
    flush();
    expect(ma.getValue()).toBe(mb.getValue());
    expect(ma.getValue()).toBe(a.getText("file:x").toString());
    expect(ma.getValue()).toBe("def g():\n    return '𝄞x'\n# 🎉 done\n");
  });

  it("applies multi-cursor changes reported against the old text", () => {
    const doc = new Y.Doc();
    const t = doc.getText("file:x");
    const m = new FakeModel();
    new TextBinding(t, m, {});
    m.type([{ rangeOffset: 0, rangeLength: 0, text: "a\nb\nc" }]);
    m.type([
      { rangeOffset: 0, rangeLength: 0, text: "- " },
      { rangeOffset: 2, rangeLength: 0, text: "- " },
      { rangeOffset: 4, rangeLength: 0, text: "- " },
    ]);
    expect(t.toString()).toBe("- a\n- b\n- c");
    expect(m.getValue()).toBe(t.toString());
  });

  it("a random concurrent session converges", () => {
    const { a, b, flush } = pair();
    const ma = new FakeModel();
    const mb = new FakeModel();
    new TextBinding(a.getText("f"), ma, {});
    new TextBinding(b.getText("f"), mb, {});
    let seed = 42;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % Math.max(1, n));
    const pieces = ["a", "bc", "\n", "é", "😀", "日本"];
    for (let round = 0; round < 200; round++) {
      for (const m of [ma, mb]) {
        const v = m.getValue();
        // Never split a surrogate pair: editors move by code point.
        const cps = [...v];
        const at = rnd(cps.length + 1);
        const off = cps.slice(0, at).join("").length;
        if (rnd(3) === 0 && at < cps.length) m.type([{ rangeOffset: off, rangeLength: cps[at].length, text: "" }]);
        else m.type([{ rangeOffset: off, rangeLength: 0, text: pieces[rnd(pieces.length)] }]);
      }
      if (rnd(4) === 0) flush();
    }
    flush();
    expect(ma.getValue()).toBe(mb.getValue());
    expect(ma.getValue()).toBe(a.getText("f").toString());
  });
});

describe("per-user undo", () => {
  it("undoes only my edits, never yours", async () => {
    const hub = new MemoryHub();
    const alice = hub.join({ name: "Alice", colour: "#e91e63", role: "interviewer" });
    const bob = hub.join({ name: "Bob", colour: "#3f51b5", role: "candidate" });
    const ma = new FakeModel();
    const mb = new FakeModel();
    new TextBinding(alice.fileText("main.py"), ma, alice.localOrigin);
    new TextBinding(bob.fileText("main.py"), mb, bob.localOrigin);
    const undoA = createUndoManager(alice.fileText("main.py"), alice.localOrigin);

    ma.type([{ rangeOffset: 0, rangeLength: 0, text: "alice\n" }]);
    undoA.stopCapturing();
    mb.type([{ rangeOffset: mb.getValue().length, rangeLength: 0, text: "bob\n" }]);
    ma.type([{ rangeOffset: 0, rangeLength: 0, text: "A2 " }]);
    expect(mb.getValue()).toBe("A2 alice\nbob\n");

    undoA.undo();
    expect(ma.getValue()).toBe("alice\nbob\n");
    undoA.undo();
    expect(ma.getValue()).toBe("bob\n");
    expect(mb.getValue()).toBe("bob\n");
    expect(undoA.canUndo()).toBe(false);

    undoA.redo();
    expect(mb.getValue()).toBe("alice\nbob\n");
  });
});
