// @vitest-environment node
/**
 * The browser transport against the stand-in relay (e2e/relay.mjs) on loopback, which speaks
 * y-websocket plus the proposed Tandem message types (docs/ui.md). It shows the stock provider
 * joins with an invite, is refused without one, converges, and carries runs, policy and role
 * changes on the same socket.
 */
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket as WsClient } from "ws";
import { startRelay } from "../../e2e/relay.mjs";
import * as Y from "yjs";
import { WebsocketRoom } from "./websocket";
import type { RoomRunMessage } from "./connection";

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 1500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
};

const rooms: WebsocketRoom[] = [];
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  rooms.splice(0).forEach((r) => r.destroy());
  for (const c of closers.splice(0)) await c();
});

function join(base: string, invite: string) {
  const r = new WebsocketRoom({ roomId: "room-1", invite, baseUrl: base, disableBc: true, WebSocketPolyfill: WsClient as unknown as typeof WebSocket });
  rooms.push(r);
  return r;
}

describe("WebsocketRoom", () => {
  it("joins with an invite, converges, and streams a run to both", async () => {
    const relay = await startRelay({ dist: "/nonexistent" });
    closers.push(relay.close);
    const a = join(relay.url, "candidate");
    const b = join(relay.url, "candidate");
    await until(() => a.getState() === "relayed" && b.getState() === "relayed");
    await until(() => a.getPolicy().you !== "" && b.getPolicy().you !== "");
    expect(a.getPolicy().members.map((m) => m.role)).toEqual(["candidate", "candidate"]);

    a.fileText("main.py").insert(0, "print('😀')\n");
    b.fileText("main.py").insert(0, "# b\n");
    await until(() => a.fileText("main.py").toString() === b.fileText("main.py").toString() && a.fileText("main.py").length === 16);
    // Read the relay's copy through a fresh doc: y-protocols may load a second (CJS) Yjs under
    // Node, whose types the ESM instance's getText would not recognise.
    const relayCopy = new Y.Doc();
    Y.applyUpdate(relayCopy, Y.encodeStateAsUpdate(relay.rooms.get("room-1")!.doc));
    expect(relayCopy.getText("file:main.py").toString()).toBe(a.fileText("main.py").toString());

    const seenA: RoomRunMessage[] = [];
    const seenB: RoomRunMessage[] = [];
    a.onRun((m) => seenA.push(m));
    b.onRun((m) => seenB.push(m));
    const id = a.requestRun({ language: "python", files: [{ name: "main.py", content: "x" }], stdin: "hi" });
    await until(() => seenB.length === 6 && seenA.length === 6);
    expect(seenA[0]).toMatchObject({ type: "run_accepted", request_id: id });
    expect(seenB.map((m) => m.type)).toEqual(["run_accepted", "queued", "started", "output", "phase_finished", "finished"]);
    expect(seenB[3]).toMatchObject({ type: "output", seq: 0, data: "hi\n" });
  });

  it("is refused without a valid invite and stops reconnecting", async () => {
    const relay = await startRelay({ dist: "/nonexistent" });
    closers.push(relay.close);
    const r = join(relay.url, "bad");
    await until(() => r.getState() === "refused");
    await new Promise((res) => setTimeout(res, 300));
    expect(r.getState()).toBe("refused");
  });
});

describe("WebsocketRoom roles", () => {
  it("carries interviewer actions and enforces read-only and spectators at the relay", async () => {
    const relay = await startRelay({ dist: "/nonexistent" });
    closers.push(relay.close);
    const iv = join(relay.url, "interviewer");
    const cand = join(relay.url, "candidate");
    const spec = join(relay.url, "spectator");
    await until(() => [iv, cand, spec].every((r) => r.getState() === "relayed" && r.getPolicy().members.length === 3));
    iv.fileText("main.py").insert(0, "x = 1\n");
    await until(() => cand.fileText("main.py").toString() === "x = 1\n");

    iv.setReadOnly(cand.getPolicy().you, true);
    await until(() => cand.getPolicy().members.some((m) => m.member === cand.getPolicy().you && m.read_only));
    cand.fileText("main.py").insert(0, "# refused\n");
    spec.fileText("main.py").insert(0, "# refused too\n");
    iv.fileText("main.py").insert(6, "y = 2\n");
    await until(() => spec.fileText("main.py").toString().includes("y = 2"));
    const copy = new Y.Doc();
    Y.applyUpdate(copy, Y.encodeStateAsUpdate(relay.rooms.get("room-1")!.doc));
    expect(copy.getText("file:main.py").toString()).toBe("x = 1\ny = 2\n");

    const got: RoomRunMessage[] = [];
    spec.onRun((m) => got.push(m));
    spec.requestRun({ language: "python", files: [{ content: "" }] });
    await until(() => got.length === 1);
    expect(got[0]).toMatchObject({ type: "run_rejected" });

    iv.revoke(cand.getPolicy().you);
    await until(() => cand.getState() === "refused");
  });
});
