/** The top bar: room, language, Run/Submit, theme, participants, invite, settings, connection. */
import { useTranslation } from "react-i18next";
import { useConnectionState, usePermissions, useRoom } from "../state/room";
import { updateSettings, useSettings } from "../state/settings";
import { useRunAction } from "../state/useRunAction";
import { InviteButton } from "./InviteDialog";
import { InterviewerControls } from "./interview/InterviewerControls";
import { ProblemPickerButton } from "./interview/ProblemPicker";
import { TimerControl } from "./interview/TimerControl";
import { LanguageSelect } from "./LanguageSelect";
import { ParticipantsButton } from "./Participants";
import { SettingsButton } from "./SettingsDialog";
import { Badge, Button, cx } from "./ui";

const stateDot: Record<string, string> = {
  connecting: "bg-amber-400",
  direct: "bg-emerald-500",
  relayed: "bg-emerald-500",
  offline: "bg-red-500",
  refused: "bg-red-600",
};

export function TopBar({ roomName, running }: { roomName: string; running: boolean }) {
  const { t } = useTranslation();
  const conn = useRoom();
  const state = useConnectionState(conn);
  const perms = usePermissions(conn);
  const settings = useSettings();
  const { run, canRun } = useRunAction();
  const dark = settings.theme === "dark";

  return (
    <header className="flex flex-wrap items-center gap-x-2 gap-y-1.5 border-b border-zinc-200 bg-white px-3 py-2 dark:border-zinc-700 dark:bg-zinc-900">
      <h1 className="truncate text-base font-semibold sm:mr-1" title={t("topbar.room", { name: roomName })}>
        <span className="text-emerald-600">Tandem</span> <span className="hidden sm:inline">· {roomName}</span>
      </h1>
      <span className="flex items-center gap-1.5 text-xs text-zinc-500" role="status" data-testid="connection-state">
        <span className={cx("inline-block h-2 w-2 rounded-full", stateDot[state])} aria-hidden="true" />
        <span className="hidden md:inline">{t(`connection.${state}`)}</span>
        <span className="sr-only md:hidden">{t(`connection.${state}`)}</span>
      </span>
      <Badge kind={perms.role}>{t(`roles.${perms.role}`)}</Badge>
      {perms.readOnly && <Badge kind="warn">{t("participants.readOnly")}</Badge>}
      <TimerControl />
      <InterviewerControls />
      <div className="order-last flex w-full items-center justify-center gap-2 md:order-none md:mx-auto md:w-auto">
        <LanguageSelect />
        <Button variant="secondary" onClick={() => run("run")} disabled={!canRun} title={canRun ? t("topbar.runHint") : t("topbar.noRunSpectator")} aria-keyshortcuts="Control+Enter Meta+Enter" data-testid="run-button">
          <span aria-hidden="true">▶</span> {running ? t("topbar.running") : t("topbar.run")}
        </Button>
        <Button variant="primary" onClick={() => run("submit")} disabled={!canRun} title={canRun ? t("topbar.submitHint") : t("topbar.noRunSpectator")} data-testid="submit-button">
          {t("topbar.submit")}
        </Button>
      </div>
      <div className="ml-auto flex items-center gap-1 md:ml-0">
        <ProblemPickerButton />
        <Button variant="ghost" compact onClick={() => updateSettings({ theme: dark ? "light" : "dark" })} aria-label={dark ? t("topbar.toLight") : t("topbar.toDark")} title={dark ? t("topbar.toLight") : t("topbar.toDark")} data-testid="theme-toggle">
          <span aria-hidden="true">{dark ? "☀" : "☾"}</span>
        </Button>
        <ParticipantsButton />
        <InviteButton />
        <SettingsButton />
      </div>
    </header>
  );
}
