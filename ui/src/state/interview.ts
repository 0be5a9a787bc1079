/** React access to the interview state (controls, chat, private notes) and a ticking clock. */
import { useEffect, useState, useSyncExternalStore } from "react";
import type { RoomConnection } from "../room/connection";
import type { InterviewState } from "../room/interview";
import { useRoom } from "./room";

export function useInterview(conn: RoomConnection = useRoom()): InterviewState {
  return useSyncExternalStore(
    (cb) => conn.onInterview(cb),
    () => conn.getInterview(),
  );
}

/** `Date.now()`, re-rendering every `ms` while `active`. */
export function useNow(active: boolean, ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    setNow(Date.now());
    if (!active) return;
    const id = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(id);
  }, [active, ms]);
  return now;
}

/** Publishes `away` in our presence while the window has no focus (the replay flags it). */
export function useAwayPresence(conn: RoomConnection = useRoom()) {
  useEffect(() => {
    const set = (away: boolean) => {
      const cur = conn.awareness.getLocalState();
      if (cur && !!(cur as { away?: boolean }).away !== away) conn.awareness.setLocalState({ ...cur, away });
    };
    const onBlur = () => set(true);
    const onFocus = () => set(false);
    const onVis = () => set(document.visibilityState === "hidden");
    window.addEventListener("blur", onBlur);
    window.addEventListener("focus", onFocus);
    document.addEventListener("visibilitychange", onVis);
    return () => {
      window.removeEventListener("blur", onBlur);
      window.removeEventListener("focus", onFocus);
      document.removeEventListener("visibilitychange", onVis);
    };
  }, [conn]);
}
