/**
 * React access to the room connection: one context, and hooks that subscribe to exactly the
 * piece of room state a component shows (so a cursor move does not re-render the console).
 */
import { createContext, useContext, useEffect, useMemo, useReducer, useState, useSyncExternalStore } from "react";
import type * as Y from "yjs";
import { participants, type ConnectionState, type Policy, type RoomConnection } from "../room/connection";
import { permissionsFor, type Permissions } from "./permissions";
import { emptyRuns, reduceRuns, type RunsState } from "./runs";

const RoomContext = createContext<RoomConnection | null>(null);
export const RoomProvider = RoomContext.Provider;

export function useRoom(): RoomConnection {
  const c = useContext(RoomContext);
  if (!c) throw new Error("useRoom outside RoomProvider");
  return c;
}

export function useConnectionState(conn = useRoom()): ConnectionState {
  return useSyncExternalStore(
    (cb) => conn.onState(cb),
    () => conn.getState(),
  );
}

export function usePolicy(conn = useRoom()): Policy {
  return useSyncExternalStore(
    (cb) => conn.onPolicy(cb),
    () => conn.getPolicy(),
  );
}

export function usePermissions(conn = useRoom()): Permissions {
  const policy = usePolicy(conn);
  const ownRole = (conn.awareness.getLocalState() as { role?: Permissions["role"] } | null)?.role;
  return useMemo(() => permissionsFor(policy, ownRole ?? "spectator"), [policy, ownRole]);
}

/** Everyone's presence; re-renders on any awareness change. */
export function useParticipants(conn = useRoom()) {
  const [version, bump] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    conn.awareness.on("change", bump);
    return () => conn.awareness.off("change", bump);
  }, [conn]);
  return useMemo(() => participants(conn.awareness), [conn, version]);
}

/** One key of the shared `meta` map (language, main file). */
export function useMeta(key: string, conn = useRoom()): string | undefined {
  const map = conn.meta();
  return useSyncExternalStore(
    (cb) => {
      map.observe(cb);
      return () => map.unobserve(cb);
    },
    () => map.get(key),
  );
}

/** A Y.Text's current string. */
export function useYText(text: Y.Text): string {
  return useSyncExternalStore(
    (cb) => {
      text.observe(cb);
      return () => text.unobserve(cb);
    },
    () => text.toString(),
  );
}

/** The room's run history, reduced from the run stream since this page joined. */
export function useRuns(conn = useRoom()): RunsState {
  const [state, setState] = useState<RunsState>(emptyRuns);
  useEffect(() => conn.onRun((m) => setState((s) => reduceRuns(s, m))), [conn]);
  return state;
}
