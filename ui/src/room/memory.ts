/**
 * An in-process transport: a hub that links several Y.Docs in the same page, with the policy
 * and run plumbing a relay would provide. For unit tests and for the local demo mode only.
 *
 * Why it enforces policy like a peer does (updates from members who may not edit are not
 * forwarded, role actions only from interviewers): so tests of role gating exercise the same
 * shape of refusal the real room has, not just disabled buttons.
 */
import * as Y from "yjs";
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate } from "y-protocols/awareness";
import {
  FILE_PREFIX,
  META_MAP,
  newRequestId,
  updatePresence,
  type ConnectionState,
  type MemberPolicy,
  type Policy,
  type Role,
  type RoomConnection,
  type RoomRunMessage,
  type RunKind,
} from "./connection";
import type { RunEvent, RunRequest } from "./exec";
import { Emitter } from "./emitter";

/** Runs a request, reporting events in order; returns a cancel function. */
export type Executor = (request: RunRequest, emit: (e: RunEvent) => void) => () => void;

const REMOTE = Symbol("memory-remote");

export class MemoryHub {
  readonly roomId: string;
  private rooms = new Set<MemoryRoom>();
  private members = new Map<string, MemberPolicy>();
  private runs = new Map<string, () => void>();
  private nextMember = 1;
  private nextRun = 1;
  executor: Executor;

  constructor(roomId = "demo", executor: Executor = () => () => {}) {
    this.roomId = roomId;
    this.executor = executor;
  }

  /** Adds a participant; the first arrives to an empty room and should seed it. */
  join(opts: { name: string; colour: string; role: Role }): MemoryRoom {
    const member = (this.nextMember++).toString(16).padStart(8, "0");
    this.members.set(member, { member, role: opts.role, read_only: false });
    const room = new MemoryRoom(this, member);
    // Catch up on the document and on everyone's presence, as sync step 2 would.
    const other = [...this.rooms][0];
    if (other) {
      Y.applyUpdate(room.doc, Y.encodeStateAsUpdate(other.doc), REMOTE);
    }
    this.rooms.add(room);
    for (const r of this.rooms) {
      if (r === room) continue;
      const ids = [...r.awareness.getStates().keys()];
      applyAwarenessUpdate(room.awareness, encodeAwarenessUpdate(r.awareness, ids), REMOTE);
    }
    updatePresence(room.awareness, { name: opts.name, colour: opts.colour, role: opts.role, member, typing: false });
    this.broadcastPolicy();
    return room;
  }

  /** @internal */
  leave(room: MemoryRoom) {
    this.rooms.delete(room);
    for (const r of this.rooms) {
      applyAwarenessUpdate(r.awareness, encodeAwarenessUpdate(room.awareness, [room.awareness.clientID], new Map()), REMOTE);
      r.awareness.getStates().delete(room.awareness.clientID);
      r.awareness.emit("change", [{ added: [], updated: [], removed: [room.awareness.clientID] }, REMOTE]);
    }
  }

  mayEdit(member: string): boolean {
    const m = this.members.get(member);
    return !!m && !m.revoked && m.role !== "spectator" && !m.read_only;
  }

  private isInterviewer(member: string) {
    const m = this.members.get(member);
    return !!m && !m.revoked && m.role === "interviewer";
  }

  /** @internal */
  forwardUpdate(from: MemoryRoom, update: Uint8Array) {
    if (!this.mayEdit(from.member)) return;
    for (const r of this.rooms) if (r !== from) Y.applyUpdate(r.doc, update, REMOTE);
  }

  /** @internal */
  forwardAwareness(from: MemoryRoom, update: Uint8Array) {
    for (const r of this.rooms) if (r !== from) applyAwarenessUpdate(r.awareness, update, REMOTE);
  }

  policyFor(member: string): Policy {
    return { you: member, members: [...this.members.values()].map((m) => ({ ...m })) };
  }

  private broadcastPolicy() {
    for (const r of this.rooms) r.receivePolicy(this.policyFor(r.member));
  }

