/**
 * The desktop transport against a stand-in for the Rust peer that speaks the same y-protocols
 * messages (the real peer is exercised by the tauri-driver e2e test, desktop/e2e/).
 */
import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import * as encoding from "lib0/encoding";
import * as decoding from "lib0/decoding";
import { fromBase64, toBase64 } from "lib0/buffer";
import * as syncProtocol from "y-protocols/sync";
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate } from "y-protocols/awareness";
import { TauriRoom, type Ipc, type RoomEvent } from "./tauri";
import { updatePresence } from "./connection";

/** One "peer" doc shared by every session, like the Rust Room. */
function fakePeer() {
  const doc = new Y.Doc();
  const awareness = new Awareness(doc);
  const sessions = new Map<number, (e: RoomEvent) => void>();
  const sentAwarenessClients: number[][] = [];
  let next = 1;
  const push = (bytes: Uint8Array, except?: number) => {
    for (const [id, cb] of sessions) if (id !== except) cb({ type: "message", data: toBase64(bytes) });
  };
  doc.on("update", (u: Uint8Array, origin: unknown) => {
    const enc = encoding.createEncoder();
    encoding.writeVarUint(enc, 0);
    syncProtocol.writeUpdate(enc, u);
    push(encoding.toUint8Array(enc), origin as number);
  });
  const ipc: Ipc = {
    async openRoom(_roomId, onEvent) {
      const session = next++;
      sessions.set(session, onEvent);
      const enc = encoding.createEncoder();
      encoding.writeVarUint(enc, 0);
      syncProtocol.writeSyncStep1(enc, doc);
      queueMicrotask(() => onEvent({ type: "message", data: toBase64(encoding.toUint8Array(enc)) }));
      return { session, room_id: "ab".repeat(16), policy: { you: "me", members: [] }, state: "direct" };
    },
    async invoke<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
      const session = args?.session as number;
      if (cmd === "room_send") {
        const dec = decoding.createDecoder(fromBase64(args!.data as string));
        const type = decoding.readVarUint(dec);
        if (type === 0) {
          const enc = encoding.createEncoder();
          encoding.writeVarUint(enc, 0);
          syncProtocol.readSyncMessage(dec, enc, doc, session);
          if (encoding.length(enc) > 1) sessions.get(session)!({ type: "message", data: toBase64(encoding.toUint8Array(enc)) });
        } else if (type === 1) {
          const update = decoding.readVarUint8Array(dec);
          // The awareness update format: count, then (client id, clock, JSON state) each.
          const d = decoding.createDecoder(update);
          const ids: number[] = [];
          for (let n = decoding.readVarUint(d); n > 0; n--) {
            ids.push(decoding.readVarUint(d));
            decoding.readVarUint(d);
            decoding.readVarString(d);
          }
          sentAwarenessClients.push(ids);
          applyAwarenessUpdate(awareness, update, session);
          const enc = encoding.createEncoder();
          encoding.writeVarUint(enc, 1);
          encoding.writeVarUint8Array(enc, update);
          push(encoding.toUint8Array(enc), session);
        }
        return undefined as T;
      }
      if (cmd === "request_run") throw "runs are not available in this build yet";
      if (cmd === "create_invite") return `tandem://join/${args!.role}` as T;
      if (cmd === "close_room") {
        sessions.delete(session);
        return undefined as T;
      }
      throw new Error(`unexpected ${cmd}`);
    },
  };
  return { doc, ipc, sentAwarenessClients };
}

const tick = () => new Promise((r) => setTimeout(r, 10));

describe("TauriRoom", () => {
  it("syncs edits both ways and catches a late opener up", async () => {
    const peer = fakePeer();
    peer.doc.getText("file:main.py").insert(0, "print(1)\n");
    const a = await TauriRoom.open("x", peer.ipc);
    await tick();
    expect(a.fileText("main.py").toString()).toBe("print(1)\n");
    a.fileText("main.py").insert(0, "# hi\n");
    await tick();
    expect(peer.doc.getText("file:main.py").toString()).toBe("# hi\nprint(1)\n");
    const b = await TauriRoom.open("x", peer.ipc);
    await tick();
    expect(b.fileText("main.py").toString()).toBe("# hi\nprint(1)\n");
    b.fileText("main.py").insert(0, "B");
    await tick();
    expect(a.fileText("main.py").toString()).toBe("B# hi\nprint(1)\n");
    a.destroy();
    b.destroy();
  });

  it("sends only its own presence, and shows others'", async () => {
    const peer = fakePeer();
    const a = await TauriRoom.open("x", peer.ipc);
    const b = await TauriRoom.open("x", peer.ipc);
    updatePresence(a.awareness, { name: "Ada", colour: "#e91e63", role: "interviewer", member: "m1" });
    await tick();
    updatePresence(b.awareness, { name: "Bo", colour: "#3f51b5", role: "candidate", member: "m2" });
    await tick();
    expect(b.awareness.getStates().get(a.awareness.clientID)).toMatchObject({ name: "Ada" });
    expect(a.awareness.getStates().get(b.awareness.clientID)).toMatchObject({ name: "Bo" });
    expect(peer.sentAwarenessClients.length).toBeGreaterThan(0);
    for (const clients of peer.sentAwarenessClients) {
      expect(clients.length === 1 && [a.awareness.clientID, b.awareness.clientID].includes(clients[0])).toBe(true);
    }
    a.destroy();
    b.destroy();
  });

  it("reports a refused run request as run_rejected and mints invites through the peer", async () => {
    const peer = fakePeer();
    const a = await TauriRoom.open("x", peer.ipc);
    const seen: unknown[] = [];
    a.onRun((m) => seen.push(m));
    const id = a.requestRun({ language: "python", files: [], main: "main.py" } as never);
    await tick();
    expect(seen).toEqual([{ type: "run_rejected", request_id: id, message: "runs are not available in this build yet" }]);
    expect(await a.createInvite("candidate")).toBe("tandem://join/candidate");
    a.destroy();
  });

  it("ignores a message it cannot decode without breaking later ones", async () => {
    const peer = fakePeer();
    const a = await TauriRoom.open("x", peer.ipc);
    await tick();
    const enc = encoding.createEncoder();
    encoding.writeVarUint(enc, 1);
    encoding.writeVarUint8Array(enc, encodeAwarenessUpdate(new Awareness(new Y.Doc()), []));
    expect(() => (a as unknown as { onMessage(b: Uint8Array): void }).onMessage(encoding.toUint8Array(enc))).not.toThrow();
    peer.doc.getText("file:x").insert(0, "ok");
    await tick();
    expect(a.fileText("x").toString()).toBe("ok");
    a.destroy();
  });
});
