/**
 * Per-test verdicts of a run or submit (`RunResult.tests`). Hidden tests show only their
 * verdict: their input and expected output never leave the execution node.
 */
import { useTranslation } from "react-i18next";
import type { TestReportView } from "../../room/interview";
import { cx } from "../ui";

/** The report of a finished run, if the node sent one. */
export function testsOf(result: unknown): TestReportView | null {
  const tests = (result as { tests?: TestReportView } | undefined)?.tests;
  return tests && Array.isArray(tests.cases) ? tests : null;
}

export function TestVerdicts({ report }: { report: TestReportView }) {
  const { t } = useTranslation();
  const allPassed = report.passed === report.total;
  return (
    <section aria-label={t("tests.label")} className="space-y-1 p-2 text-sm" data-testid="test-verdicts">
      <p className={cx("font-medium", allPassed ? "text-emerald-700 dark:text-emerald-400" : "text-red-700 dark:text-red-400")} data-testid="tests-summary">
        {t("tests.summary", { passed: report.passed, total: report.total })}
      </p>
      <ol className="space-y-1">
        {report.cases.map((c) => {
          const ok = c.verdict === "accepted" || c.verdict === "ok";
          return (
            <li key={`${c.hidden ? "h" : "v"}${c.index}`} className="rounded border border-zinc-200 px-2 py-1 dark:border-zinc-700" data-testid="test-case">
              <div className="flex items-center gap-2">
                <span aria-hidden="true" className={ok ? "text-emerald-600" : "text-red-600"}>
                  {ok ? "✓" : "✗"}
                </span>
                <span>{c.hidden ? t("tests.hidden", { n: c.index + 1 }) : t("tests.visible", { n: c.index + 1 })}</span>
                <span className="font-medium">{t(`tests.verdicts.${c.verdict}`, { defaultValue: c.verdict })}</span>
                {c.time_ms != null && <span className="ml-auto text-xs text-zinc-500">{t("tests.time", { ms: c.time_ms })}</span>}
              </div>
              {!c.hidden && !ok && (c.input != null || c.expected != null || c.actual != null) && (
                <dl className="mt-1 grid grid-cols-[auto_1fr] gap-x-2 font-mono text-xs">
                  {c.input != null && (
                    <>
                      <dt>{t("tests.input")}</dt>
                      <dd className="whitespace-pre-wrap">{c.input}</dd>
                    </>
                  )}
                  {c.expected != null && (
                    <>
                      <dt>{t("tests.expected")}</dt>
                      <dd className="whitespace-pre-wrap">{c.expected}</dd>
                    </>
                  )}
                  {c.actual != null && (
                    <>
                      <dt>{t("tests.actual")}</dt>
                      <dd className="whitespace-pre-wrap">{c.actual}</dd>
                    </>
                  )}
                </dl>
              )}
              {c.message && <p className="mt-1 whitespace-pre-wrap text-xs text-zinc-600 dark:text-zinc-300">{c.message}</p>}
            </li>
          );
        })}
      </ol>
    </section>
  );
}
