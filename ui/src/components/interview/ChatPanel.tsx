/** The room's chat, persisted in the session record; every member may post. */
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { useInterview } from "../../state/interview";
import { usePolicy, useRoom } from "../../state/room";
import { useSettings } from "../../state/settings";
import { Button } from "../ui";

export function ChatPanel() {
  const { t } = useTranslation();
  const conn = useRoom();
  const { chat } = useInterview(conn);
  const policy = usePolicy(conn);
  const settings = useSettings();
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);
  const end = useRef<HTMLLIElement>(null);
  // Braces matter: Chromium's scrollIntoView now returns a promise, which React would take for
  // the effect's cleanup function.
  useEffect(() => {
    end.current?.scrollIntoView?.({ block: "end" });
  }, [chat.length]);
  const send = () => {
    const body = text.trim();
    if (!body) return;
    const name = (conn.awareness.getLocalState() as { name?: string } | null)?.name ?? settings.name ?? "";
    setError(null);
    conn
      .interview("chat_send", { name, text: body })
      .then(() => setText(""))
      .catch((e: Error) => setError(e.message));
  };
  return (
    <div className="flex h-full flex-col" data-testid="chat">
      <ol className="min-h-0 flex-1 space-y-2 overflow-auto p-3" aria-label={t("chat.label")} aria-live="polite">
        {chat.length === 0 && <li className="text-sm text-zinc-500">{t("chat.empty")}</li>}
        {chat.map((m) => (
          <li key={m.id + m.by} className="text-sm">
            <span className="font-medium">{m.name || m.by.slice(0, 8)}</span>
            {m.by === policy.you && <span className="text-zinc-500"> ({t("participants.you")})</span>}
            <time className="ml-2 text-xs text-zinc-500" dateTime={new Date(m.at_ms).toISOString()}>
              {new Date(m.at_ms).toLocaleTimeString()}
            </time>
            <p className="whitespace-pre-wrap break-words">{m.text}</p>
          </li>
        ))}
        <li ref={end} aria-hidden="true" />
      </ol>
      <form
        className="flex gap-2 border-t border-zinc-200 p-2 dark:border-zinc-700"
        onSubmit={(e) => {
          e.preventDefault();
          send();
        }}
      >
        <input
          value={text}
          onChange={(e) => setText(e.target.value)}
          maxLength={4000}
          aria-label={t("chat.message")}
          placeholder={t("chat.placeholder")}
          className="min-w-0 flex-1 rounded-md border border-zinc-300 bg-white px-2 py-1 text-sm dark:border-zinc-600 dark:bg-zinc-950"
          data-testid="chat-input"
        />
        <Button type="submit" variant="primary" disabled={!text.trim()} data-testid="chat-send">
          {t("chat.send")}
        </Button>
      </form>
      {error && (
        <p role="alert" className="px-3 pb-2 text-xs text-red-600">
          {error}
        </p>
      )}
    </div>
  );
}
