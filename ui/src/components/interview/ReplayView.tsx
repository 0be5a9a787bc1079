/**
 * The replay: the session's timeline from the documents' history. A scrubber and play/pause at
 * 1×–32×, the code at the chosen moment (rebuilt exactly from the recorded updates), and one
 * track per participant with edits, large pastes, runs/submits and long absences marked.
 */
import { useEffect, useMemo, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { formatClock, REPLAY_SPEEDS, ReplayEngine, type Marker, type Timeline } from "../../room/interview";
import { useRoom } from "../../state/room";
import { Button, Select, cx } from "../ui";

const TICK_MS = 100;

const markerColour: Record<Marker["kind"], string> = {
  edit: "bg-sky-400",
  paste: "bg-amber-500",
  run: "bg-emerald-600",
  away: "bg-red-400/70",
};

export function ReplayView() {
  const { t } = useTranslation();
  const conn = useRoom();
  const [timeline, setTimeline] = useState<Timeline | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = () => {
    setError(null);
    conn
      .interview("timeline", {})
      .then((r) => setTimeline(r.timeline as Timeline))
      .catch((e: Error) => setError(e.message));
  };
  useEffect(load, [conn]);
  if (error)
    return (
      <p role="alert" className="p-4 text-sm text-red-600">
        {t("replay.error", { message: error })}
      </p>
    );
  if (!timeline) return <p className="p-4 text-sm text-zinc-500">{t("app.loading")}</p>;
  if (timeline.updates.length === 0) return <p className="p-4 text-sm text-zinc-500">{t("replay.empty")}</p>;
  return <Player timeline={timeline} onReload={load} />;
}

export function Player({ timeline, onReload }: { timeline: Timeline; onReload?: () => void }) {
  const { t } = useTranslation();
  const engine = useMemo(() => new ReplayEngine(timeline.updates), [timeline]);
  useEffect(() => () => engine.destroy(), [engine]);
  const start = timeline.start_ms;
  const end = Math.max(timeline.end_ms, start + 1);
  const [at, setAt] = useState(end);
  const [playing, setPlaying] = useState(false);
  const [speed, setSpeed] = useState<number>(1);
  const atRef = useRef(at);
  atRef.current = at;
  useEffect(() => {
    if (!playing) return;
    const id = setInterval(() => {
      const next = Math.min(end, atRef.current + TICK_MS * speed);
      setAt(next);
      if (next >= end) setPlaying(false);
    }, TICK_MS);
    return () => clearInterval(id);
  }, [playing, speed, end]);
  const files = engine.at(at);
  const names = Object.keys(files).sort();
  const [file, setFile] = useState<string | null>(null);
  const shown = file && names.includes(file) ? file : names[0];
  const pct = (ms: number) => `${(((ms - start) / (end - start)) * 100).toFixed(3)}%`;
  return (
    <div className="flex h-full flex-col gap-2 p-3" data-testid="replay">
      <div className="flex flex-wrap items-center gap-2">
        <Button
          compact
          variant="primary"
          onClick={() => {
            if (!playing && at >= end) setAt(start);
            setPlaying(!playing);
          }}
          data-testid="replay-play"
        >
          {playing ? t("replay.pause") : t("replay.play")}
        </Button>
        <Select label={t("replay.speed")} value={speed} onChange={(e) => setSpeed(Number(e.target.value))} data-testid="replay-speed">
          {REPLAY_SPEEDS.map((s) => (
            <option key={s} value={s}>
              {s}×
            </option>
          ))}
        </Select>
        <span className="font-mono text-sm tabular-nums" data-testid="replay-clock">
          {formatClock(at - start)} / {formatClock(end - start)}
        </span>
        {onReload && (
          <Button compact variant="ghost" onClick={onReload}>
            {t("replay.reload")}
          </Button>
        )}
      </div>
      <input
        type="range"
        min={start}
        max={end}
        step={1}
        value={at}
        onChange={(e) => {
          setPlaying(false);
          setAt(Number(e.target.value));
        }}
        aria-label={t("replay.position")}
        aria-valuetext={formatClock(at - start)}
        className="w-full"
        data-testid="replay-scrubber"
      />
      <ol className="space-y-1" aria-label={t("replay.tracks")}>
        {timeline.tracks.map((track) => (
          <li key={track.member} className="flex items-center gap-2 text-xs" data-testid="replay-track">
            <span className="w-28 truncate" title={track.member}>
              {track.name || track.member.slice(0, 8)} <span className="text-zinc-500">{track.role ? t(`roles.${track.role}`, { defaultValue: track.role }) : ""}</span>
            </span>
            <div className="relative h-4 flex-1 rounded bg-zinc-100 dark:bg-zinc-800">
              {track.markers.map((m, i) => (
                <button
                  key={i}
                  type="button"
                  className={cx("absolute top-0 h-4 min-w-[3px] rounded-sm", markerColour[m.kind], m.kind === "edit" ? "opacity-50" : "")}
                  style={{ left: pct(m.at_ms), width: m.kind === "away" ? pct(start + (m.until_ms - m.at_ms)) : undefined }}
                  title={markerTitle(t, m)}
                  aria-label={markerTitle(t, m)}
                  onClick={() => {
                    setPlaying(false);
                    setAt(m.at_ms);
                  }}
                  data-kind={m.kind}
                />
              ))}
              <span aria-hidden="true" className="absolute top-0 h-4 w-px bg-zinc-900 dark:bg-white" style={{ left: pct(at) }} />
            </div>
          </li>
        ))}
      </ol>
      {names.length > 1 && (
        <Select label={t("replay.file")} value={shown} onChange={(e) => setFile(e.target.value)}>
          {names.map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </Select>
      )}
      <pre className="min-h-0 flex-1 overflow-auto rounded border border-zinc-200 bg-white p-2 font-mono text-xs dark:border-zinc-700 dark:bg-zinc-950" data-testid="replay-code" aria-label={t("replay.code")}>
        {shown ? files[shown] : ""}
      </pre>
    </div>
  );
}

function markerTitle(t: (k: string, o?: Record<string, unknown>) => string, m: Marker): string {
  const when = new Date(m.at_ms).toLocaleTimeString();
  switch (m.kind) {
    case "edit":
      return t("replay.markers.edit", { when, n: m.inserted });
    case "paste":
      return t("replay.markers.paste", { when, n: m.inserted });
    case "run":
      return t("replay.markers.run", { when, kind: m.run_kind, verdict: m.verdict });
    case "away":
      return t("replay.markers.away", { when, duration: formatClock(m.until_ms - m.at_ms) });
  }
}
