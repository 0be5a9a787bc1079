/** Run and Submit: build a `RunRequest` from the shared code and this user's stdin. */
import { useCallback } from "react";
import type { RoomConnection, RunKind } from "../room/connection";
import { currentLanguage } from "./languages";
import { useInterview } from "./interview";
import { usePermissions, useRoom } from "./room";
import { uiStore } from "./ui";

export function buildRunRequest(conn: RoomConnection, stdin: string) {
  const { lang, file } = currentLanguage(conn);
  // With a problem chosen, the node wraps the code in the problem's harness: Run checks the
  // visible examples (and the custom input), Submit the hidden tests.
  const problem = conn.meta().get("problem") || undefined;
  return { language: lang.id, files: [{ name: file, content: conn.fileText(file).toString() }], stdin, ...(problem ? { problem } : {}) };
}

export function useRunAction() {
  const conn = useRoom();
  const perms = usePermissions(conn);
  // An interviewer can turn runs off; every peer refuses them then, the UI just says so.
  const runsEnabled = useInterview(conn).controls.runs_enabled;
  const canRun = perms.canRun && runsEnabled;
  const run = useCallback(
    (kind: RunKind = "run") => {
      if (!canRun) return;
      conn.requestRun(buildRunRequest(conn, uiStore.get().stdin), kind);
      uiStore.set((s) => ({ ...s, selectedRun: null }));
    },
    [conn, canRun],
  );
  return { run, canRun };
}
