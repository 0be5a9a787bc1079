/**
 * Run output in xterm.js. Why a terminal rather than a <pre>: programs print ANSI colours and
 * carriage-return progress bars, and interviewers expect them to look as they do locally.
 * Chunks are written incrementally; switching to another run clears and replays.
 */
import { useEffect, useRef } from "react";
import { Terminal } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import "@xterm/xterm/css/xterm.css";
import type { OutputChunk } from "../state/runs";

const LIGHT = { background: "#ffffff", foreground: "#18181b", cursor: "#ffffff", selectionBackground: "#bae6fd" };
const DARK = { background: "#09090b", foreground: "#e4e4e7", cursor: "#09090b", selectionBackground: "#075985" };

export function renderChunk(c: OutputChunk): string {
  // Compile output is dimmed and stderr red, so the eye finds the program's own stdout.
  if (c.stream === "stderr") return `\x1b[31m${c.data}\x1b[0m`;
  if (c.phase === "compile") return `\x1b[2m${c.data}\x1b[0m`;
  return c.data;
}

export default function XTerm({ runId, chunks, dark, label }: { runId: string | null; chunks: OutputChunk[]; dark: boolean; label: string }) {
  const host = useRef<HTMLDivElement>(null);
  const term = useRef<Terminal | null>(null);
  const written = useRef<{ runId: string | null; count: number }>({ runId: null, count: 0 });

  useEffect(() => {
    const t = new Terminal({ convertEol: true, disableStdin: true, fontSize: 13, scrollback: 5000, theme: dark ? DARK : LIGHT, cursorBlink: false });
    const fit = new FitAddon();
    t.loadAddon(fit);
    t.open(host.current!);
    t.textarea?.setAttribute("aria-label", label);
    term.current = t;
    const ro = new ResizeObserver(() => {
      try {
        fit.fit();
      } catch {
        /* hidden pane: nothing to fit */
      }
    });
    ro.observe(host.current!);
    written.current = { runId: null, count: 0 };
    return () => {
      ro.disconnect();
      t.dispose();
      term.current = null;
    };
  }, []);

  useEffect(() => {
    if (term.current) term.current.options.theme = dark ? DARK : LIGHT;
  }, [dark]);

  useEffect(() => {
    const t = term.current;
    if (!t) return;
    if (written.current.runId !== runId || chunks.length < written.current.count) {
      t.reset();
      written.current = { runId, count: 0 };
    }
    // Chunks are kept sorted by seq; a late chunk that lands before the end forces a replay.
    for (let i = written.current.count; i < chunks.length; i++) t.write(renderChunk(chunks[i]));
    written.current.count = chunks.length;
  }, [runId, chunks]);

  return <div ref={host} className="h-full min-h-24 w-full overflow-hidden px-1" data-testid="xterm" />;
}
