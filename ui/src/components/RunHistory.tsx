/** The list of runs in this session, newest first; choosing one shows it in the console. */
import { useTranslation } from "react-i18next";
import { findLanguage } from "../state/languages";
import type { RunRecord, RunsState } from "../state/runs";
import { setUi } from "../state/ui";
import { StatusLine } from "./Verdict";

export function RunHistory({ runs }: { runs: RunsState }) {
  const { t } = useTranslation();
  if (runs.order.length === 0) return <p className="p-4 text-sm text-zinc-500">{t("console.noRuns")}</p>;
  return (
    <ol className="divide-y divide-zinc-200 dark:divide-zinc-700" aria-label={t("console.history")} data-testid="run-history">
      {runs.order.map((id) => (
        <RunRow key={id} run={runs.byId[id]} />
      ))}
    </ol>
  );
}

function RunRow({ run }: { run: RunRecord }) {
  const { t } = useTranslation();
  return (
    <li className="flex items-center gap-2 px-3 py-2 text-sm">
      <div className="min-w-0 flex-1">
        <div className="truncate text-zinc-600 dark:text-zinc-300">
          {t("console.runBy", { kind: t(`console.kind.${run.kind}`), name: run.by?.name || t("console.someone"), language: run.language ? findLanguage(run.language).display_name : "" })}
        </div>
        <StatusLine run={run} />
      </div>
      <button
        type="button"
        className="rounded px-2 py-1 text-xs text-sky-700 hover:bg-sky-50 focus-visible:outline-2 focus-visible:outline-sky-500 dark:text-sky-300 dark:hover:bg-sky-950"
        onClick={() => setUi({ selectedRun: run.run_id, tabletSide: "console", phoneTab: "console" })}
      >
        {t("console.show")}
      </button>
    </li>
  );
}
