import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { pickLanguage, resources } from ".";

type Tree = { [k: string]: string | Tree };
function flatten(t: Tree, prefix = ""): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(t)) {
    if (typeof v === "string") out.set(prefix + k, v);
    else for (const [kk, vv] of flatten(v, `${prefix}${k}.`)) out.set(kk, vv);
  }
  return out;
}
const vars = (s: string) => [...s.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]).sort();

const en = flatten(resources.en as unknown as Tree);

describe("i18n resources", () => {
  it("offers English and four more languages", () => {
    expect(Object.keys(resources).sort()).toEqual(["de", "en", "es", "fr", "ja"]);
  });

  for (const [code, res] of Object.entries(resources)) {
    it(`${code} has every English key, no extra ones, non-empty, same placeholders`, () => {
      const other = flatten(res as unknown as Tree);
      expect([...other.keys()].sort()).toEqual([...en.keys()].sort());
      for (const [k, v] of en) {
        expect(other.get(k)!.trim(), `${code}:${k}`).not.toBe("");
        expect(vars(other.get(k)!), `${code}:${k}`).toEqual(vars(v));
      }
    });
  }

  it("every t() key used in the source exists in English", () => {
    const root = resolve(__dirname, "..");
    const files: string[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = resolve(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.tsx?$/.test(e.name) && !e.name.includes(".test.")) files.push(p);
      }
    };
    walk(root);
    const missing: string[] = [];
    for (const f of files) {
      for (const m of readFileSync(f, "utf8").matchAll(/\bt\(\s*"([\w.-]+)"/g)) {
        if (!en.has(m[1])) missing.push(`${f}: ${m[1]}`);
      }
      // Template keys like t(`roles.${r}`): the prefix must exist.
      for (const m of readFileSync(f, "utf8").matchAll(/\bt\(\s*`([\w.-]+)\.\$\{/g)) {
        if (![...en.keys()].some((k) => k.startsWith(m[1] + "."))) missing.push(`${f}: ${m[1]}.*`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("picks the best supported language from the browser's list", () => {
    expect(pickLanguage(["pt-BR", "de-AT", "en"])).toBe("de");
    expect(pickLanguage(["zh-CN"])).toBe("en");
    expect(pickLanguage(["ja"])).toBe("ja");
  });
});
