// Desktop benchmark: cold start to an editable editor, and the memory of all the app's processes
// with a room open and idle, each printed beside the same figure for a baseline measured in the
// same run: the same binary as a bare Tauri window (`tandem-desktop --bench-baseline`: same
// Tauri, WebKitGTK and webview settings, a one-textarea page, no room peer). Started by desktop/e2e/bench.sh (Xvfb + tauri-driver).
//
// Cold start = a new process until the page is editable (app: `--open <room>` reopens a stored
// room, until Monaco shows the room's text and has its input area; baseline: its textarea),
// measured from the WebDriver new-session request (so both include WebKitWebDriver launching
// the program: an upper bound). Starts alternate app / baseline so load drift hits both alike.
// The OS page cache is warm (a first, unmeasured start of each).
import { readFileSync, readdirSync, readlinkSync } from "node:fs";
import { WebDriver, sleep, until } from "./webdriver.mjs";

const base = process.env.TANDEM_WEBDRIVER;
const app = process.env.TANDEM_DESKTOP_BIN;
const baselineArgs = ["--bench-baseline"];
const runs = Number(process.env.TANDEM_BENCH_RUNS ?? 7);
const idleMs = Number(process.env.TANDEM_BENCH_IDLE_MS ?? 10000);
const TARGET_START_MS = 1500;
const TARGET_MEM_MIB = 300;

const editorReady =
  "const t = document.querySelector('.monaco-editor textarea'); const v = document.querySelector('.monaco-editor .view-lines'); return !!(t && v && v.innerText.trim().length > 0);";
const baselineReady = "const t = document.querySelector('textarea.baseline'); return !!(t && t.value.length > 0);";

function procs() {
  const out = [];
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      let exe = "";
      try {
        exe = readlinkSync(`/proc/${p}/exe`);
      } catch {}
      out.push({ pid: Number(p), ppid, exe, comm: readFileSync(`/proc/${p}/comm`, "utf8").trim() });
    } catch {}
  }
  return out;
}
function mem(pid) {
  const r = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const kb = (k) => Number(r.match(new RegExp(`^${k}:\\s+(\\d+)`, "m"))?.[1] ?? 0);
  return { rss: kb("Rss") / 1024, pss: kb("Pss") / 1024 };
}
/**
 * Where one process's PSS lives, by mapping name (anonymous mappings as "[anon]"), the largest
 * first: for finding what to cut (TANDEM_BENCH_SMAPS=1).
 */
function breakdown(pid, top = 12) {
  const by = new Map();
  let name = "";
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const head = line.match(/^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/);
    if (head) name = head[1] || "[anon]";
    const pss = line.match(/^Pss:\s+(\d+)/);
    if (pss) by.set(name, (by.get(name) ?? 0) + Number(pss[1]) / 1024);
  }
  return [...by].sort((a, b) => b[1] - a[1]).slice(0, top);
}
/** The program's process and every process under it (WebKitWebProcess, WebKitNetworkProcess). */
function memoryOf(bin) {
  const all = procs();
  const main = all.find((p) => p.exe === bin);
  if (!main) throw new Error(`${bin} is not running`);
  const kids = [];
  const walk = (pid) => {
    for (const c of all.filter((p) => p.ppid === pid)) {
      kids.push(c);
      walk(c.pid);
    }
  };
  walk(main.pid);
  // PSS splits a shared page between every process that maps it: another WebKit process or X
  // server with Mesa on the machine (a leftover app, a browser, a second Xvfb — Mesa's libLLVM is
  // 20 MiB of each process's figure) would make these figures smaller than they are. This
  // script's own Xvfb maps Mesa for app and baseline alike.
  const ours = new Set([main.pid, ...kids.map((k) => k.pid), Number(process.env.TANDEM_XVFB_PID ?? 0)]);
  const others = all.filter((p) => {
    if (ours.has(p.pid)) return false;
    try {
      const maps = readFileSync(`/proc/${p.pid}/maps`, "utf8");
      return maps.includes("libwebkit2gtk") || maps.includes("libLLVM");
    } catch {
      return false;
    }
  });
  if (others.length) {
    console.log(`  WARNING: other processes map WebKit or Mesa (${others.map((p) => `${p.comm} ${p.pid}`).join(", ")}): PSS is understated`);
  }
  const m = mem(main.pid);
  const webkit = kids.map((k) => ({ ...k, ...mem(k.pid) }));
  if (process.env.TANDEM_BENCH_SMAPS === "1") {
    for (const p of [main, ...kids]) {
      console.log(`  ${bin === app ? "app" : "?"} ${p.comm} (${p.pid}), PSS by mapping:`);
      for (const [n, mib] of breakdown(p.pid)) console.log(`    ${mib.toFixed(1).padStart(7)} MiB  ${n}`);
    }
  }
  return {
    rust: m,
    webkit,
    total_pss: m.pss + webkit.reduce((a, k) => a + k.pss, 0),
    total_rss: m.rss + webkit.reduce((a, k) => a + k.rss, 0),
  };
}
/** The app allows one process per profile: the next start waits for the last one to be gone. */
async function gone(bin) {
  await until(`${bin} to exit`, () => !procs().some((p) => p.exe === bin), 30000);
}

