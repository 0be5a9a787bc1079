/**
 * The desktop transport: the room lives in the app's Rust peer; this page is a Yjs client of it,
 * exchanging y-protocols messages over Tauri IPC (Rust side: desktop/src/session.rs, which hands
 * them to `Room::attach_local`). Same message handling as the y-websocket provider, so the
 * document and awareness behave exactly as in the browser; roles, invites and runs are commands.
 *
 * Why the IPC is injected: tests drive this class without a webview (see tauri.test.ts).
 */
import * as Y from "yjs";
import * as encoding from "lib0/encoding";
import * as decoding from "lib0/decoding";
import { fromBase64, toBase64 } from "lib0/buffer";
import * as syncProtocol from "y-protocols/sync";
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate } from "y-protocols/awareness";
import {
  FILE_PREFIX,
  META_MAP,
  newRequestId,
  type ConnectionState,
  type Policy,
  type Role,
  type RoomConnection,
  type RoomRunMessage,
  type RunKind,
} from "./connection";
import type { RunRequest } from "./exec";
import { Emitter } from "./emitter";
import { initialInterview, type InterviewCalls, type InterviewMethod, type InterviewState } from "./interview";

const MESSAGE_SYNC = 0;
const MESSAGE_AWARENESS = 1;
const MESSAGE_QUERY_AWARENESS = 3;

/** What desktop/src/session.rs sends on the room's channel. */
export type RoomEvent =
  | { type: "message"; data: string }
  | { type: "state"; state: ConnectionState }
  | { type: "policy"; policy: Policy }
  | { type: "run"; message: RoomRunMessage }
  | { type: "closed" };

/** `Opened` in desktop/src/desktop.rs. */
export interface Opened {
  session: number;
  room_id: string;
  policy: Policy;
  state: ConnectionState;
}

/** `Launch` in desktop/src/desktop.rs: a `tandem://join/…` link or a room to open. */
export interface Launch {
  link: string | null;
  open_room: string | null;
}

/** The IPC primitives the app needs (Tauri's `invoke` and `Channel`). */
export interface Ipc {
  invoke<T>(cmd: string, args?: Record<string, unknown>): Promise<T>;
  /** Opens the room with a channel whose messages go to `onEvent`. */
  openRoom(roomId: string, onEvent: (e: RoomEvent) => void): Promise<Opened>;
  /**
   * Subscribes to the interview state of a session (desktop/src/record.rs `interview_watch`).
   * Optional: without it the state is fetched after each call.
   */
  watchInterview?(session: number, onState: (s: InterviewState) => void): Promise<void>;
  /** Launches handed over while the app runs (a link opened from another program). */
  watchLaunch?(onLaunch: (l: Launch) => void): Promise<void>;
}

/** True inside the Tauri webview. */
export function isTauri(): boolean {
  return typeof window !== "undefined" && "__TAURI_INTERNALS__" in window;
}

/** The real IPC, loaded lazily so the browser build never touches Tauri's globals. */
export async function tauriIpc(): Promise<Ipc> {
  const core = await import("@tauri-apps/api/core");
  return {
    invoke: (cmd, args) => core.invoke(cmd, args),
    openRoom: (roomId, onEvent) => {
      const ch = new core.Channel<RoomEvent>();
      ch.onmessage = onEvent;
      return core.invoke<Opened>("open_room", { roomId, onEvent: ch });
    },
    watchInterview: (session, onState) => {
      const ch = new core.Channel<InterviewState>();
      ch.onmessage = onState;
      return core.invoke<void>("interview_watch", { session, onEvent: ch });
    },
    watchLaunch: (onLaunch) => {
      const ch = new core.Channel<Launch>();
      ch.onmessage = onLaunch;
      return core.invoke<void>("watch_launch", { onLaunch: ch });
    },
  };
}

