import { afterEach, describe, expect, it } from "vitest";
import { act, cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import type { ReactNode } from "react";
import * as Y from "yjs";
import { MemoryHub, type MemoryRoom } from "../../room/memory";
import { RoomProvider } from "../../state/room";
import { formatClock, ReplayEngine, timerRemaining, type HistoryUpdate, type Timeline } from "../../room/interview";
import type { RoomRunMessage } from "../../room/connection";
import { TimerControl } from "./TimerControl";
import { InterviewerControls } from "./InterviewerControls";
import { ChatPanel } from "./ChatPanel";
import { PrivateNotes } from "./PrivateNotes";
import { Player } from "./ReplayView";
import { TestVerdicts } from "./TestVerdicts";
import { ProblemPicker } from "./ProblemPicker";
import { ProblemPane } from "../ProblemPane";
import { emptyRuns } from "../../state/runs";

afterEach(cleanup);

function setup() {
  const hub = new MemoryHub("r", () => () => {});
  let clock = 1_000_000;
  hub.now = () => clock;
  const iv = hub.join({ name: "Ivy", colour: "#8e24aa", role: "interviewer" });
  const iv2 = hub.join({ name: "Ian", colour: "#8e24aa", role: "interviewer" });
  const cand = hub.join({ name: "Cal", colour: "#3f51b5", role: "candidate" });
  const spec = hub.join({ name: "Sam", colour: "#009688", role: "spectator" });
  return { hub, iv, iv2, cand, spec, tick: (ms: number) => (clock += ms) };
}
const wrap = (conn: MemoryRoom, ui: ReactNode) => render(<RoomProvider value={conn}>{ui}</RoomProvider>);

describe("interview state in the memory transport (same rules as the peers)", () => {
  it("the timer agrees on every participant; only interviewers control it", async () => {
    const { iv, iv2, cand, spec, tick } = setup();
    await iv.interview("timer_set", { duration_ms: 60_000 });
    await iv.interview("timer_start", {});
    tick(10_000);
    await iv2.interview("timer_extend", { by_ms: 30_000 });
    await iv.interview("timer_pause", {});
    const t = iv.getInterview().controls;
    for (const p of [iv2, cand, spec]) expect(p.getInterview().controls).toEqual(t);
    expect(t.timer).toEqual({ duration_ms: 90_000, elapsed_ms: 10_000, running_since_ms: null });
    expect(timerRemaining(t.timer!, 9_999_999)).toBe(80_000);
    await expect(cand.interview("timer_start", {})).rejects.toThrow(/interviewer/);
    await expect(spec.interview("runs_enabled", { enabled: false })).rejects.toThrow(/interviewer/);
  });

  it("private notes reach interviewers only", async () => {
    const { iv, iv2, cand, spec } = setup();
    await iv.interview("notes_set", { notes: "SECRET strong" });
    expect(iv2.getInterview().private?.[0].notes).toBe("SECRET strong");
    for (const p of [cand, spec]) {
      expect(p.getInterview().private).toBeNull();
      expect(JSON.stringify(p.getInterview())).not.toContain("SECRET");
      await expect(p.interview("notes_set", { notes: "x" })).rejects.toThrow();
    }
  });

  it("runs off rejects runs; the lock makes the candidate read-only and unlock restores it", async () => {
    const { iv, cand } = setup();
    await iv.interview("runs_enabled", { enabled: false });
    const got: RoomRunMessage[] = [];
    cand.onRun((m) => got.push(m));
    cand.requestRun({ language: "python", files: [{ content: "print(1)" }] });
    await waitFor(() => expect(got[0]).toMatchObject({ type: "run_rejected" }));
    await iv.interview("lock_editor", { locked: true });
    expect(cand.getPolicy().members.find((m) => m.member === cand.member)?.read_only).toBe(true);
    cand.fileText("main.py").insert(0, "EVIL");
    expect(iv.fileText("main.py").toString()).toBe("");
    await iv.interview("lock_editor", { locked: false });
    expect(cand.getPolicy().members.find((m) => m.member === cand.member)?.read_only).toBe(false);
  });

  it("chat is shared and keeps its authors", async () => {
    const { iv, spec } = setup();
    await spec.interview("chat_send", { name: "Sam", text: "hi" });
    await expect(spec.interview("chat_send", { name: "Sam", text: "   " })).rejects.toThrow();
    expect(iv.getInterview().chat).toMatchObject([{ by: spec.member, text: "hi" }]);
  });
});

describe("replay engine", () => {
  it("reproduces exactly the text recorded at each moment, forwards and backwards", () => {
    const doc = new Y.Doc();
    const updates: HistoryUpdate[] = [];
    const snapshots: [number, string][] = [];
    let t = 100;
    doc.on("update", (u: Uint8Array) => {
      let bin = "";
      for (const b of u) bin += String.fromCharCode(b);
      updates.push({ at_ms: ++t, author: "a", update: btoa(bin) });
    });
    const text = doc.getText("file:main.rs");
    const steps: [number, string | number][] = [[0, "fn main() {}"], [11, "\n  x😀\n"], [3, 4], [0, "// hi\n"]];
    for (const [pos, what] of steps) {
      if (typeof what === "string") text.insert(pos, what);
      else text.delete(pos, what);
      snapshots.push([t, text.toString()]);
    }
    const engine = new ReplayEngine(updates);
    for (const [at, expected] of [...snapshots, ...[...snapshots].reverse()]) expect(engine.at(at)["main.rs"]).toBe(expected);
    expect(engine.at(0)).toEqual({});
    expect(formatClock(3_723_000)).toBe("1:02:03");
  });
});

describe("interview components", () => {
  it("TimerControl: interviewers get controls, candidates only the clock", async () => {
    const { iv, cand } = setup();
    wrap(iv, <TimerControl />);
    fireEvent.click(screen.getByTestId("timer-set"));
    await waitFor(() => expect(screen.getByTestId("timer-remaining")).toHaveTextContent("45:00"));
    cleanup();
    wrap(cand, <TimerControl />);
    expect(screen.getByTestId("timer-remaining")).toHaveTextContent("45:00");
    expect(screen.queryByTestId("timer-toggle")).toBeNull();
  });

  it("InterviewerControls: locking shows the badge to everyone", async () => {
    const { iv, cand } = setup();
    wrap(iv, <InterviewerControls />);
    fireEvent.click(screen.getByTestId("toggle-lock"));
    await waitFor(() => expect(cand.getInterview().controls.editor_locked).toBe(true));
    cleanup();
    wrap(cand, <InterviewerControls />);
    expect(screen.getByText("Editor locked")).toBeInTheDocument();
    expect(screen.queryByTestId("toggle-lock")).toBeNull();
  });

  it("ChatPanel sends and shows messages", async () => {
    const { cand, iv } = setup();
    wrap(cand, <ChatPanel />);
    fireEvent.change(screen.getByTestId("chat-input"), { target: { value: "question?" } });
    fireEvent.click(screen.getByTestId("chat-send"));
    await waitFor(() => expect(screen.getByText("question?")).toBeInTheDocument());
    expect(iv.getInterview().chat[0].text).toBe("question?");
  });

  it("private notes: the tab exists for interviewers only and edits are saved", async () => {
    const { iv, iv2, cand } = setup();
    wrap(cand, <ProblemPane runs={emptyRuns} />);
    expect(screen.queryByRole("tab", { name: "Notes" })).toBeNull();
    expect(screen.queryByRole("tab", { name: "Replay" })).toBeNull();
    cleanup();
    wrap(iv, <PrivateNotes />);
    fireEvent.change(screen.getByTestId("notes-input"), { target: { value: "good tests" } });
    fireEvent.change(screen.getByTestId("score-testing"), { target: { value: "4" } });
    await waitFor(() => expect(iv2.getInterview().private?.[0]?.notes).toBe("good tests"), { timeout: 3000 });
    await waitFor(() => expect(iv2.getInterview().private?.[0]?.scorecard?.criteria.find((c) => c.name === "testing")?.score).toBe(4), { timeout: 3000 });
  });

  it("Player shows the code at the scrubbed moment and per-participant tracks", () => {
    const doc = new Y.Doc();
    const updates: HistoryUpdate[] = [];
    let t = 1000;
    doc.on("update", (u: Uint8Array) => updates.push({ at_ms: (t += 1000), author: "a", update: btoa(String.fromCharCode(...u)) }));
    doc.getText("file:main.py").insert(0, "one\n");
    doc.getText("file:main.py").insert(4, "two\n");
    const timeline: Timeline = {
      start_ms: 2000,
      end_ms: 3000,
      updates,
      tracks: [{ member: "a", name: "Cal", role: "candidate", markers: [{ kind: "paste", at_ms: 3000, member: "a", inserted: 300 }] }],
    };
    render(<Player timeline={timeline} />);
    expect(screen.getByTestId("replay-code")).toHaveTextContent("one two");
    fireEvent.change(screen.getByTestId("replay-scrubber"), { target: { value: "2500" } });
    expect(screen.getByTestId("replay-code").textContent).toBe("one\n");
    expect(screen.getAllByTestId("replay-track")).toHaveLength(1);
    expect(screen.getByText(/Cal/)).toBeInTheDocument();
    fireEvent.change(screen.getByTestId("replay-speed"), { target: { value: "32" } });
    expect((screen.getByTestId("replay-speed") as HTMLSelectElement).value).toBe("32");
    act(() => {
      fireEvent.click(screen.getByLabelText(/large paste/));
    });
    expect(screen.getByTestId("replay-code")).toHaveTextContent("one two");
  });

  it("TestVerdicts never shows a hidden test's data", () => {
    render(
      <TestVerdicts
        report={{
          passed: 1,
          total: 3,
          cases: [
            { index: 0, hidden: false, verdict: "accepted", time_ms: 3 },
            { index: 1, hidden: false, verdict: "wrong_answer", input: "1 2", expected: "3", actual: "4" },
            { index: 0, hidden: true, verdict: "wrong_answer", input: "SHOULD-NOT-SHOW" },
          ],
        }}
      />,
    );
    expect(screen.getByTestId("tests-summary")).toHaveTextContent("1 of 3 tests passed");
    expect(screen.getAllByTestId("test-case")).toHaveLength(3);
    expect(screen.getByText("Hidden test 1")).toBeInTheDocument();
    expect(screen.queryByText("SHOULD-NOT-SHOW")).toBeNull();
    expect(screen.getByText("4")).toBeInTheDocument();
  });

  it("ProblemPicker lists the bank and chooses a problem for everyone", async () => {
    const { hub, iv, cand } = setup();
    hub.problems = [
      { id: "two-sum", title: "Two Sum", difficulty: "easy", tags: ["array"], kind: "function", statement_md: "Find two numbers.", examples: [{ input: "[2,7] 9", output: "[0,1]" }], constraints_md: "n ≤ 10^4", starter: {} },
    ];
    wrap(iv, <ProblemPicker open onOpenChange={() => {}} />);
    await waitFor(() => expect(screen.getByText("Two Sum")).toBeInTheDocument());
    fireEvent.click(screen.getByTestId("choose-two-sum"));
    await waitFor(() => expect(cand.doc.getText("problem").toString()).toContain("Find two numbers."));
    expect(cand.meta().get("problem")).toBe("two-sum");
  });

  it("ProblemPicker says why when the build has no problem bank", async () => {
    const { iv } = setup();
    wrap(iv, <ProblemPicker open onOpenChange={() => {}} />);
    await waitFor(() => expect(screen.getByRole("alert")).toHaveTextContent("problems are not available in this build"));
  });
});
