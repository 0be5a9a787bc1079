// Smoke test in a real browser: `vite preview` of the built app in demo mode, driven by
// playwright-core with Debian's chromium (`apt-get install -y chromium`). Saves screenshots of
// the main views to docs/screenshots/ and fails on page errors or missing views.
//
// Run: cd ui && npm run e2e      (builds first; CHROMIUM=/path overrides the browser)
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const ui = resolve(here, "..");
const shots = resolve(ui, "../docs/screenshots");
mkdirSync(shots, { recursive: true });
const port = 4000 + Math.floor(Math.random() * 1000);
const base = `http://127.0.0.1:${port}`;

const preview = spawn(process.execPath, [resolve(ui, "node_modules/vite/bin/vite.js"), "preview", "--host", "127.0.0.1", "--port", String(port), "--strictPort"], {
  cwd: ui,
  stdio: ["ignore", "pipe", "pipe"],
});
process.on("exit", () => preview.kill("SIGTERM"));
preview.stdout.resume();
preview.stderr.resume();
// Poll rather than parse vite's coloured banner.
for (let i = 0; ; i++) {
  if (preview.exitCode !== null) throw new Error(`vite preview exited ${preview.exitCode}`);
  if (i > 300) throw new Error("vite preview did not start");
  try {
    if ((await fetch(base + "/")).ok) break;
  } catch {
    /* not up yet */
  }
  await new Promise((r) => setTimeout(r, 200));
}

// playwright-core gives every launch a fresh temporary profile (it refuses --user-data-dir).
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

const failures = [];
const check = (cond, what) => {
  if (!cond) failures.push(what);
  console.log(`${cond ? "ok  " : "FAIL"} ${what}`);
};

async function page(viewport, theme, query = "?demo") {
  const ctx = await browser.newContext({ viewport, colorScheme: theme });
  await ctx.addInitScript((t) => localStorage.setItem("tandem.settings.v1", JSON.stringify({ theme: t, name: "Grace Hopper", uiLanguage: "en" })), theme);
  const p = await ctx.newPage();
  p.on("pageerror", (e) => failures.push(`page error: ${e.message}`));
  await p.goto(base + "/" + query);
  return { ctx, p };
}

