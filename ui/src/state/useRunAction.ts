/** Run and Submit: build a `RunRequest` from the shared code and this user's stdin. */
import { useCallback } from "react";
import type { RoomConnection, RunKind } from "../room/connection";
import { currentLanguage } from "./languages";
import { usePermissions, useRoom } from "./room";
import { uiStore } from "./ui";

export function buildRunRequest(conn: RoomConnection, stdin: string) {
  const { lang, file } = currentLanguage(conn);
  return { language: lang.id, files: [{ name: file, content: conn.fileText(file).toString() }], stdin };
}

export function useRunAction() {
  const conn = useRoom();
  const perms = usePermissions(conn);
  const run = useCallback(
    (kind: RunKind = "run") => {
      if (!perms.canRun) return;
      conn.requestRun(buildRunRequest(conn, uiStore.get().stdin), kind);
      uiStore.set((s) => ({ ...s, selectedRun: null }));
    },
    [conn, perms.canRun],
  );
  return { run, canRun: perms.canRun };
}
