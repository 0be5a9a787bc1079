/** Settings: name, interface language, themes, keymap, font size (all per device). */
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { UI_LANGUAGES, initI18n } from "../i18n";
import { updateSettings, useSettings, type EditorTheme, type Keymap, type ThemeMode } from "../state/settings";
import { Button, Dialog, DialogClose, Select } from "./ui";

const EDITOR_THEMES: EditorTheme[] = ["auto", "vs", "vs-dark", "hc-light", "hc-black"];
const KEYMAPS: Keymap[] = ["default", "vim", "emacs"];

export function SettingsButton() {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  return (
    <>
      <Button variant="ghost" compact onClick={() => setOpen(true)} aria-label={t("topbar.settings")} data-testid="settings-button">
        <span aria-hidden="true">⚙</span>
        <span className="hidden xl:inline">{t("topbar.settings")}</span>
      </Button>
      <Dialog open={open} onOpenChange={setOpen} title={t("settings.title")}>
        <SettingsForm />
        <div className="mt-4 flex justify-end">
          <DialogClose asChild>
            <Button>{t("settings.close")}</Button>
          </DialogClose>
        </div>
      </Dialog>
    </>
  );
}

function Field({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <label className="flex items-center justify-between gap-3 py-1.5 text-sm">
      <span>{label}</span>
      {children}
    </label>
  );
}

export function SettingsForm() {
  const { t } = useTranslation();
  const s = useSettings();
  return (
    <div className="divide-y divide-zinc-200 dark:divide-zinc-700">
      <Field label={t("settings.name")}>
        <input
          className="w-44 rounded-md border border-zinc-300 bg-white px-2 py-1 text-sm dark:border-zinc-600 dark:bg-zinc-900"
          value={s.name}
          maxLength={40}
          onChange={(e) => updateSettings({ name: e.target.value })}
        />
      </Field>
      <Field label={t("settings.uiLanguage")}>
        <Select
          label={t("settings.uiLanguage")}
          value={s.uiLanguage}
          data-testid="ui-language"
          onChange={(e) => {
            updateSettings({ uiLanguage: e.target.value });
            initI18n(e.target.value || undefined);
          }}
        >
          <option value="">{t("settings.browserLanguage")}</option>
          {UI_LANGUAGES.map((l) => (
            <option key={l.code} value={l.code} lang={l.code}>
              {l.name}
            </option>
          ))}
        </Select>
      </Field>
      <Field label={t("settings.theme")}>
        <Select label={t("settings.theme")} value={s.theme} onChange={(e) => updateSettings({ theme: e.target.value as ThemeMode })}>
          <option value="light">{t("settings.light")}</option>
          <option value="dark">{t("settings.dark")}</option>
        </Select>
      </Field>
      <Field label={t("settings.editorTheme")}>
        <Select label={t("settings.editorTheme")} value={s.editorTheme} onChange={(e) => updateSettings({ editorTheme: e.target.value as EditorTheme })}>
          {EDITOR_THEMES.map((th) => (
            <option key={th} value={th}>
              {t(`settings.editorThemes.${th}`)}
            </option>
          ))}
        </Select>
      </Field>
      <Field label={t("settings.keymap")}>
        <Select label={t("settings.keymap")} value={s.keymap} data-testid="keymap" onChange={(e) => updateSettings({ keymap: e.target.value as Keymap })}>
          {KEYMAPS.map((k) => (
            <option key={k} value={k}>
              {t(`settings.keymaps.${k}`)}
            </option>
          ))}
        </Select>
      </Field>
      <Field label={t("settings.fontSize")}>
        <input
          type="number"
          min={10}
          max={28}
          className="w-20 rounded-md border border-zinc-300 bg-white px-2 py-1 text-sm dark:border-zinc-600 dark:bg-zinc-900"
          value={s.fontSize}
          onChange={(e) => updateSettings({ fontSize: Math.min(28, Math.max(10, Number(e.target.value) || 14)) })}
        />
      </Field>
    </div>
  );
}
