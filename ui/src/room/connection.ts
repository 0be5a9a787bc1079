/**
 * The room-connection interface: the only thing the UI knows about how a room travels.
 *
 * Why an interface: the same React app runs in a browser (WebSocket to the relay, see
 * `websocket.ts`), in the desktop app (Tauri IPC to the local peer, a later issue) and in tests
 * and demo mode (`memory.ts`). Everything here is transport-neutral: the Yjs document and
 * awareness are the shared state, and the few things Yjs cannot carry (who may do what, run
 * requests and their output) are small typed calls and event streams.
 */
import type * as Y from "yjs";
import type { Awareness } from "y-protocols/awareness";
import type { RunEvent, RunRequest } from "./exec";
import type { InterviewCalls, InterviewMethod, InterviewState } from "./interview";

export type Role = "interviewer" | "candidate" | "spectator";
export const ROLES: readonly Role[] = ["interviewer", "candidate", "spectator"];

/** A cursor or selection in a file, as UTF-16 offsets (`shared/src/room.rs`'s `Cursor`). */
export interface CursorPos {
  file: string;
  anchor: number;
  head: number;
}

/** The awareness state every participant publishes (`shared/src/room.rs`'s `Presence`). */
export interface Presence {
  name: string;
  /** CSS colour, e.g. `#e91e63`. */
  colour: string;
  role: Role;
  /** Hex endpoint id; empty until the transport has told us ours. */
  member: string;
  cursor?: CursorPos | null;
  selection?: CursorPos | null;
  typing?: boolean;
  /** The window lost focus; the replay flags long absences (`shared/src/room.rs`'s `away`). */
  away?: boolean;
}

/**
 * How we reach the room: `direct` to a peer (desktop, memory), `relayed` through the relay's
 * WebSocket, `offline` while reconnecting; `refused` when the invite was rejected or revoked
 * (no automatic reconnect then).
 */
export type ConnectionState = "connecting" | "direct" | "relayed" | "offline" | "refused";

/** One member's standing, as the peers' signed policy says (mirrored for display only). */
export interface MemberPolicy {
  member: string;
  role: Role;
  /** An interviewer made this candidate read-only. */
  read_only: boolean;
  revoked?: boolean;
}

export interface Policy {
  /** Our own member id. */
  you: string;
  members: MemberPolicy[];
}

/** A run as announced to the whole room, so every console shows every run. */
export interface RunAnnouncement {
  run_id: string;
  /** The request id the requester chose; lets it match its own request. */
  request_id: string;
  by: { member: string; name: string };
  kind: RunKind;
  language: string;
}

export type RunKind = "run" | "submit";

/** What the run stream delivers: announcements, then each `RunEvent` tagged with its run. */
export type RoomRunMessage =
  | ({ type: "run_accepted" } & RunAnnouncement)
  | { type: "run_rejected"; request_id: string; message: string }
  | (RunEvent & { run_id: string });

/** Names inside the Yjs document; the Rust peers use the same (`shared/src/room.rs`). */
export const FILE_PREFIX = "file:";
/** Root map with room settings the UI shares: `language` (manifest id) and `file` (main file). */
export const META_MAP = "meta";
/** Root text with the problem statement (markdown). */
export const PROBLEM_TEXT = "problem";

export type Unsubscribe = () => void;

export interface RoomConnection {
  readonly roomId: string;
  readonly doc: Y.Doc;
  readonly awareness: Awareness;
  /**
   * The transaction origin of this client's own edits. Undo managers track only this origin,
   * which is what makes undo per-user: remote updates arrive with the transport's origin.
   */
  readonly localOrigin: object;

  fileText(path: string): Y.Text;
  meta(): Y.Map<string>;

  getState(): ConnectionState;
  onState(cb: (s: ConnectionState) => void): Unsubscribe;

  getPolicy(): Policy;
  onPolicy(cb: (p: Policy) => void): Unsubscribe;

  /** Interviewer actions; peers verify them, the UI only asks. */
  setRole(member: string, role: Role): void;
  setReadOnly(member: string, readOnly: boolean): void;
  revoke(member: string): void;

  /** Asks the room to run; returns the request id. The result arrives on `onRun`. */
  requestRun(request: RunRequest, kind?: RunKind): string;
  cancelRun(runId: string): void;
  onRun(cb: (m: RoomRunMessage) => void): Unsubscribe;

  /** Asks for a new invite link for `role`; resolves to a URL to share. */
  createInvite(role: Role): Promise<string>;

  /**
   * The interview around the code: controls (timer, runs on/off, editor lock), chat and, for
   * interviewers only, the private notes and scorecards. Pushed whenever it changes.
   */
  getInterview(): InterviewState;
  onInterview(cb: (s: InterviewState) => void): Unsubscribe;
  /**
   * One interview call (timer, controls, chat, notes, scorecard, timeline, export, problems);
   * resolves to its result or rejects with the peer's reason. Every peer checks what it allows.
   */
  interview<M extends InterviewMethod>(method: M, params: InterviewCalls[M]): Promise<Record<string, unknown>>;

  destroy(): void;
}

/** Publishes a partial presence update (awareness fields are merged, not replaced). */
export function updatePresence(awareness: Awareness, patch: Partial<Presence>): void {
  const cur = (awareness.getLocalState() ?? {}) as Partial<Presence>;
  awareness.setLocalState({ ...cur, ...patch });
}

/** Reads every participant's presence, ours included, keyed by Yjs client id. */
export function participants(awareness: Awareness): { clientId: number; presence: Presence; local: boolean }[] {
  const out: { clientId: number; presence: Presence; local: boolean }[] = [];
  awareness.getStates().forEach((state, clientId) => {
    const p = state as Partial<Presence>;
    if (typeof p.name !== "string") return;
    out.push({
      clientId,
      local: clientId === awareness.clientID,
      presence: {
        name: p.name,
        colour: typeof p.colour === "string" ? p.colour : "#888888",
        role: p.role ?? "spectator",
        member: p.member ?? "",
        cursor: p.cursor ?? null,
        selection: p.selection ?? null,
        typing: !!p.typing,
        away: !!p.away,
      },
    });
  });
  return out.sort((a, b) => Number(b.local) - Number(a.local) || a.presence.name.localeCompare(b.presence.name));
}

let counter = 0;
/** A request id unique within this page (the relay scopes ids by connection). */
export function newRequestId(): string {
  counter += 1;
  return `${Date.now().toString(36)}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}
