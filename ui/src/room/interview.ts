/**
 * The interview features as the UI sees them: a TypeScript mirror of
 * `shared/src/interview.rs` (controls, chat, notes, scorecards, timeline) and of the problem
 * contract (`shared/src/problem.rs`), plus the pure helpers the components share (timer
 * arithmetic, the replay engine). Field names stay snake_case: these objects arrive as the
 * peers' JSON unchanged (relay message type 102, desktop IPC `interview_*`).
 */
import * as Y from "yjs";
import { FILE_PREFIX } from "./connection";

export interface TimerState {
  duration_ms: number;
  elapsed_ms: number;
  running_since_ms: number | null;
}

export interface Controls {
  room: string;
  at_ms: number;
  timer: TimerState | null;
  runs_enabled: boolean;
  editor_locked: boolean;
  locked_members: string[];
}

export interface ChatMessage {
  id: string;
  at_ms: number;
  by: string;
  name: string;
  text: string;
}

export interface Criterion {
  name: string;
  score: number;
  comment: string;
}

export type Recommendation = "" | "strong_no" | "no" | "yes" | "strong_yes";
export const RECOMMENDATIONS: Recommendation[] = ["strong_no", "no", "yes", "strong_yes"];

export interface Scorecard {
  criteria: Criterion[];
  recommendation: Recommendation;
  summary: string;
}

/** The default rubric (same names as `Scorecard::rubric` in Rust; labels are translated). */
export const RUBRIC = ["problem_solving", "code_quality", "communication", "testing"] as const;

export function emptyScorecard(): Scorecard {
  return { criteria: RUBRIC.map((name) => ({ name, score: 0, comment: "" })), recommendation: "", summary: "" };
}

export interface PrivateEntry {
  member: string;
  notes: string;
  scorecard: Scorecard | null;
}

/** Pushed by every transport whenever it changes. `private` is null unless we are an interviewer. */
export interface InterviewState {
  controls: Controls;
  chat: ChatMessage[];
  private: PrivateEntry[] | null;
}

export function initialInterview(room = ""): InterviewState {
  return {
    controls: { room, at_ms: 0, timer: null, runs_enabled: true, editor_locked: false, locked_members: [] },
    chat: [],
    private: null,
  };
}

export interface HistoryUpdate {
  at_ms: number;
  author: string;
  /** lib0 v1 Yjs update, base64. */
  update: string;
}

export type Marker =
  | { kind: "edit"; at_ms: number; member: string; inserted: number; deleted: boolean }
  | { kind: "paste"; at_ms: number; member: string; inserted: number }
  | { kind: "run"; at_ms: number; member: string; run_kind: string; verdict: string; run_id: string }
  | { kind: "away"; at_ms: number; member: string; until_ms: number };

export interface Track {
  member: string;
  name: string;
  role: string;
  markers: Marker[];
}

export interface Timeline {
  start_ms: number;
  end_ms: number;
  tracks: Track[];
  updates: HistoryUpdate[];
}

// The problem contract is mirrored once, in exec.ts (next to the run results that carry it).
export type { Difficulty, ProblemSummary, PublicProblem } from "./exec";

/**
 * Per-test verdicts of a run or submit (`RunResult.tests`). The `bank` branch owns the exact
 * contract (ui/src/room/exec.ts); these are the fields this UI reads, all optional so a
 * differently-shaped report still renders what it can.
 */
export interface TestCaseView {
  index: number;
  hidden: boolean;
  verdict: string;
  time_ms?: number | null;
  input?: string | null;
  expected?: string | null;
  actual?: string | null;
  message?: string | null;
}
export interface TestReportView {
  passed: number;
  total: number;
  cases: TestCaseView[];
}

/** The calls every transport forwards unchanged (`room/src/interview_api.rs`). */
export interface InterviewCalls {
  timer_set: { duration_ms: number };
  timer_start: Record<string, never>;
  timer_pause: Record<string, never>;
  timer_extend: { by_ms: number };
  runs_enabled: { enabled: boolean };
  lock_editor: { locked: boolean };
  chat_send: { name: string; text: string };
  notes_set: { notes: string };
  scorecard_set: { scorecard: Scorecard };
  timeline: Record<string, never>;
  export: Record<string, never>;
  list_problems: Record<string, never>;
  choose_problem: { id: string };
}
export type InterviewMethod = keyof InterviewCalls;

// ---- timer ----

export function timerElapsed(t: TimerState, now: number): number {
  return t.elapsed_ms + (t.running_since_ms != null ? Math.max(0, now - t.running_since_ms) : 0);
}

export function timerRemaining(t: TimerState, now: number): number {
  return Math.max(0, t.duration_ms - timerElapsed(t, now));
}

/** `h:mm:ss` or `mm:ss`. */
export function formatClock(ms: number): string {
  const s = Math.floor(Math.max(0, ms) / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const two = (n: number) => n.toString().padStart(2, "0");
  return h > 0 ? `${h}:${two(m)}:${two(sec)}` : `${two(m)}:${two(sec)}`;
}

// ---- replay ----

function fromBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * Rebuilds the code at any moment from the timeline's updates: apply, in order, those with
 * `at_ms <= t` (exactly what the peer did). Moving forward applies only the new ones; moving
 * back starts again from an empty document.
 */
export class ReplayEngine {
  private doc = new Y.Doc();
  private applied = 0;
  private readonly updates: { at_ms: number; bytes: Uint8Array }[];

  constructor(updates: HistoryUpdate[]) {
    this.updates = updates.map((u) => ({ at_ms: u.at_ms, bytes: fromBase64(u.update) }));
  }

  /** The files (path → text) at `t`. */
  at(t: number): Record<string, string> {
    let target = 0;
    while (target < this.updates.length && this.updates[target].at_ms <= t) target++;
    if (target < this.applied) {
      this.doc.destroy();
      this.doc = new Y.Doc();
      this.applied = 0;
    }
    for (; this.applied < target; this.applied++) {
      try {
        Y.applyUpdate(this.doc, this.updates[this.applied].bytes);
      } catch {
        // A malformed entry is skipped, as the peer does.
      }
    }
    const files: Record<string, string> = {};
    for (const name of this.doc.share.keys()) {
      if (name.startsWith(FILE_PREFIX)) files[name.slice(FILE_PREFIX.length)] = this.doc.getText(name).toString();
    }
    return files;
  }

  destroy() {
    this.doc.destroy();
  }
}

export const REPLAY_SPEEDS = [1, 2, 4, 8, 16, 32] as const;
