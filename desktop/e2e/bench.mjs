// Desktop benchmark: cold start to an editable editor, and the memory of all the app's processes
// with a room open and idle. Started by desktop/e2e/bench.sh (Xvfb + tauri-driver).
//
// Cold start = a new app process (`--open <room>`: reopen a stored room) until Monaco shows the
// room's text and has its input area, measured from the WebDriver new-session request (so it
// includes WebKitWebDriver launching the app: an upper bound). The OS page cache is warm.
import { readFileSync, readdirSync, readlinkSync } from "node:fs";
import { WebDriver, sleep, until } from "./webdriver.mjs";

const base = process.env.TANDEM_WEBDRIVER;
const app = process.env.TANDEM_DESKTOP_BIN;
const runs = Number(process.env.TANDEM_BENCH_RUNS ?? 5);
const idleMs = Number(process.env.TANDEM_BENCH_IDLE_MS ?? 10000);
const TARGET_START_MS = 1500;
const TARGET_MEM_MIB = 300;

const editorReady = "const t = document.querySelector('.monaco-editor textarea'); const v = document.querySelector('.monaco-editor .view-lines'); return !!(t && v && v.innerText.trim().length > 0);";

// Setup: a profile with a name and one room with the default template.
let d = await WebDriver.session(base, app);
await d.type(await d.waitFor("[data-testid=profile-name]", 60000), "Bench");
await d.click(await d.find("[data-testid=profile-save]"));
await d.click(await d.waitFor("[data-testid=create-room]"));
await until("editor", () => d.exec(editorReady), 60000);
const roomId = await d.execAsync("const cb = arguments[arguments.length - 1]; window.__TAURI_INTERNALS__.invoke('recent_rooms').then((r) => cb(r[0].id), (e) => cb(String(e)));");
await d.quit();
await sleep(1000);

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

const starts = [];
let memory;
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  d = await WebDriver.session(base, app, ["--open", roomId]);
  await until("editable editor", () => d.exec(editorReady), 30000);
  starts.push(performance.now() - t0);
  if (i === runs - 1) {
    await sleep(idleMs);
    const all = procs();
    const main = all.find((p) => p.exe === app);
    const kids = [];
    const walk = (pid) => {
      for (const c of all.filter((p) => p.ppid === pid)) {
        kids.push(c);
        walk(c.pid);
      }
    };
    walk(main.pid);
    const m = mem(main.pid);
    const webkit = kids.map((k) => ({ ...k, ...mem(k.pid) }));
    memory = {
      rust: m,
      webkit,
      total_pss: m.pss + webkit.reduce((a, k) => a + k.pss, 0),
      total_rss: m.rss + webkit.reduce((a, k) => a + k.rss, 0),
    };
  }
  await d.quit();
  await sleep(1000);
}

const sorted = [...starts].sort((a, b) => a - b);
const median = sorted[Math.floor(sorted.length / 2)];
const f = (x) => x.toFixed(0);
console.log(`cold start to editable editor (${runs} runs): median ${f(median)} ms, min ${f(sorted[0])} ms, max ${f(sorted.at(-1))} ms  | target <= ${TARGET_START_MS} ms  ${median <= TARGET_START_MS ? "OK" : "OVER"}`);
console.log(`  runs: ${starts.map(f).join(", ")} ms`);
console.log(`memory with a room open, idle ${idleMs / 1000} s (PSS; RSS double-counts shared libraries):`);
console.log(`  Rust process (tandem-desktop): PSS ${f(memory.rust.pss)} MiB, RSS ${f(memory.rust.rss)} MiB`);
for (const k of memory.webkit) console.log(`  ${k.comm} (${k.pid}): PSS ${f(k.pss)} MiB, RSS ${f(k.rss)} MiB`);
console.log(`  total: PSS ${f(memory.total_pss)} MiB (RSS sum ${f(memory.total_rss)} MiB)  | target <= ${TARGET_MEM_MIB} MiB  ${memory.total_pss <= TARGET_MEM_MIB ? "OK" : "OVER"}`);
