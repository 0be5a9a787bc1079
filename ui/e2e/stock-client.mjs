// A STOCK y-websocket client (y-websocket's WebsocketProvider + yjs from ui/node_modules, no
// Tandem code), driven by JSON lines on stdin, one JSON reply per line on stdout. The Rust
// cross-process tests (tests/tests/web.rs) use it to check that any Yjs client can join a room
// through `tandem-relay` with an invite, and is refused without one.
//
//   {"cmd":"connect","url":"ws://127.0.0.1:3340/yjs","room":"<id>","invite":"<token>"}
//   {"cmd":"wait_status","status":"connected"}      or "closed" → {"code":4401,"reason":"…"}
//   {"cmd":"insert","file":"main.py","pos":0,"text":"x"}   {"cmd":"text","file":"main.py"}
//   {"cmd":"wait_text","file":"main.py","text":"x"}        {"cmd":"raw","hex":"00ff"}
//   {"cmd":"awareness","state":{…}}  {"cmd":"states"}  {"cmd":"policy"}  {"cmd":"quit"}
import { createInterface } from "node:readline";
import * as Y from "yjs";
import { WebsocketProvider } from "y-websocket";
import { WebSocket } from "ws";
import * as decoding from "lib0/decoding";

let doc = null;
let provider = null;
let status = "idle";
let closed = null;
let policy = null;
const controls = [];
const runs = [];

const out = (v) => process.stdout.write(JSON.stringify(v) + "\n");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(cond, ms = 20000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out");
    await sleep(10);
  }
}

const handlers = {
  async connect(m) {
    doc = new Y.Doc();
    const params = { invite: m.invite ?? "" };
    if (m.client) params.client = m.client;
    if (m.invite === undefined) delete params.invite;
    provider = new WebsocketProvider(m.url, m.room, doc, { params, WebSocketPolyfill: WebSocket, disableBc: true });
    // Tandem's messages (100 runs, 101 control) are read only when asked to: a plain client
    // ignores them.
    if (m.tandem) {
      provider.messageHandlers[101] = (_enc, dec) => {
        const m = JSON.parse(decoding.readVarString(dec));
        controls.push(m);
        if (m.type === "policy") policy = m;
      };
      provider.messageHandlers[100] = (_enc, dec) => {
        runs.push(JSON.parse(decoding.readVarString(dec)));
      };
    }
    provider.on("status", ({ status: s }) => (status = s));
    provider.on("connection-close", (e) => {
      if (e) closed = { code: e.code, reason: e.reason };
      if (e && e.code >= 4400 && e.code < 4500) provider.shouldConnect = false;
    });
    return {};
  },
  async wait_status(m) {
    if (m.status === "closed") {
      await until(() => closed !== null, m.timeout_ms);
      return closed;
    }
    await until(() => status === m.status && provider.synced, m.timeout_ms);
    return {};
  },
  async insert(m) {
    doc.getText("file:" + m.file).insert(m.pos, m.text);
    return {};
  },
  async delete(m) {
    doc.getText("file:" + m.file).delete(m.pos, m.len);
    return {};
  },
  async text(m) {
    return { text: doc.getText("file:" + m.file).toString() };
  },
  async wait_text(m) {
    await until(() => doc.getText("file:" + m.file).toString() === m.text, m.timeout_ms).catch(() => {
      throw new Error(`text is ${JSON.stringify(doc.getText("file:" + m.file).toString())}`);
    });
    return {};
  },
  async raw(m) {
    provider.ws.send(Buffer.from(m.hex, "hex"));
    return {};
  },
  async awareness(m) {
    provider.awareness.setLocalState(m.state);
    return { client_id: doc.clientID };
  },
  async states() {
    return { states: [...provider.awareness.getStates().entries()].map(([id, s]) => ({ id, ...s })) };
  },
  async policy() {
    return { policy };
  },
  async controls() {
    return { controls };
  },
  async runs() {
    return { runs };
  },
  async status() {
    return { status, closed, connected: provider?.wsconnected ?? false };
  },
  async disconnect() {
    // Vanish without a goodbye (no close frame) once what was typed has left this process.
    await until(() => !provider.ws || provider.ws.bufferedAmount === 0);
    await sleep(300);
    provider.ws?._socket?.destroy();
    provider.shouldConnect = false;
    return {};
  },
  async quit() {
    provider?.destroy();
    setTimeout(() => process.exit(0), 50);
    return {};
  },
};

const rl = createInterface({ input: process.stdin });
out({ event: "ready" });
// One command at a time, in order.
let chain = Promise.resolve();
rl.on("line", (line) => {
  chain = chain.then(async () => {
    let m;
    try {
      m = JSON.parse(line);
      const h = handlers[m.cmd];
      if (!h) throw new Error(`unknown command ${m.cmd}`);
      out({ ok: true, ...(await h(m)) });
    } catch (e) {
      out({ ok: false, error: String(e?.message ?? e) });
    }
  });
});
rl.on("close", () => chain.then(() => process.exit(0)));
