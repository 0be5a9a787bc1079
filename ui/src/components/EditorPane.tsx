/** The editor pane: file name, who is typing, follow banner, and the lazily loaded Monaco. */
import { lazy, Suspense, useState } from "react";
import { useTranslation } from "react-i18next";
import { findLanguage } from "../state/languages";
import { useMeta, useParticipants, usePermissions, useRoom } from "../state/room";
import { monacoTheme, useSettings } from "../state/settings";
import { setUi, useUi } from "../state/ui";
import { useRunAction } from "../state/useRunAction";
import { Badge } from "./ui";
import { loadMonacoEditor, loadedMonacoEditor } from "../editor/load";

const LazyMonacoEditor = lazy(loadMonacoEditor);

export function EditorPane() {
  const { t } = useTranslation();
  // Chosen once per pane: switching from the lazy wrapper to the module would remount the editor.
  const [MonacoEditor] = useState(() => loadedMonacoEditor() ?? LazyMonacoEditor);
  const conn = useRoom();
  const lang = findLanguage(useMeta("language", conn));
  const file = useMeta("file", conn) ?? lang.file_name;
  const perms = usePermissions(conn);
  const settings = useSettings();
  const people = useParticipants(conn);
  const { follow } = useUi();
  const { run } = useRunAction();
  const typing = people.filter((p) => !p.local && p.presence.typing).map((p) => p.presence.name);
  const followed = people.find((p) => p.clientId === follow);

  return (
    <section aria-label={t("editor.label")} className="flex h-full min-h-0 flex-col bg-white dark:bg-zinc-900">
      <div className="flex min-h-9 items-center gap-2 border-b border-zinc-200 px-3 text-sm dark:border-zinc-700">
        <span className="font-mono">{file}</span>
        {!perms.canEdit && <Badge kind="warn">{t("editor.readOnly")}</Badge>}
        <span className="ml-auto truncate text-xs text-zinc-500 italic" aria-live="polite" data-testid="typing-indicator">
          {typing.length > 0 ? t("editor.typing", { names: typing.join(", ") }) : ""}
        </span>
      </div>
      {followed && (
        <div className="flex items-center gap-2 px-3 py-1 text-xs text-white" style={{ background: followed.presence.colour }} role="status">
          {t("participants.following", { name: followed.presence.name })}
          <button type="button" className="ml-auto underline" onClick={() => setUi({ follow: null })}>
            {t("participants.unfollow")}
          </button>
        </div>
      )}
      <div className="min-h-0 flex-1">
        <Suspense fallback={<p className="p-4 text-sm text-zinc-500">{t("editor.loading")}</p>}>
          <MonacoEditor
            conn={conn}
            file={file}
            monacoLanguage={lang.monaco}
            readOnly={!perms.canEdit}
            theme={monacoTheme(settings)}
            fontSize={settings.fontSize}
            keymap={settings.keymap}
            follow={follow}
            onRun={() => run("run")}
            onStopFollowing={() => setUi({ follow: null })}
          />
        </Suspense>
      </div>
    </section>
  );
}
