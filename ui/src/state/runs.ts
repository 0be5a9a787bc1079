/**
 * The run history as the console shows it: a pure reducer over the room's run stream.
 *
 * Why a reducer: events from the relay are the source of truth and may arrive for a run we did
 * not see announced (we joined mid-run) or with output chunks out of order after a reconnect; the
 * reducer sorts chunks by `seq`, drops duplicates, and is trivially testable.
 */
import type { RoomRunMessage, RunKind } from "../room/connection";
import type { Phase, PhaseResult, RunResult, Stream, Verdict } from "../room/exec";

export interface OutputChunk {
  seq: number;
  phase: Phase;
  stream: Stream;
  data: string;
}

export type RunStatus = "requested" | "queued" | "running" | "finished" | "error" | "rejected";

export interface RunRecord {
  run_id: string;
  request_id?: string;
  by?: { member: string; name: string };
  kind: RunKind;
  language: string;
  version?: string;
  status: RunStatus;
  position?: number;
  chunks: OutputChunk[];
  phases: PhaseResult[];
  result?: RunResult;
  verdict?: Verdict;
  error?: string;
}

export interface RunsState {
  /** Newest first. */
  order: string[];
  byId: Record<string, RunRecord>;
}

export const emptyRuns: RunsState = { order: [], byId: {} };

function blank(run_id: string): RunRecord {
  return { run_id, kind: "run", language: "", status: "queued", chunks: [], phases: [] };
}

function put(state: RunsState, rec: RunRecord): RunsState {
  const exists = rec.run_id in state.byId;
  return {
    order: exists ? state.order : [rec.run_id, ...state.order],
    byId: { ...state.byId, [rec.run_id]: rec },
  };
}

/** Inserts a chunk in `seq` order; a chunk already present (same seq) is ignored. */
export function insertChunk(chunks: OutputChunk[], c: OutputChunk): OutputChunk[] {
  let i = chunks.length;
  while (i > 0 && chunks[i - 1].seq > c.seq) i--;
  if (i > 0 && chunks[i - 1].seq === c.seq) return chunks;
  return [...chunks.slice(0, i), c, ...chunks.slice(i)];
}

export function reduceRuns(state: RunsState, m: RoomRunMessage): RunsState {
  if (m.type === "run_accepted") {
    const prev = state.byId[m.run_id] ?? blank(m.run_id);
    return put(state, { ...prev, request_id: m.request_id, by: m.by, kind: m.kind, language: m.language });
  }
  if (m.type === "run_rejected") {
    const id = `rejected:${m.request_id}`;
    return put(state, { ...blank(id), request_id: m.request_id, status: "rejected", error: m.message });
  }
  const prev = state.byId[m.run_id] ?? blank(m.run_id);
  switch (m.type) {
    case "queued":
      return put(state, { ...prev, status: "queued", position: m.position });
    case "started":
      return put(state, { ...prev, status: "running", language: m.language || prev.language, version: m.version });
    case "output":
      return put(state, { ...prev, status: prev.status === "queued" ? "running" : prev.status, chunks: insertChunk(prev.chunks, m) });
    case "phase_finished":
      return put(state, { ...prev, phases: [...prev.phases, m.result] });
    case "finished":
      return put(state, { ...prev, status: "finished", result: m.result, verdict: m.result.verdict, version: m.result.version });
    case "error":
      return put(state, { ...prev, status: "error", error: m.message });
  }
}

/** The figures shown next to a verdict: the run phase's, else the compile phase's. */
export function figures(r: RunRecord): { cpu_ms: number; wall_ms: number; memory_bytes: number | null; exit_code: number | null; signal: string | null } | null {
  const p = r.result?.run ?? r.result?.compile;
  if (!p) return null;
  return { cpu_ms: p.cpu_ms, wall_ms: p.wall_ms, memory_bytes: p.memory_bytes, exit_code: p.exit_code, signal: p.signal };
}
