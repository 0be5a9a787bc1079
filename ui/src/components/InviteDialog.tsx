/** Invite: the interviewer picks a role and gets a link minted by the room (never by the UI). */
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { ROLES, type Role } from "../room/connection";
import { usePermissions, useRoom } from "../state/room";
import { Button, Dialog, DialogClose, Select } from "./ui";

export function InviteButton() {
  const { t } = useTranslation();
  const conn = useRoom();
  const perms = usePermissions(conn);
  const [open, setOpen] = useState(false);
  const [role, setRole] = useState<Role>("candidate");
  const [link, setLink] = useState("");
  const [error, setError] = useState("");
  const [copied, setCopied] = useState(false);
  if (!perms.canManage) return null;

  const create = async () => {
    setError("");
    setCopied(false);
    try {
      setLink(await conn.createInvite(role));
    } catch (e) {
      setError(t("invite.error", { message: (e as Error).message }));
    }
  };
  return (
    <>
      <Button variant="ghost" compact onClick={() => setOpen(true)} aria-label={t("topbar.invite")}>
        <span aria-hidden="true" className="sm:hidden">
          ＋
        </span>
        <span aria-hidden="true" className="hidden sm:inline">
          {t("topbar.invite")}
        </span>
      </Button>
      <Dialog open={open} onOpenChange={setOpen} title={t("invite.title")}>
        <div className="flex items-end gap-2">
          <label className="flex flex-col gap-1 text-sm">
            {t("invite.role")}
            <Select label={t("invite.role")} value={role} onChange={(e) => setRole(e.target.value as Role)}>
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {t(`roles.${r}`)}
                </option>
              ))}
            </Select>
          </label>
          <Button variant="primary" onClick={() => void create()}>
            {t("invite.create")}
          </Button>
        </div>
        {link && (
          <div className="mt-3 flex gap-2">
            <input readOnly aria-label={t("invite.link")} value={link} className="min-w-0 flex-1 rounded border border-zinc-300 bg-zinc-50 px-2 py-1 font-mono text-xs dark:border-zinc-600 dark:bg-zinc-900" onFocus={(e) => e.target.select()} />
            <Button
              onClick={() => {
                void navigator.clipboard?.writeText(link).then(() => setCopied(true));
              }}
            >
              {copied ? t("invite.copied") : t("invite.copy")}
            </Button>
          </div>
        )}
        {error && <p role="alert" className="mt-2 text-sm text-red-600">{error}</p>}
        <div className="mt-4 flex justify-end">
          <DialogClose asChild>
            <Button>{t("invite.close")}</Button>
          </DialogClose>
        </div>
      </Dialog>
    </>
  );
}
