// The interview features end to end in real browsers against the real stack (e2e/stack.mjs:
// relay, a headless `tandem-peer` that created the room, an execution node with the bundled
// problem bank): the interviewer's browser sets and starts the timer (the candidate's browser
// shows the same clock), chats both ways, writes private notes that reach the headless
// interviewer peer but never the candidate's page, locks and unlocks the editor, picks a problem
// (statement and starter code reach the candidate), the candidate submits a right and then a
// wrong solution (both browsers show the hidden tests' verdicts, no hidden data), and the
// interviewer opens the replay (tracks, scrubber, playback at 32×). Prints a closing
// `test result:` line like cargo's.
//
// Run: cd ui && npm run build && cargo build -p tandem-relay -p tandem-peer -p tandem-exec \
//        -p tandem-agent && node e2e/interview.mjs
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";
import { reporter, shots, startStack, ui } from "./stack.mjs";

const { check, failures, finish } = reporter();
const until = async (f, tries = 200) => {
  for (let i = 0; i < tries; i++) {
    if (await f()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
};

const stack = await startStack("interview");
const { peer, ticket, webLink } = stack;
await peer.send({ cmd: "set_exec_node", ticket });

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
  check(await until(async () => (await b.getByText("Read-only").count()) === 0), "and gives the candidate the edit right back");

  // The interviewer picks a problem: statement and starter code reach the candidate.
  await a.getByTestId("pick-problem").click();
  await a.getByTestId("choose-valid-parentheses").click();
  await b.getByRole("tab", { name: "Description" }).click();
  check(await until(async () => (await b.getByTestId("problem-statement").innerText()).includes("Valid Parentheses")), "a chosen problem's statement appears at the candidate");
  const peerCode = async () => (await peer.send({ cmd: "text", file: "main.py" })).text;
  check(await until(async () => (await peerCode()).includes("def isValid")), "the problem's starter code replaces the untouched template");

  // The candidate's solution (put in by the peer: Monaco's auto-indent would mangle typed
  // Python), then Submit: both see the hidden tests' verdicts, without their data.
  const toml = readFileSync(resolve(ui, "../problems/bank/valid-parentheses.toml"), "utf8");
  const solution = toml.match(/^python = '''\n([\s\S]*?)'''/m)[1];
  const setCode = async (code) => {
    const cur = await peerCode();
    if (cur.length) await peer.send({ cmd: "delete", file: "main.py", pos: 0, len: cur.length });
    await peer.send({ cmd: "insert", file: "main.py", pos: 0, text: code });
    await b.waitForFunction((want) => document.querySelector(".monaco-editor .view-lines")?.textContent?.replace(/\u00a0/g, " ").includes(want), code.split("\n")[2].trim(), { timeout: 30_000 });
  };
  await setCode(solution);
  await b.getByTestId("submit-button").click();
  for (const [who, p] of [["interviewer", a], ["candidate", b]]) {
    await p.waitForSelector("[data-testid=tests-summary]", { timeout: 120_000 });
    check(await until(async () => /^(\d+) of \1 tests passed/.test(await p.getByTestId("tests-summary").innerText()), 600), `the ${who} sees every hidden test accepted`);
  }
  const hiddenText = await b.getByTestId("test-verdicts").innerText();
  check(!hiddenText.includes("([)]") && !hiddenText.includes("expected"), "hidden cases show verdicts only, no inputs or expected values");

  // A wrong solution: the same Submit shows the failure to both.
  await setCode(solution.replace("return not stack", "return True"));
  await b.getByTestId("submit-button").click();
  for (const [who, p] of [["interviewer", a], ["candidate", b]]) {
    check(await until(async () => /wrong answer/i.test(await p.getByTestId("test-verdicts").innerText()), 1200), `the ${who} sees the wrong answer verdict`);
  }
  await a.screenshot({ path: join(shots, "interview-submit-verdicts.png") });

  // Replay: tracks, and the code at the end is the editor's.
  await b.click(".monaco-editor .view-lines");
  await b.keyboard.press("Control+End");
  await b.keyboard.type("\n# typed by Cal\n", { delay: 10 });
  const peerHas = () => until(async () => (await peer.send({ cmd: "text", file: "main.py" })).text.includes("# typed by Cal"));
  const typed = await peerHas();
  check(typed, "the candidate's typing reaches the peer");
  if (!typed) {
    // Which side lost it: the candidate's own editor, its permissions, or the sync.
    const own = await b.evaluate(() => document.querySelector(".monaco-editor .view-lines")?.textContent ?? "(no editor)");
    const badges = await b.evaluate(() => document.body.innerText.match(/Read-only|Editor locked/g) ?? []);
    console.log(`  candidate's editor has it: ${own.includes("typed by Cal")}; editors on the page: ${await b.locator(".monaco-editor").count()}; badges: ${JSON.stringify(badges)}`);
    console.log(`  peer's members: ${JSON.stringify((await peer.send({ cmd: "members" })).members)}`);
    console.log(`  peer's controls: ${JSON.stringify((await peer.send({ cmd: "controls" })).controls)}`);
    await b.screenshot({ path: join(shots, "interview-typing-lost.png") });
  }
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
await finish(stack);
