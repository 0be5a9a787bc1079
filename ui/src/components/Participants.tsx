/**
 * Who is here: an avatar stack in the top bar that opens the full list, with follow and (for
 * interviewers) the role actions. Role actions go to the connection; the peers decide.
 */
import { useState } from "react";
import { useTranslation } from "react-i18next";
import type { MemberPolicy, Presence } from "../room/connection";
import { useParticipants, usePermissions, usePolicy, useRoom } from "../state/room";
import { setUi, useUi } from "../state/ui";
import { Avatar, Badge, Button, Dialog, DialogClose } from "./ui";

export function AvatarStack({ people }: { people: { clientId: number; presence: Presence }[] }) {
  return (
    <span className="flex -space-x-1">
      {people.slice(0, 4).map((p) => (
        <Avatar key={p.clientId} name={p.presence.name} colour={p.presence.colour} />
      ))}
    </span>
  );
}

export function ParticipantsButton() {
  const { t } = useTranslation();
  const people = useParticipants();
  const [open, setOpen] = useState(false);
  return (
    <>
      <Button variant="ghost" compact onClick={() => setOpen(true)} aria-label={t("topbar.participants", { count: people.length })} data-testid="participants-button">
        <AvatarStack people={people} />
        <span className="hidden lg:inline">{people.length}</span>
      </Button>
      <Dialog open={open} onOpenChange={setOpen} title={t("participants.title")}>
        <ParticipantsList />
        <div className="mt-4 flex justify-end">
          <DialogClose asChild>
            <Button>{t("participants.close")}</Button>
          </DialogClose>
        </div>
      </Dialog>
    </>
  );
}

export function ParticipantsList() {
  const { t } = useTranslation();
  const conn = useRoom();
  const people = useParticipants(conn);
  const policy = usePolicy(conn);
  const perms = usePermissions(conn);
  const { follow } = useUi();
  const byMember = new Map<string, MemberPolicy>(policy.members.map((m) => [m.member, m]));

  return (
    <ul className="space-y-2" data-testid="participants-list">
      {people.map(({ clientId, presence, local }) => {
        const m = byMember.get(presence.member);
        const role = m?.role ?? presence.role;
        return (
          <li key={clientId} className="flex flex-wrap items-center gap-2 rounded-md p-1">
            <Avatar name={presence.name} colour={presence.colour} />
            <span className="font-medium">
              {presence.name}
              {local && <span className="text-zinc-500"> ({t("participants.you")})</span>}
            </span>
            <Badge kind={role}>{t(`roles.${role}`)}</Badge>
            {m?.read_only && <Badge kind="warn">{t("participants.readOnly")}</Badge>}
            {m?.revoked && <Badge kind="warn">{t("participants.revoked")}</Badge>}
            {presence.typing && <span className="text-xs text-zinc-500 italic">{t("participants.typing")}</span>}
            {!local && (
              <span className="ml-auto flex flex-wrap gap-1" role="group" aria-label={t("participants.actionsFor", { name: presence.name })}>
                <Button variant="ghost" onClick={() => setUi({ follow: follow === clientId ? null : clientId })} aria-pressed={follow === clientId}>
                  {follow === clientId ? t("participants.unfollow") : t("participants.follow")}
                </Button>
                {perms.canManage && m && !m.revoked && (
                  <>
                    {role === "candidate" && (
                      <Button variant="ghost" onClick={() => conn.setReadOnly(m.member, !m.read_only)}>
                        {m.read_only ? t("participants.allowEditing") : t("participants.makeReadOnly")}
                      </Button>
                    )}
                    {role !== "interviewer" && (
                      <Button variant="ghost" onClick={() => conn.setRole(m.member, "interviewer")}>
                        {t("participants.promote")}
                      </Button>
                    )}
                    {role !== "candidate" && (
                      <Button variant="ghost" onClick={() => conn.setRole(m.member, "candidate")}>
                        {t("participants.demote")}
                      </Button>
                    )}
                    {role !== "spectator" && (
                      <Button variant="ghost" onClick={() => conn.setRole(m.member, "spectator")}>
                        {t("participants.makeSpectator")}
                      </Button>
                    )}
                    <Button variant="danger" onClick={() => conn.revoke(m.member)}>
                      {t("participants.revoke")}
                    </Button>
                  </>
                )}
              </span>
            )}
          </li>
        );
      })}
    </ul>
  );
}
