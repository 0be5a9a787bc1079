/**
 * Interviewers' private notes and rubric scorecard. They travel only between interviewers'
 * peers (a candidate's peer never receives them); this pane is not even rendered for others.
 * Saves are debounced: each save replaces this interviewer's entry.
 */
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { emptyScorecard, RECOMMENDATIONS, type Recommendation, type Scorecard } from "../../room/interview";
import { useInterview } from "../../state/interview";
import { useParticipants, usePolicy, useRoom } from "../../state/room";
import { Button, Select } from "../ui";

const SAVE_DELAY_MS = 600;

function useDebounced<T>(value: T, save: (v: T) => void, dirty: boolean) {
  const latest = useRef(save);
  latest.current = save;
  useEffect(() => {
    if (!dirty) return;
    const id = setTimeout(() => latest.current(value), SAVE_DELAY_MS);
    return () => clearTimeout(id);
  }, [value, dirty]);
}

export function PrivateNotes() {
  const { t } = useTranslation();
  const conn = useRoom();
  const policy = usePolicy(conn);
  const people = useParticipants(conn);
  const { private: entries } = useInterview(conn);
  const mine = entries?.find((e) => e.member === policy.you);
  const [notes, setNotes] = useState(mine?.notes ?? "");
  const [card, setCard] = useState<Scorecard>(mine?.scorecard ?? emptyScorecard());
  const [dirtyNotes, setDirtyNotes] = useState(false);
  const [dirtyCard, setDirtyCard] = useState(false);
  const [status, setStatus] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  // Adopt what arrives (another device of ours, a reload) unless we are typing.
  useEffect(() => {
    if (!dirtyNotes && mine) setNotes(mine.notes);
    if (!dirtyCard && mine?.scorecard) setCard(mine.scorecard);
  }, [mine, dirtyNotes, dirtyCard]);
  useDebounced(notes, (v) => conn.interview("notes_set", { notes: v }).then(() => { setDirtyNotes(false); setStatus(t("notes.saved")); }, (e: Error) => setError(e.message)), dirtyNotes);
  useDebounced(card, (v) => conn.interview("scorecard_set", { scorecard: v }).then(() => { setDirtyCard(false); setStatus(t("notes.saved")); }, (e: Error) => setError(e.message)), dirtyCard);

  if (entries === null) return <p className="p-4 text-sm text-zinc-500">{t("notes.interviewersOnly")}</p>;
  const nameOf = (m: string) => people.find((p) => p.presence.member === m)?.presence.name || m.slice(0, 8);
  const setCriterion = (i: number, patch: Partial<Scorecard["criteria"][number]>) => {
    setDirtyCard(true);
    setCard((c) => ({ ...c, criteria: c.criteria.map((x, j) => (j === i ? { ...x, ...patch } : x)) }));
  };
  const exportMd = () => {
    setError(null);
    conn
      .interview("export", {})
      .then((r) => {
        const md = String(r.markdown ?? "");
        const a = document.createElement("a");
        a.href = URL.createObjectURL(new Blob([md], { type: "text/markdown" }));
        a.download = `tandem-${conn.roomId.slice(0, 8)}.md`;
        a.click();
        URL.revokeObjectURL(a.href);
      })
      .catch((e: Error) => setError(e.message));
  };
  return (
    <div className="space-y-4 p-3" data-testid="private-notes">
      <p className="text-xs text-zinc-500">{t("notes.hint")}</p>
      <div className="flex flex-col gap-1">
        <label htmlFor="tandem-private-notes" className="text-sm font-medium">
          {t("notes.label")}
        </label>
        <textarea
          id="tandem-private-notes"
          className="min-h-32 rounded-md border border-zinc-300 bg-white p-2 font-mono text-sm dark:border-zinc-600 dark:bg-zinc-950"
          value={notes}
          onChange={(e) => {
            setDirtyNotes(true);
            setNotes(e.target.value);
          }}
          data-testid="notes-input"
        />
      </div>
      <fieldset className="space-y-2">
        <legend className="text-sm font-medium">{t("notes.scorecard")}</legend>
        {card.criteria.map((c, i) => (
          <div key={c.name} className="flex flex-wrap items-center gap-2">
            <span className="w-40 text-sm">{t(`notes.criteria.${c.name}`, { defaultValue: c.name })}</span>
            <Select label={t("notes.scoreFor", { name: t(`notes.criteria.${c.name}`, { defaultValue: c.name }) })} value={c.score} onChange={(e) => setCriterion(i, { score: Number(e.target.value) })} data-testid={`score-${c.name}`}>
              <option value={0}>{t("notes.notScored")}</option>
              {[1, 2, 3, 4].map((n) => (
                <option key={n} value={n}>
                  {t(`notes.score${n}`)}
                </option>
              ))}
            </Select>
            <input
              value={c.comment}
              onChange={(e) => setCriterion(i, { comment: e.target.value })}
              aria-label={t("notes.commentFor", { name: t(`notes.criteria.${c.name}`, { defaultValue: c.name }) })}
              placeholder={t("notes.comment")}
              className="min-w-0 flex-1 rounded border border-zinc-300 bg-white px-2 py-1 text-sm dark:border-zinc-600 dark:bg-zinc-950"
            />
          </div>
        ))}
        <Select
          label={t("notes.recommendation")}
          value={card.recommendation}
          onChange={(e) => {
            setDirtyCard(true);
            setCard((c) => ({ ...c, recommendation: e.target.value as Recommendation }));
          }}
          data-testid="recommendation"
        >
          <option value="">{t("notes.noRecommendation")}</option>
          {RECOMMENDATIONS.map((r) => (
            <option key={r} value={r}>
              {t(`notes.recommendations.${r}`)}
            </option>
          ))}
        </Select>
      </fieldset>
      <div className="flex items-center gap-2">
        <Button onClick={exportMd} data-testid="export-markdown">
          {t("notes.export")}
        </Button>
        {status && <span className="text-xs text-zinc-500">{status}</span>}
        {error && (
          <span role="alert" className="text-xs text-red-600">
            {error}
          </span>
        )}
      </div>
      {entries
        .filter((e) => e.member !== policy.you)
        .map((e) => (
          <section key={e.member} className="rounded border border-zinc-200 p-2 text-sm dark:border-zinc-700">
            <h3 className="font-medium">{t("notes.from", { name: nameOf(e.member) })}</h3>
            {e.notes && <p className="whitespace-pre-wrap">{e.notes}</p>}
            {e.scorecard && (
              <ul className="text-xs">
                {e.scorecard.criteria.map((c) => (
                  <li key={c.name}>
                    {t(`notes.criteria.${c.name}`, { defaultValue: c.name })}: {c.score ? `${c.score}/4` : "–"} {c.comment}
                  </li>
                ))}
                {e.scorecard.recommendation && <li>{t(`notes.recommendations.${e.scorecard.recommendation}`)}</li>}
              </ul>
            )}
          </section>
        ))}
    </div>
  );
}
