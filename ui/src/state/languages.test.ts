import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse } from "smol-toml";
import { LANGUAGES, findLanguage } from "./languages";

describe("generated language list", () => {
  it("matches shared/languages.toml (run `npm run gen:languages` after changing it)", () => {
    const toml = parse(readFileSync(resolve(__dirname, "../../../shared/languages.toml"), "utf8")) as { language: { id: string; template?: string; monaco?: string; file_name: string }[] };
    expect(LANGUAGES.map((l) => l.id)).toEqual(toml.language.map((l) => l.id));
    toml.language.forEach((l, i) => {
      expect(LANGUAGES[i].template).toBe(l.template ?? "");
      expect(LANGUAGES[i].monaco).toBe(l.monaco ?? "plaintext");
      expect(LANGUAGES[i].file_name).toBe(l.file_name);
    });
  });
  it("resolves aliases", () => {
    expect(findLanguage("py").id).toBe("python");
    expect(findLanguage("node").id).toBe("javascript");
  });
});
