/**
 * Runs on/off and the editor lock. Interviewers get switches; everyone sees the state. The
 * peers enforce both (runs are refused, a locked candidate is read-only), so this only asks.
 */
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useInterview } from "../../state/interview";
import { usePermissions, useRoom } from "../../state/room";
import { Badge, Button } from "../ui";

export function InterviewerControls() {
  const { t } = useTranslation();
  const conn = useRoom();
  const perms = usePermissions(conn);
  const { controls } = useInterview(conn);
  const [error, setError] = useState<string | null>(null);
  const call = (p: Promise<unknown>) => {
    setError(null);
    p.catch((e: Error) => setError(e.message));
  };
  return (
    <div className="flex items-center gap-1">
      {!controls.runs_enabled && <Badge kind="warn">{t("controls.runsOff")}</Badge>}
      {controls.editor_locked && <Badge kind="warn">{t("controls.locked")}</Badge>}
      {perms.canManage && (
        <>
          <Button compact variant="ghost" aria-pressed={!controls.runs_enabled} onClick={() => call(conn.interview("runs_enabled", { enabled: !controls.runs_enabled }))} data-testid="toggle-runs">
            {controls.runs_enabled ? t("controls.turnRunsOff") : t("controls.turnRunsOn")}
          </Button>
          <Button compact variant="ghost" aria-pressed={controls.editor_locked} onClick={() => call(conn.interview("lock_editor", { locked: !controls.editor_locked }))} data-testid="toggle-lock">
            {controls.editor_locked ? t("controls.unlock") : t("controls.lock")}
          </Button>
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