export class TauriRoom implements RoomConnection {
  readonly doc = new Y.Doc();
  readonly awareness = new Awareness(this.doc);
  readonly localOrigin = { local: true };
  roomId = "";
  session = 0;
  private state: ConnectionState = "connecting";
  private policy: Policy = { you: "", members: [] };
  private stateEv = new Emitter<ConnectionState>();
  private policyEv = new Emitter<Policy>();
  private runEv = new Emitter<RoomRunMessage>();
  private syncedEv = new Emitter<void>();
  private synced = false;
  private closed = false;
  /** Messages go out strictly in order (updates are signed and forwarded one by one). */
  private queue: Promise<unknown> = Promise.resolve();
  private early: RoomEvent[] = [];
  private interviewState: InterviewState = initialInterview();
  private interviewEv = new Emitter<InterviewState>();

  private constructor(private ipc: Ipc) {
    this.doc.on("update", (update: Uint8Array, origin: unknown) => {
      if (origin === this) return;
      const enc = encoding.createEncoder();
      encoding.writeVarUint(enc, MESSAGE_SYNC);
      syncProtocol.writeUpdate(enc, update);
      this.send(encoding.toUint8Array(enc));
    });
    // Only our own presence goes out: the peer signs it as ours; others' entries are theirs.
    this.awareness.on("update", ({ added, updated, removed }: Record<string, number[]>, origin: unknown) => {
      if (origin === this) return;
      const mine = [...added, ...updated, ...removed].filter((id) => id === this.awareness.clientID);
      if (mine.length) this.sendAwareness(mine);
    });
  }

  /** Opens a room stored in the desktop peer (created, joined, or from the recent list). */
  static async open(roomId: string, ipc: Ipc): Promise<TauriRoom> {
    const room = new TauriRoom(ipc);
    let ready = false;
    const opened = await ipc.openRoom(roomId, (e) => (ready ? room.onEvent(e) : room.early.push(e)));
    performance.mark("tandem:room-opened");
    room.roomId = opened.room_id;
    room.session = opened.session;
    room.policy = opened.policy;
    room.state = opened.state;
    ready = true;
    // Our step 1 (the peer answers with what we lack) and our presence, as y-websocket does.
    const enc = encoding.createEncoder();
    encoding.writeVarUint(enc, MESSAGE_SYNC);
    syncProtocol.writeSyncStep1(enc, room.doc);
    room.send(encoding.toUint8Array(enc));
    if (room.awareness.getLocalState() !== null) room.sendAwareness([room.awareness.clientID]);
    for (const e of room.early.splice(0)) room.onEvent(e);
    room.interviewState = initialInterview(room.roomId);
    const onState = (st: InterviewState) => room.setInterview(st);
    if (ipc.watchInterview) {
      ipc.watchInterview(room.session, onState).catch((e) => console.warn("tandem: interview_watch:", e));
    } else {
      room.refreshInterview();
    }
    return room;
  }

  private send(bytes: Uint8Array) {
    if (this.closed) return;
    const data = toBase64(bytes);
    this.queue = this.queue
      .then(() => this.ipc.invoke("room_send", { session: this.session, data }))
      .catch((e) => console.warn("tandem: the room refused a message:", e));
  }

  private sendAwareness(clients: number[]) {
    const enc = encoding.createEncoder();
    encoding.writeVarUint(enc, MESSAGE_AWARENESS);
    encoding.writeVarUint8Array(enc, encodeAwarenessUpdate(this.awareness, clients));
    this.send(encoding.toUint8Array(enc));
  }

  private onEvent(e: RoomEvent) {
    switch (e.type) {
      case "message":
        this.onMessage(fromBase64(e.data));
        break;
      case "state":
        this.state = e.state;
        this.stateEv.emit(e.state);
        break;
      case "policy":
        this.policy = e.policy;
        this.policyEv.emit(e.policy);
        break;
      case "run":
        this.runEv.emit(e.message);
        break;
      case "closed":
        this.state = "offline";
        this.stateEv.emit("offline");
        break;
    }
  }

