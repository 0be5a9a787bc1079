/** A run's status or verdict with its figures (CPU, wall, memory, exit code or signal). */
import { useTranslation } from "react-i18next";
import { figures, type RunRecord } from "../state/runs";
import { cx } from "./ui";

export function StatusLine({ run }: { run: RunRecord }) {
  const { t } = useTranslation();
  let text: string;
  let tone = "text-zinc-600 dark:text-zinc-300";
  switch (run.status) {
    case "finished":
      text = t(`verdict.${run.verdict ?? "internal_error"}`);
      tone = run.verdict === "ok" ? "text-emerald-600 dark:text-emerald-400" : "text-red-600 dark:text-red-400";
      break;
    case "queued":
      text = t("status.queued", { position: (run.position ?? 0) + 1 });
      break;
    case "error":
    case "rejected":
      text = t(`status.${run.status}`, { message: run.error ?? "" });
      tone = "text-red-600 dark:text-red-400";
      break;
    default:
      text = t(`status.${run.status}`);
  }
  const f = figures(run);
  return (
    <div className="flex flex-wrap items-baseline gap-x-3 gap-y-0.5 text-sm" data-testid="run-status">
      <strong className={cx("font-semibold", tone)}>{text}</strong>
      {f && (
        <span className="flex flex-wrap gap-x-3 text-xs text-zinc-500 tabular-nums">
          <span>{t("figures.cpu", { ms: f.cpu_ms })}</span>
          <span>{t("figures.wall", { ms: f.wall_ms })}</span>
          {f.memory_bytes !== null && <span>{t("figures.memory", { mb: (f.memory_bytes / (1024 * 1024)).toFixed(1) })}</span>}
          {f.signal ? <span>{t("figures.signal", { signal: f.signal })}</span> : f.exit_code !== null && <span>{t("figures.exit", { code: f.exit_code })}</span>}
        </span>
      )}
    </div>
  );
}
