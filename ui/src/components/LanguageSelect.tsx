/** The language selector: switching asks before discarding non-starter code (for everyone). */
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { LANGUAGES, currentLanguage, findLanguage, isPristine, switchLanguage } from "../state/languages";
import { useMeta, usePermissions, useRoom } from "../state/room";
import { Button, Dialog, DialogClose, Select } from "./ui";

export function LanguageSelect() {
  const { t } = useTranslation();
  const conn = useRoom();
  const perms = usePermissions(conn);
  const langId = findLanguage(useMeta("language", conn)).id;
  const [pending, setPending] = useState<string | null>(null);

  const choose = (id: string) => {
    if (id === langId) return;
    const { lang, file } = currentLanguage(conn);
    if (isPristine(conn.fileText(file).toString(), lang, conn)) switchLanguage(conn, id);
    else setPending(id);
  };
  const target = pending ? findLanguage(pending).display_name : "";

  return (
    <>
      <Select label={t("topbar.language")} value={langId} disabled={!perms.canEdit} onChange={(e) => choose(e.target.value)} data-testid="language-select">
        {LANGUAGES.map((l) => (
          <option key={l.id} value={l.id}>
            {l.display_name}
          </option>
        ))}
      </Select>
      <Dialog open={pending !== null} onOpenChange={(o) => !o && setPending(null)} title={t("switchLanguage.title", { language: target })} description={t("switchLanguage.body", { language: target })}>
        <div className="flex justify-end gap-2">
          <DialogClose asChild>
            <Button>{t("switchLanguage.cancel")}</Button>
          </DialogClose>
          <Button
            variant="danger"
            onClick={() => {
              if (pending) switchLanguage(conn, pending);
              setPending(null);
            }}
          >
            {t("switchLanguage.confirm")}
          </Button>
        </div>
      </Dialog>
    </>
  );
}