  /** @internal */
  changeMember(by: string, member: string, patch: Partial<MemberPolicy>) {
    const m = this.members.get(member);
    if (!m || !this.isInterviewer(by)) return;
    Object.assign(m, patch);
    if (patch.revoked) {
      for (const r of [...this.rooms]) if (r.member === member) r.receiveRevoked();
    }
    this.broadcastPolicy();
  }

  /** @internal */
  run(from: MemoryRoom, requestId: string, request: RunRequest, kind: RunKind) {
    const m = this.members.get(from.member);
    if (!m || m.revoked || m.role === "spectator") {
      from.receiveRun({ type: "run_rejected", request_id: requestId, message: "spectators cannot run code" });
      return;
    }
    const runId = `run-${this.nextRun++}`;
    const name = (from.awareness.getLocalState() as { name?: string } | null)?.name ?? "";
    const announce: RoomRunMessage = {
      type: "run_accepted",
      run_id: runId,
      request_id: requestId,
      by: { member: from.member, name },
      kind,
      language: request.language,
    };
    for (const r of this.rooms) r.receiveRun(announce);
    const cancel = this.executor(request, (e) => {
      for (const r of this.rooms) r.receiveRun({ ...e, run_id: runId });
      if (e.type === "finished" || e.type === "error") this.runs.delete(runId);
    });
    this.runs.set(runId, cancel);
  }

  /** @internal */
  cancel(runId: string) {
    this.runs.get(runId)?.();
  }
}

export class MemoryRoom implements RoomConnection {
  readonly doc = new Y.Doc();
  readonly awareness: Awareness;
  readonly localOrigin = { local: true };
  private state: ConnectionState = "direct";
  private policy: Policy;
  private stateEv = new Emitter<ConnectionState>();
  private policyEv = new Emitter<Policy>();
  private runEv = new Emitter<RoomRunMessage>();
  private readonly hub: MemoryHub;
  readonly member: string;

  constructor(hub: MemoryHub, member: string) {
    this.hub = hub;
    this.member = member;
    this.awareness = new Awareness(this.doc);
    this.policy = hub.policyFor(member);
    this.doc.on("update", (update: Uint8Array, origin: unknown) => {
      if (origin !== REMOTE) hub.forwardUpdate(this, update);
    });
    this.awareness.on("update", ({ added, updated, removed }: Record<string, number[]>, origin: unknown) => {
      if (origin === REMOTE) return;
      hub.forwardAwareness(this, encodeAwarenessUpdate(this.awareness, [...added, ...updated, ...removed]));
    });
  }

  get roomId() {
    return this.hub.roomId;
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
    this.hub.changeMember(this.member, member, { role });
  }
  setReadOnly(member: string, readOnly: boolean) {
    this.hub.changeMember(this.member, member, { read_only: readOnly });
  }
  revoke(member: string) {
    this.hub.changeMember(this.member, member, { revoked: true });
  }
  requestRun(request: RunRequest, kind: RunKind = "run") {
    const id = newRequestId();
    queueMicrotask(() => this.hub.run(this, id, { ...request, room: this.roomId }, kind));
    return id;
  }
  cancelRun(runId: string) {
    this.hub.cancel(runId);
  }
  onRun(cb: (m: RoomRunMessage) => void) {
    return this.runEv.on(cb);
  }
  async createInvite(role: Role) {
    const base = typeof window !== "undefined" ? window.location.origin : "http://localhost";
    return `${base}/?demo&as=${role}`;
  }
  destroy() {
    this.hub.leave(this);
    this.awareness.destroy();
    this.doc.destroy();
  }

  /** @internal */
  receivePolicy(p: Policy) {
    this.policy = p;
    this.policyEv.emit(p);
  }
  /** @internal */
  receiveRun(m: RoomRunMessage) {
    this.runEv.emit(m);
  }
  /** @internal */
  receiveRevoked() {
    this.state = "refused";
    this.stateEv.emit("refused");
  }
}
