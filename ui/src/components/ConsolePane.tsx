/** The console: the shown run's live output, its verdict and figures, and this user's stdin. */
import { lazy, Suspense, useEffect } from "react";
import { useTranslation } from "react-i18next";
import { useRoom } from "../state/room";
import type { RunsState } from "../state/runs";
import { useSettings } from "../state/settings";
import { setUi, useUi } from "../state/ui";
import { StatusLine } from "./Verdict";
import { TestVerdicts, testsOf } from "./interview/TestVerdicts";
import { Button } from "./ui";

const XTerm = lazy(() => import("./XTerm"));

/**
 * Fetches and compiles the terminal's code once the main thread is idle, without mounting it.
 * Why: xterm.js is ~330 kB of JavaScript nobody needs before the first run, and parsing it while
 * Monaco loads delayed the moment the editor became editable; a terminal instance (buffers, DOM)
 * before any run is memory for nothing. So: the code is ready when the first run arrives, the
 * instance exists only from then on. Not in the desktop app: its assets are read from the binary
 * in a few milliseconds, and compiled code the page may never run counts against its memory
 * budget (docs/benchmarks.md, "Desktop"); the first run compiles it there.
 */
function usePrefetchTerminal(): void {
  useEffect(() => {
    if ("__TAURI_INTERNALS__" in window) return;
    const load = () => void import("./XTerm");
    const w = window as Window & { requestIdleCallback?: (cb: () => void, o?: { timeout: number }) => number; cancelIdleCallback?: (id: number) => void };
    if (w.requestIdleCallback && w.cancelIdleCallback) {
      const id = w.requestIdleCallback(load, { timeout: 3000 });
      return () => w.cancelIdleCallback?.(id);
    }
    const id = window.setTimeout(load, 50);
    return () => window.clearTimeout(id);
  }, []);
}

export function ConsolePane({ runs }: { runs: RunsState }) {
  const { t } = useTranslation();
  const conn = useRoom();
  const { stdin, selectedRun } = useUi();
  const { theme } = useSettings();
  const id = selectedRun ?? runs.order[0] ?? null;
  const run = id ? runs.byId[id] : undefined;
  const live = run && (run.status === "queued" || run.status === "running");
  usePrefetchTerminal();

  return (
    <section aria-label={t("console.label")} className="flex h-full min-h-0 flex-col bg-white dark:bg-zinc-950" data-testid="console">
      <div className="flex min-h-9 items-center gap-2 border-b border-zinc-200 px-3 py-1 dark:border-zinc-700" aria-live="polite">
        <h2 className="text-sm font-semibold">{t("console.output")}</h2>
        <div className="min-w-0 flex-1">{run ? <StatusLine run={run} /> : <span className="text-sm text-zinc-500">{t("console.noRun")}</span>}</div>
        {live && run && !run.run_id.startsWith("rejected:") && (
          <Button variant="ghost" onClick={() => conn.cancelRun(run.run_id)}>
            {t("console.cancel")}
          </Button>
        )}
      </div>
      <div className="min-h-0 flex-1">
        {run && (
          <Suspense fallback={null}>
            <XTerm runId={id} chunks={run.chunks} dark={theme === "dark"} label={t("console.output")} />
          </Suspense>
        )}
      </div>
      {run?.result && testsOf(run.result) && (
        <div className="max-h-56 overflow-auto border-t border-zinc-200 dark:border-zinc-700">
          <TestVerdicts report={testsOf(run.result)!} />
        </div>
      )}
      <div className="border-t border-zinc-200 p-2 dark:border-zinc-700">
        <label htmlFor="tandem-stdin" className="mb-1 block text-xs font-medium text-zinc-600 dark:text-zinc-300">
          {t("console.stdin")}
        </label>
        <textarea
          id="tandem-stdin"
          rows={2}
          className="w-full resize-y rounded-md border border-zinc-300 bg-white p-1.5 font-mono text-sm dark:border-zinc-600 dark:bg-zinc-900"
          value={stdin}
          onChange={(e) => setUi({ stdin: e.target.value })}
          data-testid="stdin"
        />
      </div>
    </section>
  );
}
