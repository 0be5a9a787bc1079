// Two (and three) real browsers in one room through the stand-in relay (e2e/relay.mjs): they
// edit at once and converge, see each other's named cursors, a run streams into both consoles,
// a read-only candidate cannot type, a spectator cannot run; and keystroke-in-A to painted-in-B
// latency is measured (printed, never asserted). Screenshots go to docs/screenshots/.
//
// Run: cd ui && npm run build && node e2e/collab.mjs     (part of `npm run e2e`)
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startRelay } from "./relay.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const shots = resolve(here, "../../docs/screenshots");
mkdirSync(shots, { recursive: true });

const relay = await startRelay();
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const failures = [];
const check = (cond, what) => {
  if (!cond) failures.push(what);
  console.log(`${cond ? "ok  " : "FAIL"} ${what}`);
};
const lines = async (p) => (await p.locator(".monaco-editor .view-lines").innerText()).replace(/\u00a0/g, " ");

async function open(name, invite, theme = "light") {
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: theme });
  await ctx.addInitScript(([n, t]) => localStorage.setItem("tandem.settings.v1", JSON.stringify({ theme: t, name: n, uiLanguage: "en" })), [name, theme]);
  const p = await ctx.newPage();
  p.on("pageerror", (e) => failures.push(`${name}: page error: ${e.message}`));
  await p.goto(`${relay.url}/room/interview-1?invite=${invite}`);
  await p.waitForSelector(".monaco-editor .view-lines", { timeout: 60_000 });
  await p.waitForFunction(() => document.querySelector(".monaco-editor .view-lines")?.textContent?.includes("import"), null, { timeout: 30_000 });
  return { ctx, p };
}

try {
  const a = await open("Ivy Interviewer", "interviewer");
  const b = await open("Cal Candidate", "candidate", "dark");
  check((await a.p.getByTestId("connection-state").innerText()).includes("relay"), "A is connected via the relay");

  // Concurrent edits: A at the end, B at the start, typed at the same time.
  await a.p.click(".monaco-editor .view-lines");
  await a.p.keyboard.press("Control+End");
  await b.p.click(".monaco-editor .view-lines");
  await b.p.keyboard.press("Control+Home");
  await Promise.all([a.p.keyboard.type("# from Ivy 😀\n", { delay: 15 }), b.p.keyboard.type("# from Cal\n", { delay: 15 })]);
  await a.p.waitForTimeout(500);
  const [ta, tb] = [await lines(a.p), await lines(b.p)];
  check(ta === tb && ta.includes("# from Ivy 😀") && ta.includes("# from Cal"), "concurrent edits converge in both browsers");

  // Named cursors.
  await a.p.waitForSelector("[class*=tandem-cur-]", { timeout: 10_000 });
  await b.p.waitForSelector("[class*=tandem-cur-]", { timeout: 10_000 });
  const css = (p) => p.evaluate(() => [...document.querySelectorAll("style")].map((s) => s.textContent).join("\n"));
  check((await css(a.p)).includes("Cal Candidate"), "A sees B's cursor labelled with B's name");
  check((await css(b.p)).includes("Ivy Interviewer"), "B sees A's cursor labelled with A's name");

  // Keystroke in A → painted in B.
  await b.p.evaluate(() => {
    const w = window;
    w.__paint = [];
    const root = document.querySelector(".monaco-editor .view-lines");
    new MutationObserver(() => {
      const n = (root.textContent.match(/~/g) || []).length;
      const t = performance.timeOrigin + performance.now();
      if (n > w.__paint.length) requestAnimationFrame(() => { while (w.__paint.length < n) w.__paint.push(t + (performance.timeOrigin + performance.now() - t)); });
    }).observe(root, { subtree: true, childList: true, characterData: true });
  });
  await a.p.evaluate(() => {
    window.__keys = [];
    window.addEventListener("keydown", (e) => e.key === "~" && window.__keys.push(performance.timeOrigin + performance.now()), true);
  });
  await a.p.keyboard.press("Control+End");
  const N = 40;
  for (let i = 0; i < N; i++) {
    await a.p.keyboard.type("~");
    await a.p.waitForTimeout(60);
  }
  await b.p.waitForFunction((n) => window.__paint.length >= n, N, { timeout: 20_000 });
  const keys = await a.p.evaluate(() => window.__keys);
  const paints = await b.p.evaluate(() => window.__paint);
  const lat = keys.map((k, i) => paints[i] - k).sort((x, y) => x - y);
  const q = (f) => lat[Math.min(lat.length - 1, Math.floor(f * lat.length))].toFixed(1);
  console.log(`info keystroke→paint over the stand-in relay, ${lat.length} keys: p50 ${q(0.5)} ms, p95 ${q(0.95)} ms (loaded 2-core machine, headless)`);

  // A run streams into both consoles.
  await b.p.fill("[data-testid=stdin]", "one two three");
  await b.p.getByTestId("run-button").click();
  for (const [who, p] of [["A", a.p], ["B", b.p]]) {
    await p.waitForSelector("[data-testid=console] [data-testid=run-status] >> text=OK", { timeout: 20_000 });
    const out = await p.locator("[data-testid=xterm]").innerText();
    check(out.includes("three two one"), `${who}'s console shows the run's output`);
  }
  await a.p.screenshot({ path: join(shots, "collab-interviewer.png") });
  await b.p.screenshot({ path: join(shots, "collab-candidate-dark.png") });

  // The interviewer makes the candidate read-only; the candidate's typing changes nothing.
  await a.p.getByTestId("participants-button").click();
  await a.p.locator("li", { hasText: "Cal Candidate" }).getByRole("button", { name: "Make read-only" }).click();
  await a.p.keyboard.press("Escape");
  await b.p.waitForSelector("header >> text=Read-only", { timeout: 10_000 });
  const before = await lines(a.p);
  await b.p.click(".monaco-editor .view-lines");
  await b.p.keyboard.type("zzz");
  await b.p.waitForTimeout(400);
  check((await lines(a.p)) === before && !(await lines(b.p)).includes("zzz"), "a read-only candidate cannot type");

  // A spectator cannot run.
  const c = await open("Sam Spectator", "spectator");
  check(await c.p.isDisabled("[data-testid=run-button]"), "a spectator's Run is disabled");
  check((await lines(c.p)).includes("# from Cal"), "a late joiner gets the document");

  // No invite, no room.
  const ctx = await browser.newContext();
  const p = await ctx.newPage();
  await p.goto(`${relay.url}/room/interview-1?invite=nope`);
  await p.waitForSelector("[data-testid=refused]", { timeout: 20_000 });
  check((await p.getByTestId("refused").innerText()).includes("refused"), "an invalid invite is refused");
} catch (e) {
  failures.push(String(e?.stack ?? e));
} finally {
  await browser.close();
  await relay.close();
}
if (failures.length) {
  console.error(failures.join("\n"));
  process.exit(1);
}
console.log("e2e collab passed");
process.exit(0);
