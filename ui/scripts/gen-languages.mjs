// Generates src/generated/languages.json from the shared language manifest.
//
// Why a generated file rather than reading the manifest at run time: the UI must show the
// language selector before it has reached any server (demo mode, offline), and only the fields
// the UI needs are shipped (never the sandbox commands).
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "smol-toml";

const here = dirname(fileURLToPath(import.meta.url));
const src = resolve(here, "../../shared/languages.toml");
const out = resolve(here, "../src/generated/languages.json");

const manifest = parse(readFileSync(src, "utf8"));
if (manifest.schema !== 1) throw new Error(`unsupported manifest schema ${manifest.schema}`);
const languages = manifest.language.map((l) => ({
  id: l.id,
  display_name: l.display_name,
  version: l.version,
  aliases: l.aliases ?? [],
  monaco: l.monaco ?? "plaintext",
  file_name: l.file_name,
  template: l.template ?? "",
}));
writeFileSync(out, JSON.stringify({ schema: 1, languages }, null, 2) + "\n");
console.log(`wrote ${languages.length} languages to ${out}`);
