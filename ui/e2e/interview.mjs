// The interview features end to end in real browsers against the REAL relay (message type 102,
// relay/src/record.rs) and a headless `tandem-peer` that created the room: the interviewer's
// browser sets and starts the timer (the candidate's browser shows the same clock), chats, writes
// private notes that reach the headless interviewer peer but never the candidate's page, locks
// the editor (the candidate sees it and becomes read-only), opens the problem picker (lists the
// bank, or says why when this build has none), and opens the replay (tracks, scrubber, the code
// at the end equals the editor's). Prints a closing `test result:` line like cargo's.
//
// Run: cd ui && npm run build && cargo build -p tandem-relay -p tandem-peer && node e2e/interview.mjs
//   (binaries from $TANDEM_BIN_DIR, else $CARGO_TARGET_DIR/debug, else ../target/debug)
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const ui = resolve(here, "..");
const binDir = process.env.TANDEM_BIN_DIR ?? join(process.env.CARGO_TARGET_DIR ?? resolve(ui, "../target"), "debug");
const bin = (name) => {
  const p = join(binDir, name);
  if (!existsSync(p)) throw new Error(`${p} not found: cargo build -p ${name} (or set TANDEM_BIN_DIR)`);
  return p;
};
const tmp = mkdtempSync(join(tmpdir(), "tandem-e2e-interview-"));
const children = [];
const cleanup = () => {
  for (const c of children) c.kill("SIGKILL");
  rmSync(tmp, { recursive: true, force: true });
};
process.on("exit", cleanup);

