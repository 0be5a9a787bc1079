/**
 * Chooses the room connection from the URL and renders the workspace.
 *
 * `/room/<room-id>?invite=<token>` joins through the relay (the page is served by it);
 * `?demo` (optionally `&as=candidate|spectator|interviewer`) opens the in-page demo room.
 */
import { useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { ROLES, updatePresence, type Role, type RoomConnection } from "./room/connection";
import { createDemoRoom } from "./room/demo";
import { WebsocketRoom, browserClientToken } from "./room/websocket";
import { Workspace } from "./components/Workspace";
import { Button } from "./components/ui";
import { RoomProvider, useConnectionState } from "./state/room";
import { updateSettings, useSettings } from "./state/settings";
import { permissionsFor } from "./state/permissions";
import { seedRoom } from "./state/languages";
import { isTauri, tauriIpc, type Ipc } from "./room/tauri";
import { loadMonacoEditor } from "./editor/load";
import { DesktopApp } from "./components/DesktopApp";

const COLOURS = ["#e91e63", "#3f51b5", "#009688", "#ff9800", "#795548", "#607d8b", "#4caf50", "#f44336"];

export interface Route {
  kind: "room" | "demo" | "none";
  roomId: string;
  invite: string;
  role: Role;
}

export function parseRoute(loc: { pathname: string; search: string }): Route {
  const q = new URLSearchParams(loc.search);
  const as = q.get("as") as Role | null;
  const role = as && ROLES.includes(as) ? as : "interviewer";
  if (q.has("demo")) return { kind: "demo", roomId: "demo", invite: "", role };
  const m = loc.pathname.match(/^\/(?:room|r)\/([^/]+)\/?$/);
  if (m && q.get("invite")) return { kind: "room", roomId: decodeURIComponent(m[1]), invite: q.get("invite")!, role: "spectator" };
  return { kind: "none", roomId: "", invite: "", role };
}

function guestName() {
  return `Guest ${Math.floor(1000 + Math.random() * 9000)}`;
}

/** Under Tauri the desktop screens (rooms live in the app's Rust peer); elsewhere the web app. */
export function App() {
  return isTauri() ? <DesktopRoot /> : <WebApp />;
}

function DesktopRoot() {
  const [ipc, setIpc] = useState<Ipc | null>(null);
  useEffect(() => {
    void tauriIpc().then(setIpc);
    // The desktop app is for rooms: fetch and compile Monaco (most of the JavaScript) while the
    // peer starts and the room opens, instead of after (cold start, docs/benchmarks.md).
    loadMonacoEditor().catch(() => {});
  }, []);
  return ipc ? <DesktopApp ipc={ipc} /> : null;
}

function WebApp() {
  const { t } = useTranslation();
  const settings = useSettings();
  const route = useMemo(() => parseRoute(window.location), []);
  const name = settings.name || guestName();
  const colour = useMemo(() => COLOURS[Math.floor(Math.random() * COLOURS.length)], []);

  const conn = useMemo<RoomConnection | null>(() => {
    if (route.kind === "demo") return createDemoRoom({ name, colour, role: route.role }).me;
    if (route.kind === "room") {
      const room = new WebsocketRoom({ roomId: route.roomId, invite: route.invite, client: browserClientToken() });
      // The relay fills in role and member from the invite (policy message); we publish the rest.
      updatePresence(room.awareness, { name, colour, role: route.role, member: "", typing: false });
      // An empty room gets the default language and its template from the first interviewer, once
      // synced (so an existing room's content is never overwritten).
      room.provider.on("sync", (synced: boolean) => {
        if (synced && !room.meta().get("language") && permissionsFor(room.getPolicy()).canManage) seedRoom(room);
      });
      return room;
    }
    return null;
  }, [route]);

  useEffect(() => () => conn?.destroy(), [conn]);

  // Remember the generated name so it stays stable across reloads, and publish renames.
  useEffect(() => {
    if (!settings.name) updateSettings({ name });
    if (conn) updatePresence(conn.awareness, { name });
  }, [conn, name, settings.name]);

  // Our role as the room's policy says (the invite decides, not the URL).
  useEffect(() => {
    if (!conn) return;
    const publish = () => {
      const p = conn.getPolicy();
      const me = p.members.find((m) => m.member === p.you);
      if (me) updatePresence(conn.awareness, { role: me.role, member: me.member });
    };
    publish();
    return conn.onPolicy(publish);
  }, [conn]);

  if (!conn) {
    return (
      <main className="flex h-full flex-col items-center justify-center gap-4 bg-zinc-50 p-6 text-center text-zinc-900 dark:bg-zinc-950 dark:text-zinc-100">
        <h1 className="text-2xl font-semibold text-emerald-600">Tandem</h1>
        <p>{t("app.noRoom")}</p>
        <Button variant="primary" onClick={() => (window.location.search = "?demo")}>
          {t("app.tryDemo")}
        </Button>
      </main>
    );
  }
  return (
    <RoomProvider value={conn}>
      <Refused />
      <Workspace roomName={route.kind === "demo" ? t("app.demoProblem") : route.roomId} />
    </RoomProvider>
  );
}

function Refused() {
  const { t } = useTranslation();
  const state = useConnectionState();
  if (state !== "refused") return null;
  return (
    <div role="alert" className="bg-red-600 px-3 py-2 text-center text-sm text-white" data-testid="refused">
      {t("app.refused")}
    </div>
  );
}
