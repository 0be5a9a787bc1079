import type { RoomRunMessage } from "../room/connection";
import type { PhaseResult, Verdict } from "../room/exec";

const limits = { wall_ms: 5000, cpu_ms: 3000, memory_bytes: 1 << 28, output_bytes: 65536 };

export function phase(p: "compile" | "run", verdict: Verdict = "ok"): PhaseResult {
  return { phase: p, verdict, exit_code: verdict === "ok" ? 0 : 1, signal: null, cpu_ms: 12, wall_ms: 20, memory_bytes: 4 << 20, stdout: "", stderr: "", output: "" };
}

export function finishedOk(run_id: string, verdict: Verdict = "ok"): RoomRunMessage {
  return {
    type: "finished",
    run_id,
    result: { job_id: "j", language: "cpp", version: "14", verdict, compile: phase("compile"), run: phase("run", verdict), limits: { compile: limits, run: limits, pids: 64, cpu_millis: 1000 }, total_ms: 99 },
  };
}

/** A whole run as the relay would stream it, chunks deliberately out of order. */
export function runStream(run_id: string): RoomRunMessage[] {
  return [
    { type: "run_accepted", run_id, request_id: "q1", by: { member: "aa", name: "Alice" }, kind: "run", language: "cpp" },
    { type: "queued", run_id, job_id: "j", position: 1 },
    { type: "queued", run_id, job_id: "j", position: 0 },
    { type: "started", run_id, job_id: "j", language: "cpp", version: "14" },
    { type: "output", run_id, seq: 0, phase: "compile", stream: "stdout", data: "compiling\n" },
    { type: "phase_finished", run_id, result: phase("compile") },
    { type: "output", run_id, seq: 2, phase: "run", stream: "stderr", data: "oops\n" },
    { type: "output", run_id, seq: 1, phase: "run", stream: "stdout", data: "hello\n" },
    { type: "phase_finished", run_id, result: phase("run") },
    finishedOk(run_id),
  ];
}
