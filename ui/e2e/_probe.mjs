import { chromium } from "playwright-core";
import { startRelay } from "/work/main/ui/e2e/relay.mjs";
const relay = await startRelay({ dist: "/work/main/ui/dist" });
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu"] });
for (let i = 0; i < 4; i++) {
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  await ctx.addInitScript(() => localStorage.setItem("tandem.settings.v1", JSON.stringify({ theme: "light", name: "Bench", uiLanguage: "en" })));
  const p = await ctx.newPage();
  const t0 = Date.now();
  await p.goto(`${relay.url}/room/bench?invite=spectator`);
  await p.waitForSelector(".monaco-editor textarea", { timeout: 60_000 });
  const ms = Date.now() - t0;
  const t = await p.evaluate(() => {
    const n = performance.getEntriesByType("navigation")[0];
    const r = performance.getEntriesByType("resource").filter((e) => e.name.endsWith(".js") || e.name.endsWith(".css")).map((e) => `${e.name.split("/").pop()} ${e.startTime.toFixed(0)}-${e.responseEnd.toFixed(0)}`);
    return { dcl: n.domContentLoadedEventEnd.toFixed(0), load: n.loadEventEnd.toFixed(0), now: performance.now().toFixed(0), r };
  });
  console.log(ms, JSON.stringify(t));
  await ctx.close();
}
await browser.close(); await relay.close();
