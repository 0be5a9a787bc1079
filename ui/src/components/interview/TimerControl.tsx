/** The shared countdown: everyone sees it; interviewers start, pause, extend and set it. */
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { formatClock, timerRemaining } from "../../room/interview";
import { useInterview, useNow } from "../../state/interview";
import { usePermissions, useRoom } from "../../state/room";
import { Button, cx } from "../ui";

export function TimerControl() {
  const { t } = useTranslation();
  const conn = useRoom();
  const perms = usePermissions(conn);
  const { controls } = useInterview(conn);
  const timer = controls.timer;
  const now = useNow(!!timer?.running_since_ms);
  const [error, setError] = useState<string | null>(null);
  const [minutes, setMinutes] = useState("45");
  const call = (p: Promise<unknown>) => {
    setError(null);
    p.catch((e: Error) => setError(e.message));
  };
  const remaining = timer ? timerRemaining(timer, now) : null;
  const running = !!timer?.running_since_ms;
  return (
    <div className="flex items-center gap-1" data-testid="timer">
      {remaining !== null && (
        <span
          role="timer"
          aria-label={t("timer.remaining", { time: formatClock(remaining) })}
          className={cx("rounded px-1.5 py-0.5 font-mono text-sm tabular-nums", remaining === 0 ? "bg-red-600 text-white" : remaining < 5 * 60_000 ? "bg-amber-100 text-amber-900 dark:bg-amber-900/60 dark:text-amber-100" : "bg-zinc-100 dark:bg-zinc-800")}
          data-testid="timer-remaining"
        >
          {remaining === 0 ? t("timer.over") : formatClock(remaining)}
        </span>
      )}
      {perms.canManage && (
        <>
          {timer ? (
            <Button compact variant="ghost" onClick={() => call(conn.interview(running ? "timer_pause" : "timer_start", {}))} data-testid="timer-toggle">
              {running ? t("timer.pause") : t("timer.start")}
            </Button>
          ) : null}
          {timer ? (
            <Button compact variant="ghost" onClick={() => call(conn.interview("timer_extend", { by_ms: 5 * 60_000 }))} data-testid="timer-extend">
              {t("timer.extend")}
            </Button>
          ) : (
            <form
              className="flex items-center gap-1"
              onSubmit={(e) => {
                e.preventDefault();
                const m = Number(minutes);
                if (m > 0) call(conn.interview("timer_set", { duration_ms: Math.round(m * 60_000) }));
              }}
            >
              <input
                type="number"
                min={1}
                max={600}
                value={minutes}
                onChange={(e) => setMinutes(e.target.value)}
                aria-label={t("timer.minutes")}
                className="w-14 rounded border border-zinc-300 bg-white px-1 py-0.5 text-sm dark:border-zinc-600 dark:bg-zinc-800"
              />
              <Button compact variant="ghost" type="submit" data-testid="timer-set">
                {t("timer.set")}
              </Button>
            </form>
          )}
        </>
      )}
      {error && (
        <span role="alert" className="text-xs text-red-600">
          {error}
        </span>
      )}
    </div>
  );
}
