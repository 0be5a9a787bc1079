/**
 * The problem: statement (shared markdown), chat, the interviewers' private notes and
 * scorecard, the room's run history and (interviewers) the replay of the session.
 */
import { useState } from "react";
import Markdown from "react-markdown";
import { useTranslation } from "react-i18next";
import { PROBLEM_TEXT } from "../room/connection";
import { usePermissions, useRoom, useYText } from "../state/room";
import type { RunsState } from "../state/runs";
import { RunHistory } from "./RunHistory";
import { Tabs } from "./Tabs";
import { ChatPanel } from "./interview/ChatPanel";
import { PrivateNotes } from "./interview/PrivateNotes";
import { ReplayView } from "./interview/ReplayView";

export function ProblemPane({ runs }: { runs: RunsState }) {
  const { t } = useTranslation();
  const [tab, setTab] = useState("description");
  const perms = usePermissions();
  return (
    <section aria-label={t("problem.label")} className="h-full bg-white dark:bg-zinc-900">
      <Tabs
        label={t("problem.label")}
        value={tab}
        onValueChange={setTab}
        tabs={[
          { value: "description", label: t("problem.description"), content: <Statement /> },
          { value: "chat", label: t("problem.chat"), content: <ChatPanel /> },
          ...(perms.canManage ? [{ value: "notes", label: t("problem.notes"), content: <PrivateNotes /> }] : []),
          { value: "runs", label: t("problem.runs"), content: <RunHistory runs={runs} /> },
          ...(perms.canManage ? [{ value: "replay", label: t("problem.replay"), content: <ReplayView /> }] : []),
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
