/**
 * The room screen in three shapes: resizable three-pane split on desktop, editor plus one
 * toggled side pane on tablets, and one view at a time behind tabs on phones. Panes keep their
 * state across shapes because they read it from the room and the stores, not from the layout.
 */
import { useEffect } from "react";
import { useTranslation } from "react-i18next";
import { Group, Panel, Separator } from "react-resizable-panels";
import { useRuns, useRoom } from "../state/room";
import { useBreakpoint } from "../state/useBreakpoint";
import { setUi, uiStore, useUi } from "../state/ui";
import { ConsolePane } from "./ConsolePane";
import { EditorPane } from "./EditorPane";
import { ProblemPane } from "./ProblemPane";
import { Tabs } from "./Tabs";
import { TopBar } from "./TopBar";
import { useRunAction } from "../state/useRunAction";
import { useAwayPresence } from "../state/interview";
import { cx } from "./ui";

const sep = "bg-zinc-200 hover:bg-emerald-500 focus-visible:bg-sky-500 dark:bg-zinc-700 outline-none";

export function Workspace({ roomName }: { roomName: string }) {
  const { t } = useTranslation();
  const conn = useRoom();
  const runs = useRuns(conn);
  const bp = useBreakpoint();
  const ui = useUi();
  const newest = runs.order[0] ? runs.byId[runs.order[0]] : undefined;
  const running = !!newest && (newest.status === "queued" || newest.status === "running");

  // Page-wide keys: Escape stops following; Ctrl/Cmd+Enter runs from anywhere (the stdin box
  // included). Inside Monaco the editor's own command handles it, so it is skipped here.
  const { run } = useRunAction();
  useAwayPresence(conn);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape" && uiStore.get().follow !== null) setUi({ follow: null });
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && !(e.target as Element | null)?.closest?.(".monaco-editor")) {
        e.preventDefault();
        run("run");
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [run]);

  let body;
  if (bp === "desktop") {
    body = (
      <Group orientation="horizontal" className="min-h-0 flex-1">
        <Panel id="problem" defaultSize="34" minSize="18">
          <ProblemPane runs={runs} />
        </Panel>
        <Separator className={cx(sep, "w-1")} />
        <Panel id="work" minSize="30">
          <Group orientation="vertical">
            <Panel id="editor" defaultSize="65" minSize="20">
              <EditorPane />
            </Panel>
            <Separator className={cx(sep, "h-1")} />
            <Panel id="console" minSize="15">
              <ConsolePane runs={runs} />
            </Panel>
          </Group>
        </Panel>
      </Group>
    );
  } else if (bp === "tablet") {
    body = (
      <div className="flex min-h-0 flex-1">
        <div className="flex w-[42%] min-w-0 flex-col border-r border-zinc-200 dark:border-zinc-700">
          <div role="radiogroup" aria-label={t("layout.sidePane")} className="flex gap-1 border-b border-zinc-200 p-1 dark:border-zinc-700">
            {(["problem", "console"] as const).map((side) => (
              <button
                key={side}
                type="button"
                role="radio"
                aria-checked={ui.tabletSide === side}
                onClick={() => setUi({ tabletSide: side })}
                className={cx("flex-1 rounded px-2 py-1 text-sm focus-visible:outline-2 focus-visible:outline-sky-500", ui.tabletSide === side ? "bg-emerald-600 text-white" : "hover:bg-zinc-200 dark:hover:bg-zinc-700")}
              >
                {t(`layout.${side}`)}
              </button>
            ))}
          </div>
          <div className="min-h-0 flex-1">{ui.tabletSide === "problem" ? <ProblemPane runs={runs} /> : <ConsolePane runs={runs} />}</div>
        </div>
        <div className="min-w-0 flex-1">
          <EditorPane />
        </div>
      </div>
    );
  } else {
    body = (
      <div className="min-h-0 flex-1">
        <Tabs
          label={t("layout.views")}
          value={ui.phoneTab}
          onValueChange={(v) => setUi({ phoneTab: v as typeof ui.phoneTab })}
          tabs={[
            { value: "problem", label: t("layout.problem"), content: <ProblemPane runs={runs} /> },
            { value: "code", label: t("layout.code"), content: <EditorPane /> },
            { value: "console", label: t("layout.console"), content: <ConsolePane runs={runs} /> },
          ]}
        />
      </div>
    );
  }

  return (
    <div className="flex h-full flex-col bg-zinc-50 text-zinc-900 dark:bg-zinc-950 dark:text-zinc-100" data-layout={bp}>
      <TopBar roomName={roomName} running={running} />
      {body}
    </div>
  );
}
