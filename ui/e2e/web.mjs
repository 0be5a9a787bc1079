// The web client end to end against the REAL relay: a `tandem-relay --dev` serving ui/dist and
// bridging browsers into a room created by a headless `tandem-peer` (real QUIC, signed invites,
// roles enforced by the peers). Two browsers edit at once and converge, with the peer too; each
// sees the other's named cursor; a read-only candidate cannot type; the phone viewport shows
// tabs; a language switch loads the template; UI language and theme switch. Screenshots go to
// docs/screenshots/. Prints keystroke-in-A → painted-in-B and load-to-editable (never asserted)
// and a closing `test result:` line in cargo's format for scripts/test.sh.
//
// Runs go through the relay too: a real `tandem-exec` (Podman sandboxes) named by the peer, Run
// clicked in the candidate's browser, the output in both browsers' consoles and at the peer.
//
// Run: cd ui && npm run build && cargo build -p tandem-relay -p tandem-peer -p tandem-exec -p tandem-agent \
//        && node e2e/web.mjs
//   (binaries from $TANDEM_BIN_DIR, else $CARGO_TARGET_DIR/debug, else ../target/debug)
import { join } from "node:path";
import { chromium } from "playwright-core";
import { startRelay } from "./relay.mjs";
import { reporter, shots, startStack, ui } from "./stack.mjs";

const { check, failures, finish } = reporter();
const lines = async (p) => (await p.locator(".monaco-editor .view-lines").innerText()).replace(/\u00a0/g, " ");
/** The editor's rendered text in line order (Monaco reuses line elements out of DOM order). */
const editorText = (p) =>
  p.evaluate(() =>
    [...document.querySelectorAll(".monaco-editor .view-lines .view-line")]
      .sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top))
      .map((e) => e.textContent.replace(/\u00a0/g, " "))
      .join("\n"),
  );

const stack = await startStack("web");
const { base, roomId, peer, ticket, webLink } = stack;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

async function open(name, url, { theme = "light", viewport = { width: 1440, height: 900 }, wait = true } = {}) {
  const ctx = await browser.newContext({ viewport, colorScheme: theme });
  await ctx.addInitScript(([n, t]) => {
    if (!localStorage.getItem("tandem.settings.v1")) localStorage.setItem("tandem.settings.v1", JSON.stringify({ theme: t, name: n, uiLanguage: "en" }));
  }, [name, theme]);
  const p = await ctx.newPage();
  // Monaco rejects its own cancelled promises with "Canceled" (e.g. on a layout change): benign.
  p.on("pageerror", (e) => e.message !== "Canceled" && failures.push(`${name}: page error: ${e.message}`));
  const t0 = Date.now();
  await p.goto(url);
  let ms = 0;
  if (wait) {
    await p.waitForSelector(".monaco-editor textarea", { timeout: 60_000 });
    ms = Date.now() - t0;
    await p.waitForFunction(() => /\S/.test(document.querySelector(".monaco-editor .view-lines")?.textContent ?? ""), null, { timeout: 60_000 });
  }
  return { ctx, p, ms };
}

/** Types N "~" in A, 60 ms apart; returns keydown-in-A → next frame after the DOM change in B. */
async function keystrokes(pa, pb, N = 40) {
  await pb.evaluate(() => {
    window.__paint = [];
    const root = document.querySelector(".monaco-editor .view-lines");
    new MutationObserver(() => {
      const n = (root.textContent.match(/~/g) || []).length;
      if (n > window.__paint.length) requestAnimationFrame(() => { const t = performance.timeOrigin + performance.now(); while (window.__paint.length < n) window.__paint.push(t); });
    }).observe(root, { subtree: true, childList: true, characterData: true });
  });
  await pa.evaluate(() => {
    window.__keys = [];
    window.addEventListener("keydown", (e) => e.key === "~" && window.__keys.push(performance.timeOrigin + performance.now()), true);
  });
  await pa.click(".monaco-editor .view-lines");
  await pa.keyboard.press("Control+End");
  for (let i = 0; i < N; i++) {
    await pa.keyboard.type("~");
    await pa.waitForTimeout(60);
  }
  await pb.waitForFunction((n) => window.__paint.length >= n, N, { timeout: 30_000 });
  const keys = await pa.evaluate(() => window.__keys);
  const paints = await pb.evaluate(() => window.__paint);
  const lat = keys.map((k, i) => paints[i] - k).sort((x, y) => x - y);
  const q = (f) => lat[Math.min(lat.length - 1, Math.floor(f * lat.length))].toFixed(1);
  return { n: lat.length, p50: q(0.5), p95: q(0.95) };
}

