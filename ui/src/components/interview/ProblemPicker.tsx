/** Interviewer: pick the room's problem from the execution node's bank (statement for everyone). */
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { currentLanguage, isPristine, loadStarter } from "../../state/languages";
import type { RoomConnection } from "../../room/connection";
import type { ProblemSummary } from "../../room/interview";
import { usePermissions, useRoom } from "../../state/room";
import { Badge, Button, Dialog } from "../ui";

/**
 * Resolves once the room's document names problem `id`: the peer's answer to `choose_problem`
 * can overtake the document update that carries the problem (10 s at most).
 */
function problemArrived(conn: RoomConnection, id: string): Promise<void> {
  return new Promise((resolve) => {
    const meta = conn.meta();
    if (meta.get("problem") === id) return resolve();
    const done = () => {
      meta.unobserve(check);
      clearTimeout(timer);
      resolve();
    };
    const check = () => meta.get("problem") === id && done();
    const timer = setTimeout(done, 10_000);
    meta.observe(check);
  });
}

export function ProblemPickerButton() {
  const { t } = useTranslation();
  const conn = useRoom();
  const perms = usePermissions(conn);
  const [open, setOpen] = useState(false);
  if (!perms.canManage) return null;
  return (
    <>
      <Button compact variant="ghost" onClick={() => setOpen(true)} data-testid="pick-problem">
        {t("problems.pick")}
      </Button>
      {open && <ProblemPicker open={open} onOpenChange={setOpen} />}
    </>
  );
}

export function ProblemPicker({ open, onOpenChange }: { open: boolean; onOpenChange: (o: boolean) => void }) {
  const { t } = useTranslation();
  const conn = useRoom();
  const [list, setList] = useState<ProblemSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    conn
      .interview("list_problems", {})
      .then((r) => live && setList((r.problems as ProblemSummary[]) ?? []))
      .catch((e: Error) => live && setError(e.message));
    return () => {
      live = false;
    };
  }, [conn]);
  const choose = (id: string) => {
    setBusy(id);
    setError(null);
    // Code still at the template (or the previous problem's starter) gives way to the new
    // problem's starter; real work is kept (switching language then loads the starter).
    const { lang, file } = currentLanguage(conn);
    const pristine = isPristine(conn.fileText(file).toString(), lang, conn);
    conn
      .interview("choose_problem", { id })
      .then(() => problemArrived(conn, id))
      .then(() => {
        if (pristine) loadStarter(conn);
        onOpenChange(false);
      })
      .catch((e: Error) => setError(e.message))
      .finally(() => setBusy(null));
  };
  return (
    <Dialog open={open} onOpenChange={onOpenChange} title={t("problems.title")}>
      {error && (
        <p role="alert" className="mb-2 text-sm text-red-600">
          {t("problems.error", { message: error })}
        </p>
      )}
      {!list && !error && <p className="text-sm text-zinc-500">{t("app.loading")}</p>}
      {list && list.length === 0 && <p className="text-sm text-zinc-500">{t("problems.none")}</p>}
      {list && (
        <ul className="divide-y divide-zinc-200 dark:divide-zinc-700" data-testid="problem-list">
          {list.map((p) => (
            <li key={p.id} className="flex items-center gap-2 py-2">
              <div className="min-w-0 flex-1">
                <div className="truncate text-sm font-medium">{p.title}</div>
                <div className="flex flex-wrap gap-1 text-xs text-zinc-500">
                  <Badge kind={p.difficulty === "hard" ? "warn" : "spectator"}>{t(`problems.difficulty.${p.difficulty}`)}</Badge>
                  {p.tags.join(", ")}
                </div>
              </div>
              <Button compact variant="primary" disabled={busy !== null} onClick={() => choose(p.id)} data-testid={`choose-${p.id}`}>
                {busy === p.id ? t("problems.choosing") : t("problems.choose")}
              </Button>
            </li>
          ))}
        </ul>
      )}
    </Dialog>
  );
}
