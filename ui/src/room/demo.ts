/**
 * Demo mode: a memory room with a scripted second participant and a pretend execution node,
 * so the UI can be tried (and screenshotted) without a relay. Nothing here is used in a real room.
 */
import { MemoryHub, type Executor } from "./memory";
import { updatePresence, type Role } from "./connection";
import type { PhaseResult, RunResult } from "./exec";
import { seedRoom } from "../state/languages";

export const DEMO_PROBLEM = `# Reverse words

Given a line of text on standard input, print its words in reverse order, separated by single spaces.

## Example 1

\`\`\`
Input:  the sky is blue
Output: blue is sky the
\`\`\`

## Example 2

\`\`\`
Input:  "  hello world  "
Output: "world hello"
\`\`\`

## Constraints

- 1 ≤ length of the line ≤ 10⁴
- The line holds letters, digits and spaces.
- Aim for O(n) time.
`;

const LIMITS = { wall_ms: 5000, cpu_ms: 3000, memory_bytes: 268435456, output_bytes: 65536 };

/** Pretends to run: answers with the input's words reversed, streamed in a few chunks. */
export const demoExecutor: Executor = (request, emit) => {
  const timers: ReturnType<typeof setTimeout>[] = [];
  let seq = 0;
  const at = (ms: number, f: () => void) => timers.push(setTimeout(f, ms));
  const job_id = `demo-${Math.random().toString(36).slice(2, 8)}`;
  const answer = (request.stdin ?? "").trim().split(/\s+/).filter(Boolean).reverse().join(" ") || "Hello, Tandem!";
  const lines = [`${answer}\n`, "\x1b[2m(demo mode: no code was executed)\x1b[0m\n"];
  at(50, () => emit({ type: "queued", job_id, position: 0 }));
  at(150, () => emit({ type: "started", job_id, language: request.language, version: "demo" }));
  lines.forEach((data, i) => at(250 + i * 150, () => emit({ type: "output", seq: seq++, phase: "run", stream: "stdout", data })));
  at(600, () => {
    const run: PhaseResult = { phase: "run", verdict: "ok", exit_code: 0, signal: null, cpu_ms: 21, wall_ms: 34, memory_bytes: 9_437_184, stdout: lines.join(""), stderr: "", output: lines.join(""), message: undefined };
    emit({ type: "phase_finished", result: run });
    const result: RunResult = { job_id, language: request.language, version: "demo", verdict: "ok", run, limits: { compile: LIMITS, run: LIMITS, pids: 64, cpu_millis: 1000 }, total_ms: 410 };
    emit({ type: "finished", result });
  });
  return () => {
    timers.forEach(clearTimeout);
    emit({ type: "error", message: "cancelled" });
  };
};

/** A demo room: "Ada" (interviewer) is already there with a cursor; the page joins as `role`. */
export function createDemoRoom(opts: { name: string; colour: string; role: Role }) {
  const hub = new MemoryHub("demo", demoExecutor);
  const ada = hub.join({ name: "Ada Lovelace", colour: "#8e24aa", role: opts.role === "interviewer" ? "candidate" : "interviewer" });
  seedRoom(ada, DEMO_PROBLEM);
  const file = ada.meta().get("file")!;
  updatePresence(ada.awareness, { cursor: { file, anchor: 32, head: 52 }, selection: { file, anchor: 32, head: 52 } });
  const me = hub.join(opts);
  return { hub, me, ada };
}
