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
  /** A problem of the node's bank: the files are the candidate's solution. */
  problem?: string;
  /** With `problem`: judge the hidden tests (the room path sets it from the run's kind). */
  submit?: boolean;
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
  /** Per-test verdicts of a problem run. */
  tests?: TestReport;
}

export const TEST_VERDICTS = [
  "accepted",
  "wrong_answer",
  "time_limit",
  "memory_limit",
  "runtime_error",
  "compile_error",
  "output_limit",
  "ran",
  "not_run",
  "internal_error",
] as const;
/** `ran`: custom input, nothing to compare with; `not_run`: an earlier case ended the program. */
export type TestVerdict = (typeof TEST_VERDICTS)[number];

/** One case. `input`/`expected`/`actual` only ever exist for visible cases. */
export interface TestCase {
  index: number;
  hidden: boolean;
  verdict: TestVerdict;
  time_ms?: number;
  input?: string;
  expected?: string;
  actual?: string;
  message?: string;
}

export interface TestReport {
  problem: string;
  /** false: Run (visible examples + custom input); true: Submit (hidden tests). */
  submit: boolean;
  verdict: TestVerdict;
  passed: number;
  total: number;
  cases: TestCase[];
  /** Index of the first failing visible case. */
  first_failure?: number;
}

/** Mirror of `shared/src/problem.rs`. */
export type ProblemKind = "function" | "stdio";
export type Difficulty = "easy" | "medium" | "hard";

export interface ProblemSummary {
  id: string;
  title: string;
  difficulty: Difficulty;
  tags: string[];
  kind: ProblemKind;
}

export interface Example {
  input: string;
  output: string;
  explanation?: string;
}

/** Everything a peer may see of a problem (never its hidden tests). */
export interface PublicProblem extends ProblemSummary {
  statement_md: string;
  examples: Example[];
  constraints_md: string;
  /** Language id -> starter code. */
  starter: Record<string, string>;
  signature?: string;
}

/** `meta` keys set by `Room::choose_problem` (the statement goes to the `problem` text). */
export const META_PROBLEM = "problem";
export const META_PROBLEM_JSON = "problem_json";

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