  private onMessage(bytes: Uint8Array) {
    const dec = decoding.createDecoder(bytes);
    const type = decoding.readVarUint(dec);
    if (type === MESSAGE_SYNC) {
      const enc = encoding.createEncoder();
      encoding.writeVarUint(enc, MESSAGE_SYNC);
      const kind = syncProtocol.readSyncMessage(dec, enc, this.doc, this);
      if (encoding.length(enc) > 1) this.send(encoding.toUint8Array(enc));
      if (kind === syncProtocol.messageYjsSyncStep2 && !this.synced) {
        this.synced = true;
        this.syncedEv.emit();
      }
    } else if (type === MESSAGE_AWARENESS) {
      applyAwarenessUpdate(this.awareness, decoding.readVarUint8Array(dec), this);
    } else if (type === MESSAGE_QUERY_AWARENESS) {
      this.sendAwareness([this.awareness.clientID]);
    }
  }

  /** Calls `cb` once the first sync step 2 arrived (the document is caught up with the peer). */
  onSynced(cb: () => void) {
    if (this.synced) {
      cb();
      return () => {};
    }
    return this.syncedEv.on(cb);
  }

  fileText(path: string) {
    return this.doc.getText(FILE_PREFIX + path);
  }
  meta() {
    return this.doc.getMap<string>(META_MAP);
  }
  getState() {
    return this.state;
  }
  onState(cb: (s: ConnectionState) => void) {
    return this.stateEv.on(cb);
  }
  getPolicy() {
    return this.policy;
  }
  onPolicy(cb: (p: Policy) => void) {
    return this.policyEv.on(cb);
  }
  private command(cmd: string, args: Record<string, unknown>) {
    this.ipc.invoke(cmd, { session: this.session, ...args }).catch((e) => console.warn(`tandem: ${cmd}:`, e));
  }
  setRole(member: string, role: Role) {
    this.command("set_role", { member, role });
  }
  setReadOnly(member: string, readOnly: boolean) {
    this.command("set_read_only", { member, readOnly });
  }
  revoke(member: string) {
    this.command("revoke", { member });
  }
  requestRun(request: RunRequest, kind: RunKind = "run") {
    const requestId = newRequestId();
    this.ipc
      .invoke<string>("request_run", { session: this.session, requestId, request: { ...request, room: this.roomId }, kind })
      .catch((e) => this.runEv.emit({ type: "run_rejected", request_id: requestId, message: String(e) }));
    return requestId;
  }
  cancelRun(runId: string) {
    this.command("cancel_run", { runId });
  }
  onRun(cb: (m: RoomRunMessage) => void) {
    return this.runEv.on(cb);
  }
  createInvite(role: Role) {
    return this.ipc.invoke<string>("create_invite", { session: this.session, role });
  }
  private setInterview(st: InterviewState) {
    if (this.closed) return;
    this.interviewState = { controls: st.controls, chat: st.chat ?? [], private: st.private ?? null };
    this.interviewEv.emit(this.interviewState);
  }
  private refreshInterview() {
    this.ipc
      .invoke<InterviewState>("interview_state_get", { session: this.session })
      .then((st) => this.setInterview(st))
      .catch(() => {});
  }
  getInterview() {
    return this.interviewState;
  }
  onInterview(cb: (s: InterviewState) => void) {
    return this.interviewEv.on(cb);
  }
  async interview<M extends InterviewMethod>(method: M, params: InterviewCalls[M]) {
    try {
      return await this.ipc.invoke<Record<string, unknown>>("interview_call_send", { session: this.session, call: { method, params } });
    } catch (e) {
      throw e instanceof Error ? e : new Error(String(e));
    } finally {
      if (!this.ipc.watchInterview) this.refreshInterview();
    }
  }
  destroy() {
    if (this.closed) return;
    this.interviewEv.clear();
    this.closed = true;
    void this.queue.then(() => this.ipc.invoke("close_room", { session: this.session }).catch(() => {}));
    this.awareness.destroy();
    this.doc.destroy();
    this.stateEv.clear();
    this.policyEv.clear();
    this.runEv.clear();
    this.syncedEv.clear();
  }
}
