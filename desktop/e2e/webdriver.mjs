// A minimal W3C WebDriver client (plain fetch): enough to drive the Tauri window through
// tauri-driver + WebKitWebDriver without pulling a WebDriver library into the project.

const ELEMENT = "element-6066-11e4-a52e-4f735466cecf";

export class WebDriver {
  constructor(base, id) {
    this.base = base;
    this.id = id;
  }

  static async session(base, application, args = []) {
    const body = {
      capabilities: {
        alwaysMatch: { browserName: "wry", "tauri:options": { application, args } },
      },
    };
    const r = await fetch(`${base}/session`, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
    const j = await r.json();
    if (!r.ok) throw new Error(`new session: ${JSON.stringify(j)}`);
    return new WebDriver(base, j.value.sessionId);
  }

  async cmd(method, path, body) {
    const r = await fetch(`${this.base}/session/${this.id}${path}`, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: { "content-type": "application/json" },
    });
    const j = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(`${method} ${path}: ${JSON.stringify(j.value ?? j).slice(0, 500)}`);
    return j.value;
  }

  async find(css) {
    const v = await this.cmd("POST", "/element", { using: "css selector", value: css });
    return v[ELEMENT];
  }

  /** Waits until `css` matches (and, optionally, `ok(element)` holds). */
  async waitFor(css, timeoutMs = 30000) {
    const deadline = Date.now() + timeoutMs;
    let last;
    while (Date.now() < deadline) {
      try {
        return await this.find(css);
      } catch (e) {
        last = e;
      }
      await sleep(200);
    }
    throw new Error(`timed out waiting for ${css}: ${last?.message}`);
  }

  click(el) {
    return this.cmd("POST", `/element/${el}/click`, {});
  }
  type(el, text) {
    return this.cmd("POST", `/element/${el}/value`, { text });
  }
  clear(el) {
    return this.cmd("POST", `/element/${el}/clear`, {});
  }
  exec(script, args = []) {
    return this.cmd("POST", "/execute/sync", { script, args });
  }
  /** Types into whatever has the focus (W3C actions: key down/up per character). */
  keys(text) {
    const actions = [];
    for (const ch of text) actions.push({ type: "keyDown", value: ch }, { type: "keyUp", value: ch });
    return this.cmd("POST", "/actions", { actions: [{ type: "key", id: "keyboard", actions }] });
  }
  /** Presses a chord (e.g. Control+Home), releasing in reverse order. */
  chord(...keys) {
    const actions = [...keys.map((k) => ({ type: "keyDown", value: k })), ...keys.reverse().map((k) => ({ type: "keyUp", value: k }))];
    return this.cmd("POST", "/actions", { actions: [{ type: "key", id: "keyboard", actions }] });
  }
  execAsync(script, args = []) {
    return this.cmd("POST", "/execute/async", { script, args });
  }
  screenshot() {
    return this.cmd("GET", "/screenshot");
  }
  quit() {
    return fetch(`${this.base}/session/${this.id}`, { method: "DELETE" }).catch(() => {});
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `f` until it returns a truthy value, every `everyMs` (a timing measurement needs a short
 * interval: the moment is only known to within it).
 */
export async function until(what, f, timeoutMs = 30000, everyMs = 250) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      const v = await f();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out: ${what}${last ? ` (${last.message})` : ""}`);
}
