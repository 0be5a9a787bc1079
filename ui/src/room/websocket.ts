/**
 * The browser transport: the stock `y-websocket` provider against the relay's
 * `/yjs/<room-id>?invite=<token>` endpoint on the page's own origin.
 *
 * Why the stock provider: the relay is specified to speak plain y-websocket, so any Yjs client
 * can join; using the same provider here keeps us honest about that. Tandem's extra traffic
 * (runs, policy, role actions) uses two extra message types registered on the provider's
 * handler table, see `runProtocol.ts` and docs/ui.md.
 */
import * as Y from "yjs";
import { WebsocketProvider } from "y-websocket";
import type * as decoding from "lib0/decoding";
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
import { MESSAGE_TANDEM_CONTROL, MESSAGE_TANDEM_RECORD, MESSAGE_TANDEM_RUN, encodeJsonMessage, readJsonBody } from "./runProtocol";
import { initialInterview, type InterviewCalls, type InterviewMethod, type InterviewState } from "./interview";

export interface WebsocketRoomOptions {
  roomId: string;
  invite: string;
  /** Defaults to the page's origin with ws/wss. */
  baseUrl?: string;
  /**
   * A random token this browser keeps (localStorage), sent as `client`: the relay derives this
   * browser's member key from it, so a reload is the same participant. Default: the stored one.
   */
  client?: string;
  /** For tests: a WebSocket implementation (Node has none before 22). */
  WebSocketPolyfill?: typeof WebSocket;
  /**
   * y-websocket also syncs tabs of one browser over BroadcastChannel. Tests turn it off so that
   * everything they see went through the relay.
   */
  disableBc?: boolean;
}

const CLIENT_KEY = "tandem.client";

/** This browser's client token (created on first use; `undefined` without localStorage). */
export function browserClientToken(): string | undefined {
  try {
    let t = window.localStorage.getItem(CLIENT_KEY);
    if (!t || !/^[A-Za-z0-9_-]{16,128}$/.test(t)) {
      const bytes = crypto.getRandomValues(new Uint8Array(18));
      t = btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
      window.localStorage.setItem(CLIENT_KEY, t);
    }
    return t;
  } catch {
    return undefined;
  }
}

/** `https://host` → `wss://host/yjs`: the provider appends `/<room>` and the params. */
export function relayUrl(origin: string): string {
  return origin.replace(/^http/, "ws").replace(/\/$/, "") + "/yjs";
}

type ControlMessage =
  | ({ type: "policy" } & Policy)
  | { type: "invite_created"; request_id: string; url: string }
  | { type: "error"; request_id?: string; message: string };

type RecordMessage =
  | ({ type: "state" } & InterviewState)
  | { type: "reply"; request_id: string; ok: boolean; result?: Record<string, unknown>; error?: string };

export class WebsocketRoom implements RoomConnection {
  readonly roomId: string;
  readonly doc = new Y.Doc();
  readonly localOrigin = { local: true };
  readonly provider: WebsocketProvider;
  private state: ConnectionState = "connecting";
  private policy: Policy = { you: "", members: [] };
  private stateEv = new Emitter<ConnectionState>();
  private policyEv = new Emitter<Policy>();
  private runEv = new Emitter<RoomRunMessage>();
  private invites = new Map<string, { resolve: (u: string) => void; reject: (e: Error) => void }>();
  private interviewState: InterviewState;
  private interviewEv = new Emitter<InterviewState>();
  private calls = new Map<string, { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void }>();

  constructor(opts: WebsocketRoomOptions) {
    this.roomId = opts.roomId;
    this.interviewState = initialInterview(opts.roomId);
    this.provider = new WebsocketProvider(relayUrl(opts.baseUrl ?? window.location.origin), opts.roomId, this.doc, {
      params: opts.client ? { invite: opts.invite, client: opts.client } : { invite: opts.invite },
      WebSocketPolyfill: opts.WebSocketPolyfill,
      disableBc: opts.disableBc,
    });
    this.provider.messageHandlers[MESSAGE_TANDEM_RUN] = (_enc: unknown, dec: decoding.Decoder) => {
      const body = readJsonBody(dec) as RoomRunMessage | null;
      if (body && typeof body === "object" && "type" in body) this.runEv.emit(body);
    };
    this.provider.messageHandlers[MESSAGE_TANDEM_CONTROL] = (_enc: unknown, dec: decoding.Decoder) => {
      const body = readJsonBody(dec) as ControlMessage | null;
      if (body) this.onControl(body);
    };
    this.provider.messageHandlers[MESSAGE_TANDEM_RECORD] = (_enc: unknown, dec: decoding.Decoder) => {
      const body = readJsonBody(dec) as RecordMessage | null;
      if (body) this.onRecord(body);
    };
    this.provider.on("status", ({ status }) => {
      this.setState(status === "connected" ? "relayed" : status === "connecting" ? "connecting" : "offline");
    });
    this.provider.on("connection-close", (event) => {
      // 4401 (bad invite) and 4403 (revoked) are final: y-websocket stops reconnecting on 44xx.
      if (event && event.code >= 4400 && event.code < 4500) this.setState("refused");
    });
  }

