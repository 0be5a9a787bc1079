import { describe, expect, it } from "vitest";
import { emptyRuns, figures, insertChunk, reduceRuns } from "./runs";
import type { RoomRunMessage } from "../room/connection";
import { finishedOk, runStream } from "../test/fixtures";

describe("run reducer", () => {
  it("follows a run from announcement to verdict", () => {
    const s = runStream("r1").reduce(reduceRuns, emptyRuns);
    const r = s.byId.r1;
    expect(s.order).toEqual(["r1"]);
    expect(r.status).toBe("finished");
    expect(r.verdict).toBe("ok");
    expect(r.by?.name).toBe("Alice");
    expect(r.chunks.map((c) => c.data).join("")).toBe("compiling\nhello\noops\n");
    expect(figures(r)).toMatchObject({ cpu_ms: 12, wall_ms: 20, exit_code: 0 });
  });

  it("orders chunks by seq and ignores duplicates (reconnect replays)", () => {
    let c = insertChunk([], { seq: 2, phase: "run", stream: "stdout", data: "c" });
    c = insertChunk(c, { seq: 0, phase: "run", stream: "stdout", data: "a" });
    c = insertChunk(c, { seq: 1, phase: "run", stream: "stdout", data: "b" });
    c = insertChunk(c, { seq: 1, phase: "run", stream: "stdout", data: "b" });
    expect(c.map((x) => x.data).join("")).toBe("abc");
  });

  it("keeps runs newest first and tolerates events for unannounced runs", () => {
    const msgs: RoomRunMessage[] = [
      { type: "output", run_id: "late", seq: 0, phase: "run", stream: "stdout", data: "x" },
      ...runStream("r2"),
      { type: "run_rejected", request_id: "q9", message: "spectators cannot run code" },
    ];
    const s = msgs.reduce(reduceRuns, emptyRuns);
    expect(s.order).toEqual(["rejected:q9", "r2", "late"]);
    expect(s.byId.late.status).toBe("running");
    expect(s.byId["rejected:q9"].status).toBe("rejected");
  });

  it("records errors and verdicts", () => {
    const s = [
      { type: "run_accepted", run_id: "e", request_id: "q", by: { member: "m", name: "B" }, kind: "submit", language: "go" } as RoomRunMessage,
      { type: "error", run_id: "e", message: "node unreachable" } as RoomRunMessage,
    ].reduce(reduceRuns, emptyRuns);
    expect(s.byId.e).toMatchObject({ status: "error", error: "node unreachable", kind: "submit" });
    expect(reduceRuns(emptyRuns, finishedOk("z", "runtime_error")).byId.z.verdict).toBe("runtime_error");
  });
});
