/** The desktop screens' flow against a recorded IPC (the real commands run in desktop/e2e). */
import { afterEach, describe, expect, it } from "vitest";
import { act, cleanup, fireEvent, render, screen } from "@testing-library/react";
import { DesktopApp } from "./DesktopApp";
import type { Ipc, Launch } from "../room/tauri";

afterEach(cleanup);

function fakeIpc(opts: { firstRun: boolean; saveError?: string; link?: string }) {
  const calls: [string, Record<string, unknown> | undefined][] = [];
  let settings = { name: opts.firstRun ? "" : "Ada", colour: "#e91e63", relay_url: null, exec_ticket: null };
  const ipc: Ipc = {
    async invoke<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
      calls.push([cmd, args]);
      switch (cmd) {
        case "get_profile":
          return { settings, first_run: !settings.name, member: "ab".repeat(32) } as T;
        case "save_settings": {
          if (opts.saveError) throw opts.saveError;
          const s = args!.settings as typeof settings;
          settings = { ...settings, name: s.name };
          return false as T;
        }
        case "recent_rooms":
          return [{ id: "cd".repeat(16), creator: "ab".repeat(32), last_opened_ms: 1 }] as T;
        case "take_launch":
          return { link: opts.link ?? null, open_room: null } as T;
        case "join_room":
          throw "invalid input: not a Tandem invite";
        default:
          throw new Error(`unexpected ${cmd}`);
      }
    },
    openRoom: async () => {
      throw new Error("not in this test");
    },
  };
  const launches: { send?: (l: Launch) => void } = {};
  ipc.watchLaunch = async (onLaunch) => {
    launches.send = onLaunch;
  };
  return { ipc, calls, launches };
}

describe("DesktopApp", () => {
  it("asks for a name on first run, saves it through the peer, then shows home", async () => {
    const { ipc, calls } = fakeIpc({ firstRun: true });
    render(<DesktopApp ipc={ipc} />);
    const name = await screen.findByTestId("profile-name", {}, { timeout: 5000 });
    fireEvent.change(name, { target: { value: "Grace" } });
    fireEvent.click(screen.getByRole("button", { name: "#3f51b5" }));
    await act(async () => fireEvent.click(screen.getByTestId("profile-save")));
    expect(calls.find(([c]) => c === "save_settings")?.[1]).toEqual({
      settings: { name: "Grace", colour: "#3f51b5", relay_url: "", exec_ticket: "" },
    });
    expect(await screen.findByTestId("create-room")).toBeInTheDocument();
    expect(await screen.findByText("cdcdcdcd")).toBeInTheDocument();
  });

  it("shows the peer's refusal of bad settings", async () => {
    const { ipc } = fakeIpc({ firstRun: true, saveError: "invalid input: the colour must look like #1a2b3c" });
    render(<DesktopApp ipc={ipc} />);
    const save = await screen.findByTestId("profile-save", {}, { timeout: 5000 });
    await act(async () => fireEvent.click(save));
    expect(await screen.findByRole("status")).toHaveTextContent("the colour must look like");
  });

  it("fills in the link the app was opened with and shows a join error", async () => {
    const { ipc } = fakeIpc({ firstRun: false, link: "tandem://join/xyz" });
    render(<DesktopApp ipc={ipc} />);
    const box = (await screen.findByTestId("join-link", {}, { timeout: 5000 })) as HTMLTextAreaElement;
    await screen.findByDisplayValue("tandem://join/xyz");
    expect(box.value).toBe("tandem://join/xyz");
    await act(async () => fireEvent.click(screen.getByTestId("join-room")));
    expect(await screen.findByRole("alert")).toHaveTextContent("not a Tandem invite");
  });

  it("puts a link handed over by a later launch into the join box", async () => {
    const { ipc, launches } = fakeIpc({ firstRun: false });
    render(<DesktopApp ipc={ipc} />);
    await screen.findByTestId("join-link", {}, { timeout: 5000 });
    await act(async () => launches.send!({ link: "tandem://join/later", open_room: null }));
    expect(await screen.findByDisplayValue("tandem://join/later")).toBeInTheDocument();
  });
});
