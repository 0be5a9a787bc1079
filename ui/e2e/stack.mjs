// The real stack the browser end-to-end scripts (web.mjs, interview.mjs) run against, and their
// cargo-style reporting. Why shared: both need exactly the same processes — `tandem-relay --dev`
// serving ui/dist, a headless `tandem-peer` that created the room (the interviewer whose invites
// the browsers open), and a `tandem-exec` serving that interviewer's rooms — and both must stop
// the execution node gracefully so scripts/test.sh finds no sandbox left behind.
//
// Binaries come from $TANDEM_BIN_DIR, else $CARGO_TARGET_DIR/debug, else ../target/debug.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export const ui = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const shots = resolve(ui, "../docs/screenshots");
mkdirSync(shots, { recursive: true });
const binDir = process.env.TANDEM_BIN_DIR ?? join(process.env.CARGO_TARGET_DIR ?? resolve(ui, "../target"), "debug");

function bin(name) {
  const p = join(binDir, name);
  if (!existsSync(p)) throw new Error(`${p} not found: cargo build -p ${name} (or set TANDEM_BIN_DIR)`);
  return p;
}

/** A child printing JSON lines; `next(pred)` waits for a matching one, `send` is one command. */
function jsonChild(children, cmd, args) {
  const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "inherit"], env: { ...process.env, RUST_LOG: "warn" } });
  children.push(child);
  const queue = [];
  const waiters = [];
  createInterface({ input: child.stdout }).on("line", (line) => {
    let v;
    try {
      v = JSON.parse(line);
    } catch {
      return;
    }
    const w = waiters.findIndex((x) => x.pred(v));
    if (w >= 0) waiters.splice(w, 1)[0].resolve(v);
    else queue.push(v);
  });
  const next = (pred = () => true, ms = 90_000) =>
    new Promise((resolve, reject) => {
      const i = queue.findIndex(pred);
      if (i >= 0) return resolve(queue.splice(i, 1)[0]);
      const t = setTimeout(() => reject(new Error(`timed out waiting on ${cmd}`)), ms);
      waiters.push({ pred, resolve: (v) => (clearTimeout(t), resolve(v)) });
    });
  const send = async (v) => {
    child.stdin.write(JSON.stringify(v) + "\n");
    const r = await next((x) => "ok" in x);
    if (!r.ok) throw new Error(`${v.cmd}: ${r.error}`);
    return r;
  };
  return { child, next, send };
}

/**
 * Starts relay, peer (room creator) and execution node. `tag` names the temp directory.
 * Returns the relay's URL, the room, the peer (`send` commands), the node's ticket (not yet
 * named in the room), `webLink(role)` for invites, and `stop()`.
 */
export async function startStack(tag) {
  const tmp = mkdtempSync(join(tmpdir(), `tandem-e2e-${tag}-`));
  const children = [];
  let exec = null;
  const kill = () => {
    for (const c of children) c.kill(c === exec?.child ? "SIGINT" : "SIGKILL");
    rmSync(tmp, { recursive: true, force: true });
  };
  process.on("exit", kill);
  const relay = jsonChild(children, bin("tandem-relay"), ["--dev", "--http-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--ui-dir", join(ui, "dist"), "--web-data", join(tmp, "relay")]);
  const { relay_url: base } = await relay.next((v) => v.relay_url);
  const peer = jsonChild(children, bin("tandem-peer"), ["--data", join(tmp, "peer"), "--relay", base, "--name", "Pat Peer", "create"]);
  const ready = await peer.next((v) => v.event === "ready");
  // The room's execution node: serves rooms of this interviewer (the peer), no warm pool.
  writeFileSync(join(tmp, "exec.toml"), `node_id = "e2e-${tag}"\npool_floor = 0\npool_ceiling = 0\n`);
  exec = jsonChild(children, bin("tandem-exec"), ["--config", join(tmp, "exec.toml"), "serve", "--http", "127.0.0.1:0", "--data", join(tmp, "exec"), "--allow-interviewer", ready.id]);
  const { ticket } = await exec.next((v) => v.ticket);
  return {
    base,
    roomId: ready.room.id,
    peer,
    ticket,
    // The peer prints each invite as a web link on its relay too: that is what a browser opens.
    webLink: async (role, canEdit = true) => (await peer.send({ cmd: "invite", role, can_edit: canEdit, ttl: 3600 })).web,
    /** Lets the execution node remove its sandboxes (20 s at most), then ends everything. */
    async stop() {
      exec.child.kill("SIGINT");
      await new Promise((r) => {
        if (exec.child.exitCode !== null) return r();
        exec.child.once("exit", r);
        setTimeout(r, 20_000);
      });
      kill();
    },
  };
}

/** `check(cond, what)` prints ok/FAIL lines; `finish(stack)` prints cargo's `test result:` line and exits. */
export function reporter() {
  let passed = 0;
  const failures = [];
  // A stray rejection must show up as a failure with its reason, not end the run silently.
  process.on("unhandledRejection", (e) => {
    failures.push(`unhandled rejection: ${String(e?.stack ?? e)}`);
    console.log(`FAIL unhandled rejection: ${String(e?.message ?? e)}`);
  });
  return {
    failures,
    check(cond, what) {
      if (cond) passed++;
      else failures.push(what);
      console.log(`${cond ? "ok  " : "FAIL"} ${what}`);
    },
    async finish(stack) {
      await stack?.stop();
      console.log(`test result: ${failures.length ? "FAILED" : "ok"}. ${passed} passed; ${failures.length} failed`);
      if (failures.length) console.error(failures.join("\n"));
      process.exit(failures.length ? 1 : 0);
    },
  };
}