function jsonChild(cmd, args) {
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

let passed = 0;
const failures = [];
process.on("unhandledRejection", (e) => {
  failures.push(`unhandled rejection: ${String(e?.stack ?? e)}`);
  console.log(`FAIL unhandled rejection: ${String(e?.message ?? e)}`);
});
const check = (cond, what) => {
  if (cond) passed++;
  else failures.push(what);
  console.log(`${cond ? "ok  " : "FAIL"} ${what}`);
};
const until = async (f, tries = 200) => {
  for (let i = 0; i < tries; i++) {
    if (await f()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
};

const relay = jsonChild(bin("tandem-relay"), ["--dev", "--http-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--ui-dir", join(ui, "dist"), "--web-data", join(tmp, "relay")]);
const { relay_url: base } = await relay.next((v) => v.relay_url);
const peer = jsonChild(bin("tandem-peer"), ["--data", join(tmp, "peer"), "--relay", base, "--name", "Pat Peer", "create"]);
await peer.next((v) => v.event === "ready");
const webLink = async (role, canEdit = true) => (await peer.send({ cmd: "invite", role, can_edit: canEdit, ttl: 3600 })).web;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

async function open(name, url) {
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  await ctx.addInitScript((n) => {
    if (!localStorage.getItem("tandem.settings.v1")) localStorage.setItem("tandem.settings.v1", JSON.stringify({ theme: "light", name: n, uiLanguage: "en" }));
  }, name);
  const p = await ctx.newPage();
  p.on("pageerror", (e) => e.message !== "Canceled" && failures.push(`${name}: page error: ${e.stack ?? e.message}`));
  await p.goto(url);
  await p.waitForSelector(".monaco-editor textarea", { timeout: 60_000 });
  return p;
}

try {
  const a = await open("Ivy Interviewer", await webLink("interviewer"));
  const b = await open("Cal Candidate", await webLink("candidate"));

  // Timer: set by the interviewer, the same clock at the candidate.
  await a.getByTestId("timer-set").click();
  await a.getByTestId("timer-toggle").click();
  check(await until(async () => (await b.getByTestId("timer-remaining").count()) > 0), "the candidate sees the interviewer's timer");
  check((await b.getByTestId("timer-toggle").count()) === 0, "the candidate has no timer controls");
  const pat = await peer.send({ cmd: "controls" });
  check(pat.controls.timer?.duration_ms === 45 * 60_000 && pat.controls.timer?.running_since_ms > 0, "the headless peer holds the same running timer");

  // Chat both ways.
  await a.getByRole("tab", { name: "Chat" }).click();
  await a.getByTestId("chat-input").fill("Welcome, Cal!");
  await a.getByTestId("chat-send").click();
  await b.getByRole("tab", { name: "Chat" }).click();
  check(await until(async () => (await b.getByText("Welcome, Cal!").count()) > 0), "the candidate gets the interviewer's chat message");
  await b.getByTestId("chat-input").fill("Thanks!");
  await b.getByTestId("chat-send").click();
  check(await until(async () => (await a.getByText("Thanks!").count()) > 0), "the interviewer gets the candidate's reply");

  // Private notes: reach the headless interviewer, never the candidate's page.
  const marker = `NOTE-${Math.random().toString(36).slice(2, 10)}`;
  check((await b.getByRole("tab", { name: "Notes" }).count()) === 0, "the candidate has no Notes tab");
  await a.getByRole("tab", { name: "Notes" }).click();
  await a.getByTestId("notes-input").fill(`${marker} explains trade-offs well`);
  check(
    await until(async () => JSON.stringify((await peer.send({ cmd: "private" })).private).includes(marker)),
    "the interviewer's notes reach the other interviewer's peer",
  );
  check(!(await b.evaluate(() => document.body.innerText)).includes(marker), "the candidate's page never shows the notes");

  // Editor lock.
  await a.getByTestId("toggle-lock").click();
  check(await until(async () => (await b.getByText("Editor locked").count()) > 0), "the candidate sees the editor locked");
  check(await until(async () => (await b.getByText("Read-only").count()) > 0), "and is read-only");
  await a.getByTestId("toggle-lock").click();
  check(await until(async () => (await b.getByText("Editor locked").count()) === 0), "unlocking reaches the candidate");

  // Problem picker: the bank's list, or the reason this build has none.
  await a.getByTestId("pick-problem").click();
  const listed = await until(async () => (await a.getByTestId("problem-list").count()) > 0 || (await a.getByRole("alert").count()) > 0);
  if ((await a.getByTestId("problem-list").count()) > 0) {
    const first = a.getByTestId("problem-list").locator("li").first();
    const title = (await first.locator("div div").first().innerText()).trim();
    await first.getByRole("button").click();
    await b.getByRole("tab", { name: "Description" }).click();
    check(await until(async () => (await b.getByTestId("problem-statement").innerText()).includes(title)), "a chosen problem appears at the candidate");
  } else {
    check(listed && (await a.getByRole("alert").innerText()).includes("not available"), "the picker says why there are no problems in this build");
    await a.keyboard.press("Escape");
  }

  // Replay: tracks, and the code at the end is the editor's.
  await b.click(".monaco-editor .view-lines");
  await b.keyboard.press("Control+End");
  await b.keyboard.type("\n# typed by Cal\n", { delay: 10 });
  const peerHas = () => until(async () => (await peer.send({ cmd: "text", file: "main.py" })).text.includes("# typed by Cal"));
  check(await peerHas(), "the candidate's typing reaches the peer");
  await a.getByRole("tab", { name: "Replay" }).click();
  check(await until(async () => (await a.getByTestId("replay-track").count()) >= 2), "the replay shows per-participant tracks");
  const code = await a.getByTestId("replay-code").innerText();
  check(code.includes("# typed by Cal"), "the replay at the end holds the latest code");
  await a.getByTestId("replay-scrubber").fill(String(await a.getByTestId("replay-scrubber").getAttribute("min")));
  check(!(await a.getByTestId("replay-code").innerText()).includes("# typed by Cal"), "scrubbing to the start shows the earlier code");
  await a.getByTestId("replay-speed").selectOption("32");
  await a.getByTestId("replay-play").click();
  check(await until(async () => (await a.getByTestId("replay-code").innerText()).includes("# typed by Cal"), 600), "playing at 32× reaches the end");
} catch (e) {
  failures.push(String(e?.stack ?? e));
  console.log(`FAIL ${String(e?.message ?? e)}`);
} finally {
  await browser.close();
}
console.log(`test result: ${failures.length ? "FAILED" : "ok"}. ${passed} passed; ${failures.length} failed`);
if (failures.length) console.error(failures.join("\n"));
cleanup();
process.exit(failures.length ? 1 : 0);
