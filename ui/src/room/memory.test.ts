import { describe, expect, it } from "vitest";
import { MemoryHub, type Executor } from "./memory";
import { participants, updatePresence, type RoomRunMessage } from "./connection";
import { permissionsFor } from "../state/permissions";
import { seedRoom, switchLanguage, findLanguage, currentLanguage, isPristine } from "../state/languages";

const flush = () => new Promise((r) => setTimeout(r, 0));

const echo: Executor = (req, emit) => {
  emit({ type: "started", job_id: "j", language: req.language, version: "1" });
  emit({ type: "output", seq: 0, phase: "run", stream: "stdout", data: req.stdin ?? "" });
  emit({ type: "error", message: "done" });
  return () => {};
};

function room() {
  const hub = new MemoryHub("r", echo);
  const iv = hub.join({ name: "Ivy", colour: "#8e24aa", role: "interviewer" });
  const cand = hub.join({ name: "Cal", colour: "#3f51b5", role: "candidate" });
  const spec = hub.join({ name: "Sam", colour: "#009688", role: "spectator" });
  return { hub, iv, cand, spec };
}

describe("memory transport", () => {
  it("shares text, meta and presence between docs", () => {
    const { iv, cand, spec } = room();
    seedRoom(iv, "# P");
    expect(currentLanguage(cand).lang.id).toBe("python");
    expect(cand.fileText("main.py").toString()).toBe(findLanguage("python").template);
    expect(spec.doc.getText("problem").toString()).toBe("# P");
    updatePresence(cand.awareness, { cursor: { file: "main.py", anchor: 1, head: 3 } });
    const seen = participants(iv.awareness).find((p) => p.presence.name === "Cal");
    expect(seen?.presence.cursor).toEqual({ file: "main.py", anchor: 1, head: 3 });
    expect(participants(iv.awareness)).toHaveLength(3);
  });

  it("gates roles: spectators and read-only candidates cannot edit, spectators cannot run", async () => {
    const { iv, cand, spec } = room();
    seedRoom(iv);
    expect(permissionsFor(spec.getPolicy())).toMatchObject({ canEdit: false, canRun: false, canManage: false });
    expect(permissionsFor(cand.getPolicy())).toMatchObject({ canEdit: true, canRun: true, canManage: false });
    expect(permissionsFor(iv.getPolicy())).toMatchObject({ canEdit: true, canRun: true, canManage: true });

    // A candidate cannot change roles; the interviewer can.
    cand.setReadOnly(cand.member, true);
    expect(permissionsFor(cand.getPolicy()).readOnly).toBe(false);
    iv.setReadOnly(cand.member, true);
    expect(permissionsFor(cand.getPolicy())).toMatchObject({ readOnly: true, canEdit: false, canRun: true });

    // Edits from who may not edit do not reach the others (the peers refuse them too).
    cand.fileText("main.py").insert(0, "x");
    spec.fileText("main.py").insert(0, "y");
    expect(iv.fileText("main.py").toString()).toBe(findLanguage("python").template);

    const got: RoomRunMessage[] = [];
    spec.onRun((m) => got.push(m));
    spec.requestRun({ language: "python", files: [{ content: "" }] });
    await flush();
    expect(got[0]).toMatchObject({ type: "run_rejected" });
  });

  it("promotes, demotes and revokes", () => {
    const { iv, cand } = room();
    iv.setRole(cand.member, "interviewer");
    expect(permissionsFor(cand.getPolicy()).canManage).toBe(true);
    iv.setRole(cand.member, "spectator");
    expect(permissionsFor(cand.getPolicy()).canRun).toBe(false);
    const states: string[] = [];
    cand.onState((s) => states.push(s));
    iv.revoke(cand.member);
    expect(states).toEqual(["refused"]);
    expect(permissionsFor(cand.getPolicy()).revoked).toBe(true);
  });

  it("streams one run to every participant, in order", async () => {
    const { iv, cand, spec } = room();
    const a: RoomRunMessage[] = [];
    const b: RoomRunMessage[] = [];
    iv.onRun((m) => a.push(m));
    spec.onRun((m) => b.push(m));
    cand.requestRun({ language: "python", files: [{ content: "print(input())" }], stdin: "hi" });
    await flush();
    expect(a.map((m) => m.type)).toEqual(["run_accepted", "started", "output", "error"]);
    expect(b).toEqual(a);
    expect(a[0]).toMatchObject({ by: { name: "Cal" } });
  });

  it("switching language loads the template for everyone", () => {
    const { iv, cand } = room();
    seedRoom(iv);
    expect(isPristine(cand.fileText("main.py").toString(), findLanguage("python"))).toBe(true);
    switchLanguage(cand, "go");
    expect(currentLanguage(iv)).toMatchObject({ lang: { id: "go", monaco: "go" }, file: "main.go" });
    expect(iv.fileText("main.go").toString()).toContain("package main");
    expect(isPristine("package main // changed", findLanguage("go"))).toBe(false);
  });
});
