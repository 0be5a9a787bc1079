// End-to-end smoke of the desktop app: the real Tauri window (tauri-driver + WebKitWebDriver
// under Xvfb, started by desktop/e2e/run.sh) and a real headless `tandem-peer` over QUIC.
//
// First run → create a room → type code → invite a candidate → the peer joins and sees the code
// → the peer's edit shows in the app → both edit while disconnected → the edits merge when the
// peer comes back. Prints cargo's `test result:` line for scripts/test.sh.
//
// Env: TANDEM_WEBDRIVER (http://127.0.0.1:4444), TANDEM_DESKTOP_BIN, TANDEM_PEER_BIN,
//      TANDEM_SCREENSHOT (PNG path).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { WebDriver, sleep, until } from "./webdriver.mjs";

const base = process.env.TANDEM_WEBDRIVER ?? "http://127.0.0.1:4444";
const app = process.env.TANDEM_DESKTOP_BIN;
const peerBin = process.env.TANDEM_PEER_BIN;
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
    createInterface({ input: this.proc.stdout }).on("line", (l) => {
      let v;
      try {
        v = JSON.parse(l);
      } catch {
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

const editorText = (d) =>
  d.exec("const e = document.querySelector('.monaco-editor .view-lines'); return e ? e.innerText.replace(/\\u00a0/g, ' ') : null;");

async function typeInEditor(d, text) {
  const lines = await d.waitFor(".monaco-editor .view-lines");
  await d.click(lines);
  await sleep(200);
  // Ctrl+Home: start of the document; then the text and Enter.
  await d.chord("\uE009", "\uE011");
  await d.keys(text + "\uE007");
}

let driver;
let peer;
try {
  driver = await WebDriver.session(base, app);

  await step("first_run_profile", async () => {
    const name = await driver.waitFor("[data-testid=profile-name]", 60000);
    await driver.type(name, "Ada Desktop");
    await driver.click(await driver.find("[data-testid=profile-save]"));
    await driver.waitFor("[data-testid=create-room]");
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

  if (shot) {
    await step("screenshot", async () => {
      await sleep(500);
      writeFileSync(shot, Buffer.from(await driver.screenshot(), "base64"));
    });
  }
} catch (e) {
  if (shot && driver) {
    try {
      writeFileSync(shot.replace(/\.png$/, "-failure.png"), Buffer.from(await driver.screenshot(), "base64"));
    } catch {}
  }
  if (!failed) {
    failed++;
    console.log(`setup FAILED: ${e.stack ?? e}`);
  }
} finally {
  peer?.stop();
  await driver?.quit();
}
console.log(`test result: ${failed ? "FAILED" : "ok"}. ${passed} passed; ${failed} failed`);
process.exit(failed ? 1 : 0);
