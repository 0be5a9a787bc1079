// A stand-in relay: a test fixture, NOT the relay. It serves ui/dist and speaks y-websocket at
// /yjs/<room-id>?invite=<token> plus Tandem's message types (100 tandem-run, 101
// tandem-control, docs/ui.md) from one in-memory Y.Doc: no peers, no signatures, no persistence.
// Two uses only: the unit tests of the browser transport (src/room/websocket.test.ts), which
// need a server on loopback without the Rust build; and the baseline that e2e/web.mjs measures
// keystroke→paint against (the same browsers without peers in between). Everything a user
// meets runs through `tandem-relay`, tested by e2e/web.mjs and tests/tests/web.rs.
//
// Invites are fixed tokens: `interviewer`, `candidate`, `spectator` (role = token). Runs go to a
// real execution node when TANDEM_EXEC_URL is set (its SSE endpoint /api/tandem/v1/runs),
// otherwise to a pretend executor that prints the input's words reversed.
//
//   node e2e/relay.mjs [port]      then open http://127.0.0.1:<port>/room/demo?invite=interviewer
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { WebSocketServer } from "ws";
import * as Y from "yjs";
import * as encoding from "lib0/encoding";
import * as decoding from "lib0/decoding";
import * as syncProtocol from "y-protocols/sync";
import * as awarenessProtocol from "y-protocols/awareness";

const MSG_SYNC = 0;
const MSG_AWARENESS = 1;
const MSG_RUN = 100;
const MSG_CONTROL = 101;
const ROLES = ["interviewer", "candidate", "spectator"];
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".ttf": "font/ttf", ".json": "application/json", ".png": "image/png", ".svg": "image/svg+xml" };

const json = (type, body) => {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, type);
  encoding.writeVarString(e, JSON.stringify(body));
  return encoding.toUint8Array(e);
};

/** Pretend execution: the events a node would stream, with no code run. */
function pretend(request, emit) {
  const words = (request.stdin ?? "").trim().split(/\s+/).filter(Boolean).reverse().join(" ") || "Hello, Tandem!";
  const limits = { wall_ms: 5000, cpu_ms: 3000, memory_bytes: 268435456, output_bytes: 65536 };
  const run = { phase: "run", verdict: "ok", exit_code: 0, signal: null, cpu_ms: 7, wall_ms: 12, memory_bytes: 8388608, stdout: words + "\n", stderr: "", output: words + "\n" };
  const steps = [
    { type: "queued", job_id: "pretend", position: 0 },
    { type: "started", job_id: "pretend", language: request.language, version: "pretend" },
    { type: "output", seq: 0, phase: "run", stream: "stdout", data: words + "\n" },
    { type: "phase_finished", result: run },
    { type: "finished", result: { job_id: "pretend", language: request.language, version: "pretend", verdict: "ok", run, limits: { compile: limits, run: limits, pids: 64, cpu_millis: 1000 }, total_ms: 20 } },
  ];
  steps.forEach((s, i) => setTimeout(() => emit(s), 30 * (i + 1)));
}

