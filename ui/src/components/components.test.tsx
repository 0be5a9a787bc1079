import { afterEach, describe, expect, it, vi } from "vitest";
import { act, cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import type { ReactNode } from "react";
import { MemoryHub, type MemoryRoom } from "../room/memory";
import { RoomProvider } from "../state/room";
import { seedRoom } from "../state/languages";
import { TopBar } from "./TopBar";
import { ConsolePane } from "./ConsolePane";
import { ParticipantsList } from "./Participants";
import { LanguageSelect } from "./LanguageSelect";
import { RunHistory } from "./RunHistory";
import { emptyRuns, reduceRuns } from "../state/runs";
import { runStream } from "../test/fixtures";
import { uiStore } from "../state/ui";
import type { OutputChunk } from "../state/runs";

// xterm.js needs a canvas; the console's terminal is replaced by a plain transcript.
vi.mock("./XTerm", () => ({
  default: ({ chunks }: { chunks: OutputChunk[] }) => <pre data-testid="xterm">{chunks.map((c) => `[${c.stream}]${c.data}`).join("")}</pre>,
}));

afterEach(() => {
  cleanup();
  uiStore.set({ follow: null, stdin: "", selectedRun: null, tabletSide: "problem", phoneTab: "code" });
});

function setup() {
  const hub = new MemoryHub("r", () => () => {});
  const iv = hub.join({ name: "Ivy", colour: "#8e24aa", role: "interviewer" });
  const cand = hub.join({ name: "Cal", colour: "#3f51b5", role: "candidate" });
  const spec = hub.join({ name: "Sam", colour: "#009688", role: "spectator" });
  seedRoom(iv, "# Problem");
  return { hub, iv, cand, spec };
}
const wrap = (conn: MemoryRoom, ui: ReactNode) => render(<RoomProvider value={conn}>{ui}</RoomProvider>);

describe("TopBar role gating", () => {
  it("disables Run and Submit for a spectator, and the language selector", () => {
    const { spec } = setup();
    wrap(spec, <TopBar roomName="r" running={false} />);
    expect(screen.getByTestId("run-button")).toBeDisabled();
    expect(screen.getByTestId("submit-button")).toBeDisabled();
    expect(screen.getByTestId("language-select")).toBeDisabled();
    expect(screen.getByText("Spectator")).toBeInTheDocument();
    expect(screen.queryByText("Invite")).toBeNull();
  });

  it("lets a candidate run; Run sends the shared code and this user's stdin", async () => {
    const { cand } = setup();
    const spy = vi.spyOn(cand, "requestRun");
    uiStore.set((s) => ({ ...s, stdin: "1 2" }));
    wrap(cand, <TopBar roomName="r" running={false} />);
    fireEvent.click(screen.getByTestId("run-button"));
    expect(spy).toHaveBeenCalledWith(expect.objectContaining({ language: "python", stdin: "1 2", files: [expect.objectContaining({ name: "main.py" })] }), "run");
    expect(screen.queryByText("Invite")).toBeNull();
  });

  it("shows Invite to interviewers and reflects read-only", () => {
    const { iv, cand } = setup();
    wrap(iv, <TopBar roomName="r" running={false} />);
    expect(screen.getByText("Invite")).toBeInTheDocument();
    cleanup();
    act(() => iv.setReadOnly(cand.member, true));
    wrap(cand, <TopBar roomName="r" running={false} />);
    expect(screen.getAllByText("Read-only").length).toBeGreaterThan(0);
    expect(screen.getByTestId("language-select")).toBeDisabled();
    expect(screen.getByTestId("run-button")).not.toBeDisabled();
  });
});

describe("ConsolePane", () => {
  it("renders a run's event stream in order, with verdict and figures", () => {
    const { cand } = setup();
    const runs = runStream("r1").reduce(reduceRuns, emptyRuns);
    wrap(cand, <ConsolePane runs={runs} />);
    return screen.findByTestId("xterm").then((term) => {
      expect(term.textContent).toBe("[stdout]compiling\n[stdout]hello\n[stderr]oops\n");
      const status = within(screen.getByTestId("console")).getByTestId("run-status");
      expect(status).toHaveTextContent("OK");
      expect(status).toHaveTextContent("CPU 12 ms");
      expect(status).toHaveTextContent("Exit code 0");
    });
  });

  it("shows a queued run's position and a live run's cancel button", async () => {
    const { cand } = setup();
    const runs = runStream("r1").slice(0, 2).reduce(reduceRuns, emptyRuns);
    wrap(cand, <ConsolePane runs={runs} />);
    expect(screen.getByText("Queued (position 2)")).toBeInTheDocument();
    expect(screen.getByText("Cancel run")).toBeInTheDocument();
    await screen.findByTestId("xterm");
  });

  it("lists runs in the history, newest first, and opens one in the console", () => {
    const { cand } = setup();
    const runs = [...runStream("a"), ...runStream("b")].reduce(reduceRuns, emptyRuns);
    wrap(cand, <RunHistory runs={runs} />);
    const items = within(screen.getByTestId("run-history")).getAllByRole("listitem");
    expect(items).toHaveLength(2);
    fireEvent.click(within(items[1]).getByText("Show"));
    expect(uiStore.get().selectedRun).toBe("a");
  });
});

describe("ParticipantsList", () => {
  it("shows everyone with role badges; interviewer actions change the policy", () => {
    const { iv, cand } = setup();
    wrap(iv, <ParticipantsList />);
    const list = screen.getByTestId("participants-list");
    expect(within(list).getAllByRole("listitem")).toHaveLength(3);
    const calRow = within(list).getByText("Cal").closest("li")!;
    expect(within(calRow).getByText("Candidate")).toBeInTheDocument();
    act(() => fireEvent.click(within(calRow).getByText("Make read-only")));
    expect(cand.getPolicy().members.find((m) => m.member === cand.member)?.read_only).toBe(true);
    expect(within(calRow).getByText("Allow editing")).toBeInTheDocument();
    fireEvent.click(within(calRow).getByText("Follow"));
    expect(uiStore.get().follow).not.toBeNull();
  });

  it("offers no role actions to a candidate", () => {
    const { cand } = setup();
    wrap(cand, <ParticipantsList />);
    expect(screen.queryByText("Remove from room")).toBeNull();
    expect(screen.getAllByText("Follow").length).toBe(2);
  });
});

describe("LanguageSelect", () => {
  it("switches at once from the starter, and asks before discarding edited code", async () => {
    const { cand, iv } = setup();
    wrap(cand, <LanguageSelect />);
    fireEvent.change(screen.getByTestId("language-select"), { target: { value: "java" } });
    expect(iv.meta().get("language")).toBe("java");
    expect(screen.queryByRole("dialog")).toBeNull();

    act(() => cand.fileText("Main.java").insert(0, "// my work\n"));
    fireEvent.change(screen.getByTestId("language-select"), { target: { value: "go" } });
    const dialog = await screen.findByRole("dialog");
    expect(dialog).toHaveTextContent("Switch to Go");
    fireEvent.click(within(dialog).getByText("Cancel"));
    expect(iv.meta().get("language")).toBe("java");

    fireEvent.change(screen.getByTestId("language-select"), { target: { value: "go" } });
    fireEvent.click(within(await screen.findByRole("dialog")).getByText("Switch and discard"));
    expect(iv.meta().get("language")).toBe("go");
    expect(iv.fileText("main.go").toString()).toContain("package main");
  });
});
