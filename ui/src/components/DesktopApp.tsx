/**
 * The desktop app's screens (shown only under Tauri): first run (name and colour), home (create,
 * join by invite or `tandem://join/…` link, recent rooms, settings) and the open room. All state
 * lives in the Rust peer; this only asks it through commands (desktop/src/commands.rs).
 */
import { useCallback, useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { updatePresence } from "../room/connection";
import { TauriRoom, type Ipc, type Launch } from "../room/tauri";
import { RoomProvider } from "../state/room";
import { permissionsFor } from "../state/permissions";
import { seedRoom } from "../state/languages";
import { updateSettings } from "../state/settings";
import { Workspace } from "./Workspace";
import { Button } from "./ui";

export const DESKTOP_COLOURS = ["#e91e63", "#3f51b5", "#009688", "#ff9800", "#795548", "#607d8b", "#4caf50", "#f44336"];

interface DesktopSettings {
  name: string;
  colour: string;
  relay_url: string | null;
  exec_ticket: string | null;
}
interface Profile {
  settings: DesktopSettings;
  first_run: boolean;
  member: string;
}
interface RecentRoom {
  id: string;
  creator: string;
  last_opened_ms: number;
}

const input =
  "rounded border border-zinc-300 bg-white px-2 py-1 text-sm dark:border-zinc-600 dark:bg-zinc-900";

export function DesktopApp({ ipc }: { ipc: Ipc }) {
  const { t } = useTranslation();
  const [profile, setProfile] = useState<Profile | null>(null);
  const [room, setRoom] = useState<TauriRoom | null>(null);
  const [error, setError] = useState("");

  const reload = useCallback(() => {
    ipc
      .invoke<Profile>("get_profile")
      .then((p) => {
        setProfile(p);
        if (p.settings.name) updateSettings({ name: p.settings.name });
      })
      .catch((e) => setError(String(e)));
  }, [ipc]);
  useEffect(reload, [reload]);

  const open = useCallback(
    async (roomId: string) => {
      setError("");
      try {
        const r = await TauriRoom.open(roomId, ipc);
        const s = profile?.settings;
        updatePresence(r.awareness, { name: s?.name ?? "", colour: s?.colour ?? DESKTOP_COLOURS[0], member: r.getPolicy().you, typing: false });
        const publishRole = () => {
          const p = r.getPolicy();
          const me = p.members.find((m) => m.member === p.you);
          if (me) updatePresence(r.awareness, { role: me.role, member: me.member });
        };
        publishRole();
        r.onPolicy(publishRole);
        // An empty room gets the default language and template from its interviewer, once synced.
        r.onSynced(() => {
          if (!r.meta().get("language") && permissionsFor(r.getPolicy()).canManage) seedRoom(r);
        });
        setRoom(r);
      } catch (e) {
        setError(String(e));
      }
    },
    [ipc, profile],
  );

  // A link opened while the app runs (a later launch handed it over): back home with the link in
  // the join box, or straight into a stored room. The room's state stays in the peer. While a
  // room is open, the person is asked first: any web page can open a `tandem://` link, and
  // must not be able to pull an interviewer out of an interview.
  const [incoming, setIncoming] = useState<{ link: string; at: number } | null>(null);
  const [pendingLaunch, setPendingLaunch] = useState<Launch | null>(null);
  const latest = useRef({ room, open });
  latest.current = { room, open };
  const follow = useCallback((l: Launch) => {
    const { room: current, open: openRoom } = latest.current;
    current?.destroy();
    setRoom(null);
    if (l.link) setIncoming({ link: l.link, at: Date.now() });
    else if (l.open_room) void openRoom(l.open_room);
  }, []);
  const watching = profile !== null;
  useEffect(() => {
    if (!watching || !ipc.watchLaunch) return;
    ipc
      .watchLaunch((l: Launch) => {
        if (!l.link && !l.open_room) return;
        if (latest.current.room) setPendingLaunch(l);
        else follow(l);
      })
      .catch((e) => console.warn("tandem: watch_launch:", e));
  }, [ipc, watching, follow]);

  if (room) {
    return (
      <div className="flex h-full flex-col">
        <div className="flex items-center gap-2 border-b border-zinc-200 bg-zinc-100 px-3 py-1 text-xs dark:border-zinc-700 dark:bg-zinc-950">
          <Button
            compact
            variant="ghost"
            data-testid="back-home"
            onClick={() => {
              room.destroy();
              setRoom(null);
            }}
          >
            ← {t("desktop.home")}
          </Button>
          {pendingLaunch && (
            <span role="alertdialog" aria-label={t("desktop.launchAsk")} data-testid="launch-ask" className="ml-auto flex items-center gap-2">
              {t("desktop.launchAsk")}
              <Button
                compact
                variant="primary"
                data-testid="launch-leave"
                onClick={() => {
                  setPendingLaunch(null);
                  follow(pendingLaunch);
                }}
              >
                {t("desktop.launchLeave")}
              </Button>
              <Button compact variant="ghost" data-testid="launch-stay" onClick={() => setPendingLaunch(null)}>
                {t("desktop.launchStay")}
              </Button>
            </span>
          )}
        </div>
        <div className="min-h-0 flex-1">
          <RoomProvider value={room}>
            <Workspace roomName={room.roomId.slice(0, 8)} />
          </RoomProvider>
        </div>
      </div>
    );
  }
  if (!profile) {
    return <main className="flex h-full items-center justify-center">{error || t("app.loading")}</main>;
  }
  if (profile.first_run) {
    return <ProfileForm ipc={ipc} profile={profile} onSaved={reload} first />;
  }
  return <Home ipc={ipc} profile={profile} onOpen={open} error={error} setError={setError} onSaved={reload} incoming={incoming} />;
}

function ProfileForm({ ipc, profile, onSaved, first }: { ipc: Ipc; profile: Profile; onSaved: () => void; first?: boolean }) {
  const { t } = useTranslation();
  const s = profile.settings;
  const [name, setName] = useState(s.name);
  const [colour, setColour] = useState(s.colour || DESKTOP_COLOURS[0]);
  const [relay, setRelay] = useState(s.relay_url ?? "");
  const [ticket, setTicket] = useState(s.exec_ticket ?? "");
  const [msg, setMsg] = useState("");
  const save = async () => {
    setMsg("");
    try {
      const restart = await ipc.invoke<boolean>("save_settings", {
        settings: { name, colour, relay_url: relay, exec_ticket: ticket },
      });
      setMsg(restart ? t("desktop.restartNeeded") : t("desktop.saved"));
      onSaved();
    } catch (e) {
      setMsg(String(e));
    }
  };
  return (
    <form
      className={first ? "mx-auto flex max-w-md flex-col gap-3 p-8" : "flex flex-col gap-3"}
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      {first && <h1 className="text-2xl font-semibold text-emerald-600">{t("desktop.welcome")}</h1>}
      <label className="flex flex-col gap-1 text-sm">
        {t("desktop.name")}
        <input className={input} data-testid="profile-name" value={name} maxLength={40} onChange={(e) => setName(e.target.value)} />
      </label>
      <fieldset className="flex flex-col gap-1 text-sm">
        <legend>{t("desktop.colour")}</legend>
        <div className="flex gap-2">
          {DESKTOP_COLOURS.map((c) => (
            <button
              key={c}
              type="button"
              aria-label={c}
              aria-pressed={c === colour}
              onClick={() => setColour(c)}
              className={"h-7 w-7 rounded-full " + (c === colour ? "ring-2 ring-offset-2 ring-zinc-500" : "")}
              style={{ background: c }}
            />
          ))}
        </div>
      </fieldset>
      <label className="flex flex-col gap-1 text-sm">
        {t("desktop.relayUrl")}
        <input className={input} value={relay} placeholder="https://relay.example.org" onChange={(e) => setRelay(e.target.value)} />
      </label>
      <label className="flex flex-col gap-1 text-sm">
        {t("desktop.execTicket")}
        <input className={input} data-testid="exec-ticket" value={ticket} placeholder="tandem-exec:…" onChange={(e) => setTicket(e.target.value)} />
      </label>
      <Button variant="primary" type="submit" data-testid="profile-save">
        {first ? t("desktop.start") : t("desktop.save")}
      </Button>
      {msg && <p className="text-sm" role="status">{msg}</p>}
    </form>
  );
}

function Home({
  ipc,
  profile,
  onOpen,
  error,
  setError,
  onSaved,
  incoming,
}: {
  ipc: Ipc;
  profile: Profile;
  onOpen: (id: string) => Promise<void>;
  error: string;
  setError: (e: string) => void;
  onSaved: () => void;
  incoming: { link: string; at: number } | null;
}) {
  const { t } = useTranslation();
  const [recent, setRecent] = useState<RecentRoom[]>([]);
  const [link, setLink] = useState("");
  const [busy, setBusy] = useState(false);
  const [showSettings, setShowSettings] = useState(false);
  useEffect(() => {
    if (incoming) setLink(incoming.link);
  }, [incoming]);

  useEffect(() => {
    ipc.invoke<RecentRoom[]>("recent_rooms").then(setRecent).catch((e) => setError(String(e)));
    // A `tandem://join/…` link the app was opened with, or `--open <room-id>`.
    ipc
      .invoke<{ link: string | null; open_room: string | null }>("take_launch")
      .then((l) => {
        if (l.link) setLink(l.link);
        if (l.open_room) void onOpen(l.open_room);
      })
      .catch(() => {});
  }, [ipc, setError, onOpen]);

  const act = async (f: () => Promise<{ id: string }>) => {
    setBusy(true);
    setError("");
    try {
      const r = await f();
      await onOpen(r.id);
    } catch (e) {
      setError(String(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="mx-auto flex h-full max-w-2xl flex-col gap-6 overflow-auto p-8 text-zinc-900 dark:text-zinc-100">
      <header className="flex items-center justify-between">
        <h1 className="text-2xl font-semibold text-emerald-600">Tandem</h1>
        <span className="flex items-center gap-2 text-sm">
          <span className="inline-block h-3 w-3 rounded-full" style={{ background: profile.settings.colour }} />
          {profile.settings.name}
          <Button compact variant="ghost" data-testid="home-settings" onClick={() => setShowSettings((v) => !v)}>
            {t("desktop.settings")}
          </Button>
        </span>
      </header>
      {showSettings && <ProfileForm ipc={ipc} profile={profile} onSaved={onSaved} />}
      <section className="flex flex-col gap-2">
        <Button variant="primary" disabled={busy} data-testid="create-room" onClick={() => void act(() => ipc.invoke("create_room"))}>
          {t("desktop.createRoom")}
        </Button>
      </section>
      <section className="flex flex-col gap-2">
        <label className="flex flex-col gap-1 text-sm">
          {t("desktop.invite")}
          <textarea className={input + " font-mono text-xs"} rows={3} data-testid="join-link" value={link} placeholder="tandem://join/…" onChange={(e) => setLink(e.target.value)} />
        </label>
        <Button disabled={busy || !link.trim()} data-testid="join-room" onClick={() => void act(() => ipc.invoke("join_room", { link: link.trim() }))}>
          {busy ? t("desktop.joining") : t("desktop.join")}
        </Button>
      </section>
      {error && (
        <p role="alert" className="text-sm text-red-600">
          {error}
        </p>
      )}
      <section className="flex flex-col gap-2">
        <h2 className="font-semibold">{t("desktop.recent")}</h2>
        {recent.length === 0 && <p className="text-sm text-zinc-500">{t("desktop.noRecent")}</p>}
        <ul className="flex flex-col gap-1">
          {recent.map((r) => (
            <li key={r.id}>
              <Button compact variant="ghost" data-testid="recent-room" onClick={() => void onOpen(r.id)}>
                <span className="font-mono">{r.id.slice(0, 8)}</span>
                {r.last_opened_ms > 0 && <span className="ml-2 text-zinc-500">{new Date(r.last_opened_ms).toLocaleString()}</span>}
              </Button>
            </li>
          ))}
        </ul>
      </section>
    </main>
  );
}