async function start(bin, args, ready) {
  const t0 = performance.now();
  const d = await WebDriver.session(base, bin, args);
  // Every 10 ms (each check is a WebDriver round trip of a few ms): with the usual 250 ms the
  // figure moved in 250 ms steps.
  await until("editable page", () => d.exec(ready), 60000, 10);
  return { d, ms: performance.now() - t0 };
}

// Setup: a profile with a name and one room with the default template.
let d = await WebDriver.session(base, app);
await d.type(await d.waitFor("[data-testid=profile-name]", 60000), "Bench");
await d.click(await d.find("[data-testid=profile-save]"));
await d.click(await d.waitFor("[data-testid=create-room]"));
await until("editor", () => d.exec(editorReady), 60000);
const roomId = await d.execAsync(
  "const cb = arguments[arguments.length - 1]; window.__TAURI_INTERNALS__.invoke('recent_rooms').then((r) => cb(r[0].id), (e) => cb(String(e)));",
);
await d.quit();
await gone(app);
// Warm-up: one unmeasured start of the baseline (the app's files were just read by the setup).
({ d } = await start(app, baselineArgs, baselineReady));
await d.quit();
await gone(app);

const times = { app: [], baseline: [] };
const memory = {};
for (let i = 0; i < runs; i++) {
  for (const [name, bin, args, ready] of [
    ["app", app, ["--open", roomId], editorReady],
    ["baseline", app, baselineArgs, baselineReady],
  ]) {
    const s = await start(bin, args, ready);
    times[name].push(s.ms);
    if (i === runs - 1) {
      await sleep(idleMs);
      memory[name] = memoryOf(bin);
    }
    await s.d.quit();
    await gone(bin);
  }
}

const f = (x) => x.toFixed(0);
const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], min: s[0], max: s.at(-1) };
};
const a = stats(times.app);
const b = stats(times.baseline);
console.log(`cold start to an editable page, ${runs} starts each (median, min / max):`);
console.log(`  Tandem (editor with the room's text):   ${f(a.median)} ms (${f(a.min)} / ${f(a.max)})  | target <= ${TARGET_START_MS} ms  ${a.median <= TARGET_START_MS ? "OK" : "OVER"}`);
console.log(`  baseline (bare Tauri window, textarea): ${f(b.median)} ms (${f(b.min)} / ${f(b.max)})`);
console.log(`  Tandem over the baseline: ${f(a.median - b.median)} ms`);
console.log(`    app starts: ${times.app.map(f).join(", ")} ms`);
console.log(`    baseline starts: ${times.baseline.map(f).join(", ")} ms`);
console.log(`memory, idle ${idleMs / 1000} s after the last start (PSS from smaps_rollup; RSS double-counts shared libraries):`);
for (const [name, label] of [
  ["app", "Tandem, room open"],
  ["baseline", "baseline"],
]) {
  const m = memory[name];
  console.log(`  ${label}: total PSS ${f(m.total_pss)} MiB (RSS sum ${f(m.total_rss)} MiB)${name === "app" ? `  | target <= ${TARGET_MEM_MIB} MiB  ${m.total_pss <= TARGET_MEM_MIB ? "OK" : "OVER"}` : ""}`);
  console.log(`    Rust process: PSS ${f(m.rust.pss)} MiB, RSS ${f(m.rust.rss)} MiB`);
  for (const k of m.webkit) console.log(`    ${k.comm}: PSS ${f(k.pss)} MiB, RSS ${f(k.rss)} MiB`);
}