try {
  const views = [
    { name: "desktop", viewport: { width: 1440, height: 900 } },
    { name: "tablet", viewport: { width: 1024, height: 768 } },
    { name: "phone", viewport: { width: 390, height: 844 } },
  ];
  for (const v of views) {
    for (const theme of ["light", "dark"]) {
      const { ctx, p } = await page(v.viewport, theme);
      check((await p.getAttribute("[data-layout]", "data-layout")) === v.name, `${v.name}/${theme}: layout is ${v.name}`);
      if (v.name !== "phone") {
        await p.waitForSelector(".monaco-editor .view-lines", { timeout: 60_000 });
        await p.waitForSelector("[class*=tandem-cur-]", { timeout: 20_000 });
        check(true, `${v.name}/${theme}: editor and remote cursor shown`);
        if (v.name === "desktop") {
          await p.fill("[data-testid=stdin]", "the sky is blue");
          await p.click(".monaco-editor .view-lines");
          await p.keyboard.press("Control+Enter");
          await p.waitForSelector("[data-testid=console] [data-testid=run-status] >> text=OK", { timeout: 20_000 });
          check(true, `${v.name}/${theme}: Ctrl+Enter runs and shows the verdict`);
        }
      } else {
        check((await p.locator("[role=tab]").count()) >= 3, `phone/${theme}: Problem / Code / Console tabs`);
        await p.waitForSelector(".monaco-editor .view-lines", { timeout: 60_000 });
      }
      await p.waitForTimeout(300);
      await p.screenshot({ path: join(shots, `${v.name}-${theme}.png`) });
      if (v.name === "phone") {
        await p.getByRole("tab", { name: "Problem" }).click();
        await p.waitForSelector("[data-testid=problem-statement]");
        await p.screenshot({ path: join(shots, `phone-problem-${theme}.png`) });
      }
      await ctx.close();
    }
  }
  // Load to editable and the JavaScript it took (gzip), for docs/ui.md's budget.
  {
    const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    await ctx.addInitScript(() => localStorage.setItem("tandem.settings.v1", JSON.stringify({ theme: "light", name: "Bench", uiLanguage: "en" })));
    const p = await ctx.newPage();
    const scripts = new Set();
    p.on("response", (r) => {
      if (r.url().endsWith(".js")) scripts.add(new URL(r.url()).pathname);
    });
    const t0 = Date.now();
    await p.goto(base + "/?demo");
    await p.waitForSelector(".monaco-editor textarea", { timeout: 60_000 });
    const ms = Date.now() - t0;
    const { gzipSync } = await import("node:zlib");
    const { readFileSync } = await import("node:fs");
    let raw = 0;
    let gz = 0;
    for (const path of scripts) {
      const buf = readFileSync(join(ui, "dist", path));
      raw += buf.length;
      gz += gzipSync(buf).length;
    }
    console.log(`info load to editable: ${ms} ms (vite preview, loaded machine); JS before editable: ${scripts.size} files, ${(raw / 1024).toFixed(0)} kB, ${(gz / 1024).toFixed(0)} kB gzip`);
    await ctx.close();
  }
  // Interface language, theme toggle and the Vim keymap.
  {
    const { ctx, p } = await page({ width: 1440, height: 900 }, "light");
    await p.waitForSelector(".monaco-editor .view-lines", { timeout: 60_000 });
    await p.getByTestId("theme-toggle").click();
    check(await p.evaluate(() => document.documentElement.classList.contains("dark")), "theme toggle switches to dark");
    await p.getByTestId("settings-button").click();
    await p.selectOption("[data-testid=ui-language]", "ja");
    await p.selectOption("[data-testid=keymap]", "vim");
    await p.keyboard.press("Escape");
    check((await p.getByTestId("run-button").innerText()).includes("実行"), "UI language switches to Japanese");
    await p.click(".monaco-editor .view-lines");
    await p.waitForFunction(() => /NORMAL|normal/.test(document.body.innerText), null, { timeout: 20_000 });
    check(true, "Vim keymap shows its mode line");
    await p.screenshot({ path: join(shots, "desktop-ja-dark-vim.png") });
    await ctx.close();
  }
  // Emacs keymap: Ctrl+A goes to the start of the line (the standard keymap would select all).
  {
    const { ctx, p } = await page({ width: 1440, height: 900 }, "light");
    await p.waitForSelector(".monaco-editor .view-lines", { timeout: 60_000 });
    await p.getByTestId("settings-button").click();
    await p.selectOption("[data-testid=keymap]", "emacs");
    await p.keyboard.press("Escape");
    await p.waitForSelector("[data-keymap=emacs]", { timeout: 20_000 });
    await p.click(".monaco-editor .view-lines");
    await p.keyboard.press("Control+End");
    await p.keyboard.type("abc");
    await p.keyboard.press("Control+a");
    await p.keyboard.type("X");
    // Monaco renders spaces as no-break spaces.
    const text = (await p.locator(".monaco-editor .view-lines").innerText()).replace(/\u00a0/g, " ");
    check(/Xabc/.test(text) && text.includes("import sys"), `Emacs keymap: Ctrl+A moves to line start (${JSON.stringify(text.slice(-40))})`);
    await ctx.close();
  }
  // Role gating: a spectator's Run is disabled and the editor is read-only.
  {
    const { ctx, p } = await page({ width: 1440, height: 900 }, "light", "?demo&as=spectator");
    await p.waitForSelector(".monaco-editor .view-lines", { timeout: 60_000 });
    check(await p.isDisabled("[data-testid=run-button]"), "spectator: Run disabled");
    const before = await p.locator(".monaco-editor .view-lines").innerText();
    await p.click(".monaco-editor .view-lines");
    await p.keyboard.type("zzz");
    const after = await p.locator(".monaco-editor .view-lines").innerText();
    check(before === after, "spectator: typing changes nothing");
    await p.screenshot({ path: join(shots, "desktop-spectator.png") });
    await ctx.close();
  }
  // The language switch asks before discarding edited code.
  {
    const { ctx, p } = await page({ width: 1440, height: 900 }, "dark");
    await p.waitForSelector(".monaco-editor .view-lines", { timeout: 60_000 });
    await p.click(".monaco-editor .view-lines");
    await p.keyboard.press("Control+End");
    await p.keyboard.type("\n# edited");
    await p.selectOption("[data-testid=language-select]", "go");
    await p.waitForSelector("role=dialog");
    await p.screenshot({ path: join(shots, "desktop-switch-language.png") });
    await p.getByRole("button", { name: "Switch and discard" }).click();
    await p.waitForSelector(".monaco-editor .view-lines >> text=package main", { timeout: 20_000 });
    check(true, "language switch: confirm loads the Go template");
    await p.getByTestId("participants-button").click();
    await p.waitForSelector("[data-testid=participants-list]");
    await p.screenshot({ path: join(shots, "desktop-participants.png") });
    await ctx.close();
  }
} catch (e) {
  failures.push(String(e?.stack ?? e));
} finally {
  await browser.close();
  preview.kill("SIGTERM");
}
if (failures.length) {
  console.error(failures.join("\n"));
  process.exit(1);
}
console.log("e2e smoke passed");
process.exit(0);
