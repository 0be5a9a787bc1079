// End-to-end smoke of the desktop app: the real Tauri window (tauri-driver + WebKitWebDriver
// under Xvfb, started by desktop/e2e/run.sh) and a real headless `tandem-peer` over QUIC.
//
// First run → a real execution node (`tandem-exec serve`, Podman sandboxes) serving this app's
// member, its ticket saved in the app's settings → create a room (the app, its interviewer,
// names the node in the room) → type code → invite a candidate → the peer joins and sees the
// code → the peer's edit shows in the app → both edit while disconnected → the edits merge when
// the peer comes back → Run in the app: the output shows in the app's console and at the peer,
// from the node → a second launch with a `tandem://join/…` link hands it to the running app and
// exits. Prints cargo's `test result:` line for scripts/test.sh.
//
// Env: TANDEM_WEBDRIVER (http://127.0.0.1:4444), TANDEM_DESKTOP_BIN, TANDEM_PEER_BIN,
//      TANDEM_EXEC_BIN, TANDEM_SCREENSHOT (PNG path).
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { WebDriver, sleep, until } from "./webdriver.mjs";

const base = process.env.TANDEM_WEBDRIVER ?? "http://127.0.0.1:4444";
const app = process.env.TANDEM_DESKTOP_BIN;
const peerBin = process.env.TANDEM_PEER_BIN;
const execBin = process.env.TANDEM_EXEC_BIN;
const shot = process.env.TANDEM_SCREENSHOT;

let passed = 0;
let failed = 0;
async function step(name, f) {
  const t0 = Date.now();
  try {
    await f();
    passed++;
    console.log(`test ${name} ... ok (${Date.now() - t0} ms)`);
  } catch (e) {
    failed++;
    console.log(`test ${name} ... FAILED\n  ${e.stack ?? e}`);
    throw e;
  }
}