  get awareness() {
    return this.provider.awareness;
  }

  private setState(s: ConnectionState) {
    if (this.state === "refused" && s !== "relayed") return;
    this.state = s;
    this.stateEv.emit(s);
  }

  private onControl(m: ControlMessage) {
    if (m.type === "policy") {
      this.policy = { you: m.you, members: m.members };
      this.policyEv.emit(this.policy);
    } else if (m.type === "invite_created") {
      this.invites.get(m.request_id)?.resolve(m.url);
      this.invites.delete(m.request_id);
    } else if (m.type === "error" && m.request_id) {
      this.invites.get(m.request_id)?.reject(new Error(m.message));
      this.invites.delete(m.request_id);
    }
  }

  private onRecord(m: RecordMessage) {
    if (m.type === "state") {
      this.interviewState = { controls: m.controls, chat: m.chat ?? [], private: m.private ?? null };
      this.interviewEv.emit(this.interviewState);
    } else if (m.type === "reply") {
      const p = this.calls.get(m.request_id);
      this.calls.delete(m.request_id);
      if (!p) return;
      if (m.ok) p.resolve(m.result ?? {});
      else p.reject(new Error(m.error ?? "refused"));
    }
  }

  /** Sends one Tandem frame; dropped while disconnected, like y-websocket drops awareness. */
  private send(type: number, body: unknown): boolean {
    const ws = this.provider.ws;
    if (!ws || ws.readyState !== 1) return false;
    ws.send(encodeJsonMessage(type, body));
    return true;
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
  setRole(member: string, role: Role) {
    this.send(MESSAGE_TANDEM_CONTROL, { type: "set_role", member, role });
  }
  setReadOnly(member: string, readOnly: boolean) {
    this.send(MESSAGE_TANDEM_CONTROL, { type: "set_read_only", member, read_only: readOnly });
  }
  revoke(member: string) {
    this.send(MESSAGE_TANDEM_CONTROL, { type: "revoke", member });
  }
  requestRun(request: RunRequest, kind: RunKind = "run") {
    const request_id = newRequestId();
    if (!this.send(MESSAGE_TANDEM_RUN, { type: "run_request", request_id, kind, request: { ...request, room: this.roomId } })) {
      queueMicrotask(() => this.runEv.emit({ type: "run_rejected", request_id, message: "offline" }));
    }
    return request_id;
  }
  cancelRun(runId: string) {
    this.send(MESSAGE_TANDEM_RUN, { type: "cancel", run_id: runId });
  }
  onRun(cb: (m: RoomRunMessage) => void) {
    return this.runEv.on(cb);
  }
  createInvite(role: Role) {
    const request_id = newRequestId();
    return new Promise<string>((resolve, reject) => {
      this.invites.set(request_id, { resolve, reject });
      if (!this.send(MESSAGE_TANDEM_CONTROL, { type: "create_invite", request_id, role })) {
        this.invites.delete(request_id);
        reject(new Error("offline"));
      }
    });
  }
  getInterview() {
    return this.interviewState;
  }
  onInterview(cb: (s: InterviewState) => void) {
    return this.interviewEv.on(cb);
  }
  interview<M extends InterviewMethod>(method: M, params: InterviewCalls[M]) {
    const request_id = newRequestId();
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      this.calls.set(request_id, { resolve, reject });
      if (!this.send(MESSAGE_TANDEM_RECORD, { type: "call", request_id, method, params })) {
        this.calls.delete(request_id);
        reject(new Error("offline"));
      }
    });
  }
  destroy() {
    for (const p of this.calls.values()) p.reject(new Error("closed"));
    this.calls.clear();
    this.interviewEv.clear();
    this.provider.destroy();
    this.doc.destroy();
    this.stateEv.clear();
    this.policyEv.clear();
    this.runEv.clear();
  }
}
