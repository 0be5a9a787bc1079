/**
 * The execution contract as the UI sees it: a TypeScript mirror of `shared/src/exec.rs`
 * (version 1). Field names stay snake_case because these objects arrive as the node's JSON
 * unchanged; translating them would make every log line and test fixture differ from the Rust side.
 */

export type Encoding = "utf8" | "base64" | "hex";

export interface SourceFile {
  name?: string;
  content: string;
  encoding?: Encoding;
}

export interface LimitsRequest {
  compile_wall_ms?: number | null;
  compile_cpu_ms?: number | null;
  run_wall_ms?: number | null;
  run_cpu_ms?: number | null;
  compile_memory_bytes?: number | null;
  run_memory_bytes?: number | null;
  pids?: number | null;
  output_bytes?: number | null;
}

export interface RunRequest {
  language: string;
  version?: string;
  files: SourceFile[];
  stdin?: string;
  args?: string[];
  limits?: LimitsRequest;
  room?: string;
}

export interface PhaseLimits {
  wall_ms: number;
  cpu_ms: number;
  memory_bytes: number;
  output_bytes: number;
}

export interface ResolvedLimits {
  compile: PhaseLimits;
  run: PhaseLimits;
  pids: number;
  cpu_millis: number;
}

export type Phase = "compile" | "run";
export type Stream = "stdout" | "stderr";

export const VERDICTS = [
  "ok",
  "compile_error",
  "runtime_error",
  "cpu_time_limit",
  "wall_time_limit",
  "memory_limit",
  "output_limit",
  "cancelled",
  "internal_error",
] as const;
export type Verdict = (typeof VERDICTS)[number];

export interface PhaseResult {
  phase: Phase;
  verdict: Verdict;
  exit_code: number | null;
  signal: string | null;
  cpu_ms: number;
  wall_ms: number;
  memory_bytes: number | null;
  stdout: string;
  stderr: string;
  output: string;
  message?: string;
}

export interface RunResult {
  job_id: string;
  language: string;
  version: string;
  verdict: Verdict;
  compile?: PhaseResult;
  run?: PhaseResult;
  limits: ResolvedLimits;
  total_ms: number;
}

/** One event of a run's stream, in order (`#[serde(tag = "type", rename_all = "snake_case")]`). */
export type RunEvent =
  | { type: "queued"; job_id: string; position: number }
  | { type: "started"; job_id: string; language: string; version: string }
  | { type: "output"; seq: number; phase: Phase; stream: Stream; data: string }
  | { type: "phase_finished"; result: PhaseResult }
  | { type: "finished"; result: RunResult }
  | { type: "error"; message: string };

/** Whether `e` ends its run (nothing follows it). */
export function isTerminal(e: RunEvent): boolean {
  return e.type === "finished" || e.type === "error";
}
