/**
 * The language manifest as the UI uses it (generated from shared/languages.toml by
 * `npm run gen:languages`), and the shared language switch.
 */
import data from "../generated/languages.json";
import type { RoomConnection } from "../room/connection";

export interface Language {
  id: string;
  display_name: string;
  version: string;
  aliases: string[];
  monaco: string;
  file_name: string;
  template: string;
}

export const LANGUAGES: Language[] = data.languages;
export const DEFAULT_LANGUAGE = LANGUAGES.find((l) => l.id === "python") ?? LANGUAGES[0];

export function findLanguage(id: string | undefined): Language {
  if (!id) return DEFAULT_LANGUAGE;
  const lower = id.toLowerCase();
  return LANGUAGES.find((l) => l.id === lower || l.aliases.includes(lower)) ?? DEFAULT_LANGUAGE;
}

/**
 * The starter code for `lang` in this room: the chosen problem's (its `meta.problem_json`,
 * written by `Room::choose_problem`), else the language's template.
 */
export function starterFor(conn: RoomConnection, lang: Language): string {
  const json = conn.meta().get("problem_json");
  if (json) {
    try {
      const starter = (JSON.parse(json) as { starter?: Record<string, string> }).starter?.[lang.id];
      if (typeof starter === "string" && starter.trim() !== "") return starter;
    } catch {
      // A malformed problem leaves the plain template.
    }
  }
  return lang.template;
}

/**
 * Whether replacing the code would lose nothing: it is empty, the language's template, or the
 * room's problem's starter (`conn` given).
 */
export function isPristine(code: string, lang: Language, conn?: RoomConnection): boolean {
  const t = code.trim();
  return t === "" || t === lang.template.trim() || (!!conn && t === starterFor(conn, lang).trim());
}

/** The language and main file in effect for a room. */
export function currentLanguage(conn: RoomConnection): { lang: Language; file: string } {
  const lang = findLanguage(conn.meta().get("language"));
  return { lang, file: conn.meta().get("file") ?? lang.file_name };
}

/**
 * Switches the room's language for everyone: one transaction sets `meta.language`/`meta.file`
 * and replaces the new main file's text with the starter template, so every peer sees the
 * template and the new highlighting together.
 */
export function switchLanguage(conn: RoomConnection, id: string): void {
  const lang = findLanguage(id);
  const starter = starterFor(conn, lang);
  conn.doc.transact(() => {
    const meta = conn.meta();
    meta.set("language", lang.id);
    meta.set("file", lang.file_name);
    const text = conn.fileText(lang.file_name);
    if (text.length > 0) text.delete(0, text.length);
    text.insert(0, starter);
  }, conn.localOrigin);
}

/** Replaces the main file's code with the room's starter for its current language. */
export function loadStarter(conn: RoomConnection): void {
  switchLanguage(conn, currentLanguage(conn).lang.id);
}

/** Fills an empty room with the default language and its template (first participant only). */
export function seedRoom(conn: RoomConnection, problem?: string): void {
  if (conn.meta().get("language")) return;
  switchLanguage(conn, DEFAULT_LANGUAGE.id);
  if (problem) {
    const p = conn.doc.getText("problem");
    conn.doc.transact(() => {
      if (p.length === 0) p.insert(0, problem);
    }, conn.localOrigin);
  }
}

