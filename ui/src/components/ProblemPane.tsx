/** The problem: statement (shared markdown), private notes, and the room's run history. */
import { useState } from "react";
import Markdown from "react-markdown";
import { useTranslation } from "react-i18next";
import { PROBLEM_TEXT } from "../room/connection";
import { useRoom, useYText } from "../state/room";
import type { RunsState } from "../state/runs";
import { RunHistory } from "./RunHistory";
import { Tabs } from "./Tabs";

const NOTES_KEY = "tandem.notes.";

export function ProblemPane({ runs }: { runs: RunsState }) {
  const { t } = useTranslation();
  const [tab, setTab] = useState("description");
  return (
    <section aria-label={t("problem.label")} className="h-full bg-white dark:bg-zinc-900">
      <Tabs
        label={t("problem.label")}
        value={tab}
        onValueChange={setTab}
        tabs={[
          { value: "description", label: t("problem.description"), content: <Statement /> },
          { value: "notes", label: t("problem.notes"), content: <Notes /> },
          { value: "runs", label: t("problem.runs"), content: <RunHistory runs={runs} /> },
        ]}
      />
    </section>
  );
}

function Statement() {
  const { t } = useTranslation();
  const conn = useRoom();
  const md = useYText(conn.doc.getText(PROBLEM_TEXT));
  if (!md.trim()) return <p className="p-4 text-sm text-zinc-500">{t("problem.empty")}</p>;
  return (
    <article className="prose-tandem p-4 text-sm leading-relaxed" data-testid="problem-statement">
      <Markdown>{md}</Markdown>
    </article>
  );
}

/** Notes stay on this device: an interviewer's notes about a candidate must not reach the room. */
function Notes() {
  const { t } = useTranslation();
  const conn = useRoom();
  const key = NOTES_KEY + conn.roomId;
  const [value, setValue] = useState(() => localStorage.getItem(key) ?? "");
  return (
    <div className="flex h-full flex-col gap-1 p-3">
      <label htmlFor="tandem-notes" className="text-sm font-medium">
        {t("problem.notesLabel")}
      </label>
      <p className="text-xs text-zinc-500">{t("problem.notesHint")}</p>
      <textarea
        id="tandem-notes"
        className="min-h-40 flex-1 rounded-md border border-zinc-300 bg-white p-2 font-mono text-sm dark:border-zinc-600 dark:bg-zinc-950"
        value={value}
        onChange={(e) => {
          setValue(e.target.value);
          localStorage.setItem(key, e.target.value);
        }}
      />
    </div>
  );
}