try {
  // Opening an invite link lands in the room; the interviewer's browser seeds the template.
  const a = await open("Ivy Interviewer", await webLink("interviewer"));
  const b = await open("Cal Candidate", await webLink("candidate"), { theme: "dark" });
  check((await a.p.getByTestId("connection-state").innerText()).toLowerCase().includes("relay"), "an invite link opens the room through the real relay");
  const peerText = async (file = "main.py") => (await peer.send({ cmd: "text", file })).text;
  const peerHas = async (want, file) => {
    for (let i = 0; i < 300; i++) {
      if (want(await peerText(file))) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  };
  check(await peerHas((t) => t.includes("import")), "the headless peer has the template the browser seeded");

  // Run through the relay: the interviewer (the peer) names the execution node, the candidate's
  // browser clicks Run, both consoles stream the same output, and the peer gets it too.
  await peer.send({ cmd: "set_exec_node", ticket });
  await peer.send({ cmd: "insert", file: "main.py", pos: 0, text: 'print("web" + "-run-" + str(6 * 7))\n' });
  await b.p.waitForSelector(".monaco-editor .view-lines >> text=-run-", { timeout: 30_000 });
  await b.p.getByTestId("run-button").click();
  for (const [who, p] of [["A", a.p], ["B", b.p]]) {
    await p.waitForSelector("[data-testid=console] [data-testid=run-status] >> text=OK", { timeout: 90_000 });
    const out = await p.locator("[data-testid=xterm]").innerText();
    check(out.includes("web-run-42") && out.includes("Hello, Tandem!"), `${who}'s console shows the run's output from the real execution node`);
  }
  const runIds = (await peer.send({ cmd: "runs" })).runs;
  const log = await peer.send({ cmd: "run_log", run_id: runIds[runIds.length - 1], wait: true, timeout_ms: 60_000 });
  const peerOut = log.messages.filter((m) => m.type === "output").map((m) => m.data).join("");
  check(runIds.length === 1 && peerOut.includes("web-run-42"), "the headless peer got the same run");
  await a.p.screenshot({ path: join(shots, "relay-run-interviewer.png") });

  // Concurrent edits in both browsers, and one from the peer.
  await a.p.click(".monaco-editor .view-lines");
  await a.p.keyboard.press("Control+End");
  await b.p.click(".monaco-editor .view-lines");
  await b.p.keyboard.press("Control+Home");
  await Promise.all([a.p.keyboard.type("# from Ivy 😀\n", { delay: 15 }), b.p.keyboard.type("# from Cal\n", { delay: 15 }), peer.send({ cmd: "insert", file: "main.py", pos: 0, text: "# from Pat\n" })]);
  let converged = false;
  let seen = [];
  for (let i = 0; i < 100 && !converged; i++) {
    await a.p.waitForTimeout(100);
    seen = [await editorText(a.p), await editorText(b.p), (await peer.send({ cmd: "text", file: "main.py" })).text];
    const [ta, tb, tp] = seen;
    // Cal and Pat both insert at the start at once, so their characters may interleave; what
    // must hold is that all three hold the same text with everyone's characters.
    const hasAll = (t, parts) => {
      const left = [...t];
      return [...parts.join("")].every((c) => {
        const i = left.indexOf(c);
        return i >= 0 && left.splice(i, 1);
      });
    };
    converged = ta === tb && ta === tp && ta.includes("# from Ivy 😀") && hasAll(ta, ["import sys", "# from Ivy 😀\n", "# from Cal\n", "# from Pat\n"]);
  }
  check(converged, "two browsers and a peer edit at once and converge");
  if (!converged) console.log(JSON.stringify(seen));

  // Named cursors.
  await a.p.waitForSelector("[class*=tandem-cur-]", { timeout: 20_000 });
  await b.p.waitForSelector("[class*=tandem-cur-]", { timeout: 20_000 });
  const css = (p) => p.evaluate(() => [...document.querySelectorAll("style")].map((s) => s.textContent).join("\n"));
  check((await css(a.p)).includes("Cal Candidate"), "A sees B's cursor labelled with B's name");
  check((await css(b.p)).includes("Ivy Interviewer"), "B sees A's cursor labelled with A's name");

  // Keystroke in A → painted in B, through the relay and the peers.
  const real = await keystrokes(a.p, b.p);
  // Baseline, same browsers and machine, same moment: the stand-in relay (one Node process, one
  // in-memory Y.Doc, no peers, no signatures).
  const stand = await startRelay({ dist: join(ui, "dist") });
  const sa = await open("Ivy Interviewer", `${stand.url}/room/bench?invite=interviewer`);
  const sb = await open("Cal Candidate", `${stand.url}/room/bench?invite=candidate`);
  const baseline = await keystrokes(sa.p, sb.p);
  await sa.ctx.close();
  await sb.ctx.close();
  await stand.close();
  console.log(`bench keystroke in A → painted in B, ${real.n} keys: tandem-relay p50 ${real.p50} ms, p95 ${real.p95} ms | baseline stand-in relay p50 ${baseline.p50} ms, p95 ${baseline.p95} ms`);
  await a.p.screenshot({ path: join(shots, "relay-interviewer.png") });
  await b.p.screenshot({ path: join(shots, "relay-candidate-dark.png") });

  // The interviewer makes the candidate read-only from the participants dialog.
  await a.p.getByTestId("participants-button").click();
  await a.p.locator("li", { hasText: "Cal Candidate" }).getByRole("button", { name: "Make read-only" }).click();
  await a.p.screenshot({ path: join(shots, "relay-participants.png") });
  await a.p.keyboard.press("Escape");
  await b.p.waitForSelector("header >> text=Read-only", { timeout: 20_000 });
  const before = (await peer.send({ cmd: "text", file: "main.py" })).text;
  await b.p.click(".monaco-editor .view-lines");
  await b.p.keyboard.type("zzz");
  await a.p.click(".monaco-editor .view-lines");
  await a.p.keyboard.press("Control+End");
  await a.p.keyboard.type("!");
  await peer.send({ cmd: "wait_text", file: "main.py", text: before + "!", timeout_ms: 30_000 }).catch(() => {});
  const after = (await peer.send({ cmd: "text", file: "main.py" })).text;
  check(after === before + "!" && !(await lines(b.p)).includes("zzz"), "a read-only candidate cannot type (and the peer got nothing from it)");

  // Language switch loads the template for everyone.
  await a.p.selectOption("[data-testid=language-select]", "go");
  await a.p.waitForSelector("role=dialog");
  await a.p.getByRole("button", { name: "Switch and discard" }).click();
  await b.p.waitForSelector(".monaco-editor .view-lines >> text=package main", { timeout: 20_000 });
  check(await peerHas((t) => t.includes("package main"), "main.go"), "a language switch loads the Go template in the other browser and at the peer");
  // Highlighting follows: B's editor is in Go mode and colours `package` unlike `main`.
  await b.p.waitForSelector("[data-testid=monaco-host][data-language=go]", { timeout: 20_000 });
  // Tokenizing is asynchronous (the Go grammar loads on demand): wait for the colours.
  const goTokens = () =>
    b.p.evaluate(() => {
      const line = [...document.querySelectorAll(".monaco-editor .view-line")].find((l) => l.textContent.replace(/\u00a0/g, " ").startsWith("package main"));
      return line ? [...line.querySelectorAll("span span")].map((s) => [s.textContent.replace(/\u00a0/g, " ").trim(), s.className]) : [];
    });
  let tokens = [];
  const cls = (word) => tokens.find(([t]) => t === word)?.[1];
  for (let i = 0; i < 200 && !(cls("package") && cls("main") && cls("package") !== cls("main")); i++) {
    await b.p.waitForTimeout(100);
    tokens = await goTokens();
  }
  check(cls("package") && cls("main") && cls("package") !== cls("main"), "the other browser highlights the code as Go");
  if (!(cls("package") && cls("package") !== cls("main"))) console.log(JSON.stringify(tokens));

  // UI language and theme.
  await b.p.getByTestId("theme-toggle").click();
  check(!(await b.p.evaluate(() => document.documentElement.classList.contains("dark"))), "theme toggle switches dark → light");
  await b.p.getByTestId("settings-button").click();
  await b.p.selectOption("[data-testid=ui-language]", "de");
  await b.p.keyboard.press("Escape");
  check((await b.p.getByTestId("run-button").innerText()).includes("Ausführen"), "UI language switches to German");
  await b.p.screenshot({ path: join(shots, "relay-candidate-de-light.png") });

  // Phone viewport: stacked tabs.
  const ph = await open("Pia Phone", await webLink("spectator", false), { viewport: { width: 390, height: 844 }, wait: false });
  await ph.p.waitForSelector("[data-layout=phone]", { timeout: 60_000 });
  check((await ph.p.locator("[role=tab]").count()) >= 3, "phone viewport shows Problem / Code / Console tabs");
  await ph.p.waitForSelector("[data-testid=run-button]", { state: "attached", timeout: 30_000 });
  check(await ph.p.isDisabled("[data-testid=run-button]"), "a spectator's Run is disabled");
  await ph.p.waitForSelector(".monaco-editor .view-lines >> text=package main", { timeout: 60_000 });
  await ph.p.screenshot({ path: join(shots, "relay-phone-spectator.png") });

  // A forged invite is refused.
  const link = await webLink("spectator", false);
  const tok = link.split("invite=")[1];
  const inv = JSON.parse(Buffer.from(tok, "base64url").toString());
  inv.body.role = "interviewer";
  const forged = `${base}/room/${roomId}?invite=${Buffer.from(JSON.stringify(inv)).toString("base64url")}`;
  const f = await open("Mallory", forged, { wait: false });
  await f.p.waitForSelector("[data-testid=refused]", { timeout: 30_000 });
  check(true, "a forged invite link shows refused");

  // Load to editable (fresh context each time: nothing cached), with the relay's gzip and, as
  // the baseline, with the browser asking for no compression.
  async function loads(encoding) {
    const ms = [];
    let js = [];
    for (let i = 0; i < 3; i++) {
      const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 }, extraHTTPHeaders: encoding ? { "Accept-Encoding": encoding } : {} });
      await ctx.addInitScript(() => localStorage.setItem("tandem.settings.v1", JSON.stringify({ theme: "light", name: "Bench", uiLanguage: "en" })));
      const p = await ctx.newPage();
      const scripts = new Map();
      p.on("response", (r) => {
        if (!new URL(r.url()).pathname.endsWith(".js")) return;
        // The context may close before the headers are read: not a failure.
        r.allHeaders().then(
          (h) => scripts.set(new URL(r.url()).pathname, { enc: h["content-encoding"] ?? "", len: Number(h["content-length"] ?? 0) }),
          () => {},
        );
      });
      const url = await webLink("spectator", false);
      const t0 = Date.now();
      await p.goto(url);
      await p.waitForSelector(".monaco-editor textarea", { timeout: 60_000 });
      ms.push(Date.now() - t0);
      js = [...scripts.values()];
      await ctx.close();
    }
    const wire = js.reduce((s, x) => s + x.len, 0);
    return { ms, js, wire };
  }
  const gz = await loads(null);
  const plain = await loads("identity");
  const med = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  console.log(`bench load to editable via tandem-relay: gzip ${gz.ms.join(", ")} ms (median ${med(gz.ms)}) | baseline uncompressed ${plain.ms.join(", ")} ms (median ${med(plain.ms)})`);
  console.log(`bench JS before editable: ${gz.js.length} files, ${(gz.wire / 1024).toFixed(0)} kB gzip on the wire | baseline ${(plain.wire / 1024).toFixed(0)} kB uncompressed`);
  check(gz.js.length > 0 && gz.js.every((x) => x.enc === "gzip"), "the relay serves the JavaScript gzip-compressed");
} catch (e) {
  failures.push(String(e?.stack ?? e));
  console.log(`FAIL ${String(e?.message ?? e)}`);
} finally {
  await browser.close();
}
await finish(stack);
