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
import {
  initialInterview,
  type ChatMessage,
  type Controls,
  type HistoryUpdate,
  type InterviewCalls,
  type InterviewMethod,
  type InterviewState,
  type Marker,
  type PrivateEntry,
  type PublicProblem,
  type Timeline,
  type TimerState,
} from "./interview";

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
  /** Problems the demo offers (none by default: `list_problems` then fails like a build without a bank). */
  problems: PublicProblem[] = [];
  private controls: Controls;
  private chat: ChatMessage[] = [];
  private notes = new Map<string, PrivateEntry>();
  private history: HistoryUpdate[] = [];
  private runMarks: Marker[] = [];
  /** For tests: the clock of the timer and the history. */
  now: () => number = () => Date.now();

  constructor(roomId = "demo", executor: Executor = () => () => {}) {
    this.roomId = roomId;
    this.executor = executor;
    this.controls = initialInterview(roomId).controls;
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
    const at = Math.max(this.now(), (this.history.at(-1)?.at_ms ?? 0) + 1);
    let bin = "";
    for (const b of update) bin += String.fromCharCode(b);
    this.history.push({ at_ms: at, author: from.member, update: btoa(bin) });
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

  /** What `member` sees of the interview: the private part only for interviewers. */
  interviewFor(member: string): InterviewState {
    return {
      controls: structuredClone(this.controls),
      chat: this.chat.map((m) => ({ ...m })),
      private: this.isInterviewer(member) ? [...this.notes.values()].map((e) => structuredClone(e)) : null,
    };
  }

  private broadcastInterview() {
    for (const r of this.rooms) r.receiveInterview(this.interviewFor(r.member));
  }

  private setControls(by: string, f: (c: Controls, now: number) => void): Controls {
    if (!this.isInterviewer(by)) throw new Error("only an interviewer can do this");
    const c = structuredClone(this.controls);
    const now = this.now();
    f(c, now);
    c.at_ms = Math.max(now, c.at_ms + 1);
    this.controls = c;
    this.broadcastInterview();
    return c;
  }

  /** @internal The same calls and the same refusals as `room/src/interview_api.rs`. */
  async call(from: MemoryRoom, method: InterviewMethod, params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const by = from.member;
    const timer = (c: Controls): TimerState => (c.timer ??= { duration_ms: 45 * 60_000, elapsed_ms: 0, running_since_ms: null });
    const interviewerOnly = () => {
      if (!this.isInterviewer(by)) throw new Error("only an interviewer can do this");
    };
    switch (method) {
      case "timer_set":
        return { controls: this.setControls(by, (c) => (c.timer = { duration_ms: Number(params.duration_ms), elapsed_ms: 0, running_since_ms: null })) };
      case "timer_start":
        return { controls: this.setControls(by, (c, now) => { const t = timer(c); t.running_since_ms ??= now; }) };
      case "timer_pause":
        return {
          controls: this.setControls(by, (c, now) => {
            const t = c.timer;
            if (t && t.running_since_ms != null) {
              t.elapsed_ms += now - t.running_since_ms;
              t.running_since_ms = null;
            }
          }),
        };
      case "timer_extend":
        return { controls: this.setControls(by, (c) => (timer(c).duration_ms += Number(params.by_ms))) };
      case "runs_enabled":
        return { controls: this.setControls(by, (c) => (c.runs_enabled = !!params.enabled)) };
      case "lock_editor": {
        interviewerOnly();
        const locked = !!params.locked;
        let targets: string[] = [];
        if (locked) {
          targets = [...this.members.values()].filter((m) => m.role === "candidate" && !m.read_only && !m.revoked).map((m) => m.member);
          for (const m of targets) this.members.get(m)!.read_only = true;
        } else {
          for (const m of this.controls.locked_members) {
            const mm = this.members.get(m);
            if (mm && mm.role === "candidate" && !mm.revoked) mm.read_only = false;
          }
        }
        this.broadcastPolicy();
        return {
          controls: this.setControls(by, (c) => {
            c.editor_locked = locked;
            c.locked_members = locked ? [...new Set([...c.locked_members, ...targets])].sort() : [];
          }),
        };
      }
      case "chat_send": {
        const text = String(params.text ?? "").trimEnd();
        if (!text.trim()) throw new Error("an empty message");
        if (text.length > 4000) throw new Error("a chat message has at most 4000 bytes");
        const m = this.members.get(by);
        if (!m || m.revoked) throw new Error("not a member of this room");
        const msg: ChatMessage = { id: `${this.chat.length + 1}`, at_ms: this.now(), by, name: String(params.name ?? ""), text };
        this.chat.push(msg);
        this.broadcastInterview();
        return { message: msg };
      }
      case "notes_set":
      case "scorecard_set": {
        interviewerOnly();
        const e = this.notes.get(by) ?? { member: by, notes: "", scorecard: null };
        if (method === "notes_set") e.notes = String(params.notes ?? "");
        else e.scorecard = structuredClone(params.scorecard) as PrivateEntry["scorecard"];
        this.notes.set(by, e);
        this.broadcastInterview();
        return {};
      }
      case "timeline":
        return { timeline: this.timeline() };
      case "export":
        return { markdown: `# Interview summary\n\n- Room: \`${this.roomId}\`\n` };
      case "list_problems":
        if (!this.problems.length) throw new Error("problems are not available in this build");
        return { problems: this.problems.map(({ id, title, difficulty, tags, kind }) => ({ id, title, difficulty, tags, kind })) };
      case "choose_problem": {
        interviewerOnly();
        const p = this.problems.find((x) => x.id === params.id);
        if (!p) throw new Error(`unknown problem ${String(params.id)}`);
        const md = [`# ${p.title}`, p.statement_md, ...p.examples.map((e, i) => `**Example ${i + 1}**\n\n\`\`\`\n${e.input}\n→ ${e.output}\n\`\`\``), p.constraints_md].join("\n\n");
        from.doc.transact(() => {
          const text = from.doc.getText("problem");
          text.delete(0, text.length);
          text.insert(0, md);
          from.meta().set("problem", p.id);
          from.meta().set("problem_json", JSON.stringify(p));
        }, from.localOrigin);
        return { problem: p };
      }
    }
    throw new Error(`unknown call ${String(method)}`);
  }

  private timeline(): Timeline {
    const names = new Map<string, string>();
    for (const r of this.rooms) names.set(r.member, (r.awareness.getLocalState() as { name?: string } | null)?.name ?? "");
    const tracks = [...this.members.values()].map((m) => ({ member: m.member, name: names.get(m.member) ?? "", role: m.role, markers: [] as Marker[] }));
    for (const h of this.history) {
      const t = tracks.find((x) => x.member === h.author);
      const inserted = atob(h.update).length;
      t?.markers.push(inserted >= 120 ? { kind: "paste", at_ms: h.at_ms, member: h.author, inserted } : { kind: "edit", at_ms: h.at_ms, member: h.author, inserted, deleted: false });
    }
    for (const m of this.runMarks) tracks.find((x) => x.member === m.member)?.markers.push(m);
    const times = [...this.history.map((h) => h.at_ms), ...this.runMarks.map((m) => m.at_ms)];
    const start = times.length ? Math.min(...times) : 0;
    const end = times.length ? Math.max(...times) : 0;
    return { start_ms: start, end_ms: end, tracks, updates: [...this.history] };
  }

  /** @internal */
  run(from: MemoryRoom, requestId: string, request: RunRequest, kind: RunKind) {
    if (!this.controls.runs_enabled) {
      from.receiveRun({ type: "run_rejected", request_id: requestId, message: "an interviewer turned runs off in this room" });
      return;
    }
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
    const runStart = this.now();
    const cancel = this.executor(request, (e) => {
      for (const r of this.rooms) r.receiveRun({ ...e, run_id: runId });
      if (e.type === "finished" || e.type === "error") {
        this.runs.delete(runId);
        const verdict = e.type === "finished" ? e.result.verdict : "error";
        this.runMarks.push({ kind: "run", at_ms: runStart, member: from.member, run_kind: kind, verdict, run_id: runId });
      }
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
  private interviewEv = new Emitter<InterviewState>();
  private interviewState: InterviewState;
  private readonly hub: MemoryHub;
  readonly member: string;

  constructor(hub: MemoryHub, member: string) {
    this.hub = hub;
    this.member = member;
    this.awareness = new Awareness(this.doc);
    this.policy = hub.policyFor(member);
    this.interviewState = hub.interviewFor(member);
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
  getInterview() {
    return this.interviewState;
  }
  onInterview(cb: (s: InterviewState) => void) {
    return this.interviewEv.on(cb);
  }
  interview<M extends InterviewMethod>(method: M, params: InterviewCalls[M]) {
    return this.hub.call(this, method, params as Record<string, unknown>);
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
  receiveInterview(s: InterviewState) {
    this.interviewState = s;
    this.interviewEv.emit(s);
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