/** A `tandem-peer` child speaking JSON lines. */
class Peer {
  constructor(args) {
    this.dir = mkdtempSync(join(tmpdir(), "tandem-e2e-peer-"));
    this.proc = spawn(peerBin, ["--data", this.dir, "--name", "Headless peer", ...args], { stdio: ["pipe", "pipe", "inherit"] });
    this.lines = [];
    this.waiters = [];
    /** Run messages the peer printed as they arrived (`{"event":"run","msg":…}`). */
    this.runMessages = [];
    createInterface({ input: this.proc.stdout }).on("line", (l) => {
      let v;
      try {
        v = JSON.parse(l);
      } catch {
        return;
      }
      if (v.event === "run" || v.event === "run_lagged") {
        this.runMessages.push(v.msg ?? v);
        return;
      }
      const w = this.waiters.shift();
      if (w) w(v);
      else this.lines.push(v);
    });
  }
  next(timeoutMs = 40000) {
    if (this.lines.length) return Promise.resolve(this.lines.shift());
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("peer did not answer")), timeoutMs);
      this.waiters.push((v) => {
        clearTimeout(t);
        resolve(v);
      });
    });
  }
  async cmd(c) {
    this.proc.stdin.write(JSON.stringify(c) + "\n");
    const v = await this.next();
    if (v.ok === false) throw new Error(`peer: ${v.error}`);
    return v;
  }
  stop() {
    this.proc.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A real execution node: `tandem-exec serve` with its room path on loopback, serving the rooms
 * of one interviewer; no warm pool (each run starts its own sandbox). */
class ExecNode {
  static async start(interviewer) {
    const n = new ExecNode();
    n.dir = mkdtempSync(join(tmpdir(), "tandem-e2e-exec-"));
    n.config = join(n.dir, "node.toml");
    writeFileSync(n.config, `node_id = "e2e-desktop-${process.pid}"\npool_floor = 0\npool_ceiling = 0\n`);
    n.proc = spawn(
      execBin,
      ["--config", n.config, "serve", "--http", "127.0.0.1:0", "--iroh-bind", "127.0.0.1:0", "--data", join(n.dir, "data"), "--allow-interviewer", interviewer],
      { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, RUST_LOG: "warn" } },
    );
    n.exited = new Promise((r) => n.proc.on("exit", r));
    const ready = await new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("tandem-exec did not start")), 60000);
      n.proc.on("exit", (c) => reject(new Error(`tandem-exec exited (${c})`)));
      createInterface({ input: n.proc.stdout }).once("line", (l) => {
        clearTimeout(t);
        resolve(JSON.parse(l));
      });
    });
    if (!ready.ticket?.startsWith("tandem-exec:")) throw new Error(`no ticket: ${JSON.stringify(ready)}`);
    n.ticket = ready.ticket;
    return n;
  }
  /** SIGTERM (runs finish, sandboxes go), then a sweep for anything a slow exit left. */
  async stop() {
    if (this.proc.exitCode === null) {
      this.proc.kill("SIGTERM");
      await Promise.race([this.exited, sleep(40000)]);
      if (this.proc.exitCode === null) this.proc.kill("SIGKILL");
    }
    await new Promise((r) => spawn(execBin, ["--config", this.config, "sweep"], { stdio: "ignore" }).on("exit", r));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const invoke = (d, cmd, args = {}) =>
  d.execAsync(
    "const [cmd, args, cb] = arguments; window.__TAURI_INTERNALS__.invoke(cmd, args).then((v) => cb({ ok: v }), (e) => cb({ err: String(e) }));",
    [cmd, args],
  );

/** The X screen (the window fills it) as a PNG, with ImageMagick's `import`: WebKitWebDriver's
 * own screenshot command crashes the driver now and then on this machine (seen with builds of
 * main too), and a screenshot must not decide the smoke. */
function screenshot(path) {
  const r = spawnSync("import", ["-window", "root", path], { stdio: ["ignore", "ignore", "pipe"], timeout: 30000 });
  if (r.status !== 0) throw new Error(`import: ${r.status} ${r.stderr}`);
}

const editorText = (d) =>
  d.exec("const e = document.querySelector('.monaco-editor .view-lines'); return e ? e.innerText.replace(/\\u00a0/g, ' ') : null;");

async function typeInEditor(d, text) {
  const lines = await d.waitFor(".monaco-editor .view-lines");
  await d.click(lines);
  await sleep(200);
  // Ctrl+Home: start of the document; then the text, Escape (closes a suggestion widget that
  // Enter would otherwise accept, mangling the line), and Enter.
  await d.chord("\uE009", "\uE011");
  await d.keys(text);
  await sleep(100);
  await d.keys("\uE00C");
  await d.keys("\uE007");
}

let driver;
let peer;
let exec;
try {
  driver = await WebDriver.session(base, app);

  await step("first_run_profile", async () => {
    const name = await driver.waitFor("[data-testid=profile-name]", 60000);
    await driver.type(name, "Ada Desktop");
    await driver.click(await driver.find("[data-testid=profile-save]"));
    await driver.waitFor("[data-testid=create-room]");
  });

  await step("exec_node_ticket_in_settings", async () => {
    const profile = await invoke(driver, "get_profile");
    if (!profile.ok?.member) throw new Error(`get_profile: ${JSON.stringify(profile)}`);
    exec = await ExecNode.start(profile.ok.member);
    await driver.click(await driver.find("[data-testid=home-settings]"));
    await driver.type(await driver.waitFor("[data-testid=exec-ticket]"), exec.ticket);
    await driver.click(await driver.find("[data-testid=profile-save]"));
    await until("settings saved", async () => {
      const p = await invoke(driver, "get_profile");
      return p.ok?.settings?.exec_ticket === exec.ticket;
    });
  });

  await step("create_room_and_type", async () => {
    await driver.click(await driver.find("[data-testid=create-room]"));
    // The interviewer seeds the empty room with the default language's template.
    await until("template in the editor", async () => ((await editorText(driver)) ?? "").trim().length > 0, 60000);
    await typeInEditor(driver, "answer = 42");
    await until("typed text in the editor", async () => ((await editorText(driver)) ?? "").includes("answer = 42"));
  });

  let link;
  await step("invite_candidate", async () => {
    await driver.click(await driver.find("button[aria-label=Invite]"));
    const create = await until("create button", () =>
      driver.exec("return [...document.querySelectorAll('button')].find(b => b.textContent.trim() === 'Create link') || null;"),
    );
    await driver.exec("arguments[0].click();", [create]);
    link = await until("invite link", () =>
      driver.exec("const i = document.querySelector('input[aria-label=\"Invite link\"]'); return i && i.value;"),
    );
    if (!link.startsWith("tandem://join/")) throw new Error(`not an invite link: ${link}`);
    await driver.exec("document.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));");
  });

  let file;
  await step("peer_joins_and_sees_code", async () => {
    peer = new Peer(["join", link]);
    const ready = await peer.next(60000);
    if (ready.event !== "ready") throw new Error(`peer: ${JSON.stringify(ready)}`);
    await until(
      "peer sees the typed code",
      async () => {
        const files = (await peer.cmd({ cmd: "files" })).files ?? [];
        for (const f of files) {
          const t = (await peer.cmd({ cmd: "text", file: f })).text ?? "";
          if (t.includes("answer = 42")) {
            file = f;
            return true;
          }
        }
        return false;
      },
      60000,
    );
  });

  await step("connection_state_direct", async () => {
    await until("state shows Connected", async () => {
      const s = await driver.exec("return document.querySelector('[data-testid=connection-state]').textContent;");
      return s.includes("Connected");
    });
  });

  await step("peer_edit_shows_in_app", async () => {
    await peer.cmd({ cmd: "insert", file, pos: 0, text: "# from the peer\n" });
    await until("peer edit in the app", async () => ((await editorText(driver)) ?? "").includes("# from the peer"));
  });

  await step("offline_edits_merge", async () => {
    await peer.cmd({ cmd: "offline" });
    await until("app shows offline", async () => {
      const s = await driver.exec("return document.querySelector('[data-testid=connection-state]').textContent;");
      return s.includes("Offline");
    });
    await typeInEditor(driver, "offline_app = 1");
    await peer.cmd({ cmd: "insert", file, pos: 0, text: "# peer offline\n" });
    await sleep(500);
    if (((await editorText(driver)) ?? "").includes("# peer offline")) throw new Error("an offline edit leaked");
    await peer.cmd({ cmd: "online" });
    await until("app gets the peer's offline edit", async () => ((await editorText(driver)) ?? "").includes("# peer offline"), 60000);
    await until("peer gets the app's offline edit", async () => ((await peer.cmd({ cmd: "text", file })).text ?? "").includes("offline_app = 1"), 60000);
  });

  await step("run_in_app_shows_output_in_app_and_at_peer", async () => {
    await typeInEditor(driver, "print('tandem', 6 * 7)");
    await until("the print line in the editor", async () => ((await editorText(driver)) ?? "").includes("print('tandem', 6 * 7)"));
    // The peer reaches the node on its own (the room names it); so does the app, on request.
    await until("peer connected to the execution node", async () => (await peer.cmd({ cmd: "exec_status" })).status?.connected === true, 60000);
    await driver.click(await driver.find("[data-testid=run-button]"));
    await until(
      "the run's verdict in the app's console",
      async () => {
        const s = await driver.exec("const e = document.querySelector('[data-testid=console] [data-testid=run-status]'); return e ? e.textContent : '';");
        if (/rejected|error/i.test(s) && !/OK/.test(s)) {
          const out = await driver.exec("const e = document.querySelector('[data-testid=xterm]'); return e ? e.innerText : '';");
          throw new Error(`run status: ${s}\nconsole: ${out}\ncode: ${await editorText(driver)}`);
        }
        return s.includes("OK");
      },
      120000,
    );
    // xterm.js writes asynchronously (it parses and paints on later frames, and the desktop app
    // loads it at the first run): the verdict line can show before the output is painted.
    let appOut = "";
    try {
      await until("the output in the app's console", async () => {
        appOut = await driver.exec("const e = document.querySelector('[data-testid=xterm]'); return e ? e.innerText : '';");
        return appOut.includes("tandem 42");
      }, 15000);
    } catch {
      throw new Error(`app console: ${JSON.stringify(appOut)}`);
    }
    // The peer got the same run from the node: accepted for the app's member, the output, the end.
    const me = (await invoke(driver, "get_profile")).ok.member;
    const accepted = await until("the peer saw the run accepted", async () =>
      peer.runMessages.find((m) => m.type === "run_accepted" && m.by?.member === me),
    );
    const log = await peer.cmd({ cmd: "run_log", run_id: accepted.run_id, wait: true, timeout_ms: 60000 });
    const msgs = log.messages ?? [];
    const peerOut = msgs.filter((m) => m.type === "output").map((m) => m.data).join("");
    if (!peerOut.includes("tandem 42")) throw new Error(`peer output: ${JSON.stringify(peerOut)}`);
    const end = msgs.at(-1);
    if (end?.type !== "finished" || end.result?.verdict !== "ok") throw new Error(`peer's last message: ${JSON.stringify(end)}`);
  });

  if (shot) {
    await step("screenshot", async () => {
      await sleep(500);
      screenshot(shot);
    });
  }
  await step("second_launch_hands_its_link_to_the_running_app", async () => {
    // What the OS does when a tandem:// link is opened while the app runs (same profile, same
    // display): the new process hands the link over and exits; the app asks whether to leave the
    // open room, then shows the link in the join box.
    const second = spawn(app, [link], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    second.stderr.on("data", (b) => (err += b));
    const code = await Promise.race([new Promise((r) => second.on("exit", r)), sleep(30000).then(() => "timeout")]);
    if (code !== 0) {
      second.kill("SIGKILL");
      throw new Error(`second launch: ${code} ${err}`);
    }
    // In a room, the app asks first: a web page opening a link must not end an interview.
    await until("the app to ask before leaving the room", () =>
      driver.exec("return !!document.querySelector('[data-testid=launch-ask]');"),
    );
    if (!(await driver.exec("return !!document.querySelector('[data-testid=back-home]');"))) {
      throw new Error("the link left the room without asking");
    }
    await driver.exec("document.querySelector('[data-testid=launch-leave]').click(); return true;");
    await until("the link in the running app's join box", () =>
      driver.exec("const t = document.querySelector('[data-testid=join-link]'); return !!t && t.value === arguments[0];", [link]),
    );
  });
} catch (e) {
  if (shot && driver) {
    try {
      screenshot(shot.replace(/\.png$/, "-failure.png"));
    } catch {}
  }
  if (!failed) {
    failed++;
    console.log(`setup FAILED: ${e.stack ?? e}`);
  }
} finally {
  peer?.stop();
  await driver?.quit();
  await exec?.stop();
}
console.log(`test result: ${failed ? "FAILED" : "ok"}. ${passed} passed; ${failed} failed`);
process.exit(failed ? 1 : 0);