/** Real execution: POST to the node and relay its server-sent events one by one. */
async function viaNode(base, request, emit) {
  try {
    const res = await fetch(`${base}/api/tandem/v1/runs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(request) });
    if (!res.ok || !res.body) throw new Error(`execution node answered ${res.status}`);
    const dec = new TextDecoder();
    let buf = "";
    for await (const chunk of res.body) {
      buf += dec.decode(chunk, { stream: true });
      let i;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n");
        if (data) emit(JSON.parse(data));
      }
    }
  } catch (e) {
    emit({ type: "error", message: String(e.message ?? e) });
  }
}

export async function startRelay({ port = 0, dist = resolve(dirname(fileURLToPath(import.meta.url)), "../dist"), execUrl = process.env.TANDEM_EXEC_URL } = {}) {
  const rooms = new Map();
  let nextMember = 1;
  let nextRun = 1;

  function room(id) {
    let r = rooms.get(id);
    if (r) return r;
    const doc = new Y.Doc();
    const awareness = new awarenessProtocol.Awareness(doc);
    awareness.setLocalState(null);
    r = { doc, awareness, conns: new Map() };
    doc.on("update", (update, origin) => {
      const e = encoding.createEncoder();
      encoding.writeVarUint(e, MSG_SYNC);
      syncProtocol.writeUpdate(e, update);
      const b = encoding.toUint8Array(e);
      for (const ws of r.conns.keys()) if (ws !== origin) ws.send(b);
    });
    awareness.on("update", ({ added, updated, removed }, origin) => {
      const changed = [...added, ...updated, ...removed];
      if (origin && r.conns.has(origin)) {
        const c = r.conns.get(origin);
        for (const id of added) c.clients.add(id);
      }
      const e = encoding.createEncoder();
      encoding.writeVarUint(e, MSG_AWARENESS);
      encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(awareness, changed));
      const b = encoding.toUint8Array(e);
      for (const ws of r.conns.keys()) ws.send(b);
    });
    rooms.set(id, r);
    return r;
  }

  const policyFor = (r, you) => ({ type: "policy", you, members: [...r.conns.values()].map((c) => ({ member: c.member, role: c.role, read_only: c.readOnly })) });
  const broadcastPolicy = (r) => {
    for (const [ws, c] of r.conns) ws.send(json(MSG_CONTROL, policyFor(r, c.member)));
  };
  const mayEdit = (c) => c.role !== "spectator" && !c.readOnly;

  const server = createServer(async (req, res) => {
    const url = new URL(req.url, "http://x");
    let path = normalize(decodeURIComponent(url.pathname)).replace(/^(\.\.[/\\])+/, "");
    if (path === "/" || path.startsWith("/room/") || path.startsWith("/r/")) path = "/index.html";
    try {
      const body = await readFile(join(dist, path));
      res.writeHead(200, { "content-type": TYPES[extname(path)] ?? "application/octet-stream" });
      res.end(body);
    } catch {
      res.writeHead(404).end("not found");
    }
  });

  const wss = new WebSocketServer({ noServer: true });
  server.on("upgrade", (req, socket, head) => {
    const url = new URL(req.url, "http://x");
    const m = url.pathname.match(/^\/yjs\/([^/]+)$/);
    if (!m) return socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => {
      const role = url.searchParams.get("invite");
      if (!ROLES.includes(role)) return ws.close(4401, "invalid invite");
      const r = room(decodeURIComponent(m[1]));
      const c = { member: (nextMember++).toString(16).padStart(16, "0"), role, readOnly: false, clients: new Set() };
      r.conns.set(ws, c);
      ws.binaryType = "arraybuffer";
      broadcastPolicy(r);
      const e = encoding.createEncoder();
      encoding.writeVarUint(e, MSG_SYNC);
      syncProtocol.writeSyncStep1(e, r.doc);
      ws.send(encoding.toUint8Array(e));
      const states = [...r.awareness.getStates().keys()];
      if (states.length) {
        const a = encoding.createEncoder();
        encoding.writeVarUint(a, MSG_AWARENESS);
        encoding.writeVarUint8Array(a, awarenessProtocol.encodeAwarenessUpdate(r.awareness, states));
        ws.send(encoding.toUint8Array(a));
      }
      ws.on("message", (data) => {
        const dec = decoding.createDecoder(new Uint8Array(data));
        const type = decoding.readVarUint(dec);
        if (type === MSG_SYNC) {
          const out = encoding.createEncoder();
          encoding.writeVarUint(out, MSG_SYNC);
          const sub = decoding.peekVarUint(dec);
          // Step 1 (0) is a question anyone may ask; step 2 (1) and updates (2) write, so only
          // members who may edit are applied (as the peers enforce it).
          if (sub !== 0 && !mayEdit(c)) return;
          syncProtocol.readSyncMessage(dec, out, r.doc, ws);
          if (encoding.length(out) > 1) ws.send(encoding.toUint8Array(out));
        } else if (type === MSG_AWARENESS) {
          awarenessProtocol.applyAwarenessUpdate(r.awareness, decoding.readVarUint8Array(dec), ws);
        } else if (type === MSG_RUN) {
          const msg = JSON.parse(decoding.readVarString(dec));
          if (msg.type !== "run_request") return;
          if (c.role === "spectator") return ws.send(json(MSG_RUN, { type: "run_rejected", request_id: msg.request_id, message: "spectators cannot run code" }));
          const run_id = `run-${nextRun++}`;
          const state = r.awareness.getStates();
          const name = [...c.clients].map((id) => state.get(id)?.name).find(Boolean) ?? "";
          const all = (body) => {
            const b = json(MSG_RUN, body);
            for (const w of r.conns.keys()) w.send(b);
          };
          all({ type: "run_accepted", run_id, request_id: msg.request_id, by: { member: c.member, name }, kind: msg.kind ?? "run", language: msg.request.language });
          const emit = (ev) => all({ ...ev, run_id });
          if (execUrl) void viaNode(execUrl, msg.request, emit);
          else pretend(msg.request, emit);
        } else if (type === MSG_CONTROL) {
          const msg = JSON.parse(decoding.readVarString(dec));
          if (c.role !== "interviewer") return;
          const target = [...r.conns.entries()].find(([, x]) => x.member === msg.member);
          if (msg.type === "create_invite") {
            return ws.send(json(MSG_CONTROL, { type: "invite_created", request_id: msg.request_id, url: `http://${req.headers.host}/room/${m[1]}?invite=${msg.role}` }));
          }
          if (!target) return;
          if (msg.type === "set_role" && ROLES.includes(msg.role)) target[1].role = msg.role;
          else if (msg.type === "set_read_only") target[1].readOnly = !!msg.read_only;
          else if (msg.type === "revoke") {
            target[0].close(4403, "revoked");
          }
          broadcastPolicy(r);
        }
      });
      ws.on("close", () => {
        r.conns.delete(ws);
        awarenessProtocol.removeAwarenessStates(r.awareness, [...c.clients], null);
        broadcastPolicy(r);
      });
    });
  });

  await new Promise((ok) => server.listen(port, "127.0.0.1", ok));
  const address = server.address();
  return {
    url: `http://127.0.0.1:${address.port}`,
    rooms,
    close: () =>
      new Promise((ok) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close();
        server.close(() => ok());
      }),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await startRelay({ port: Number(process.argv[2] ?? 5174) });
  console.log(`stand-in relay on ${r.url} — open ${r.url}/room/demo?invite=interviewer`);
}
