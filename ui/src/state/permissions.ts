/**
 * What the UI lets a participant do. The peers enforce the same rules on the wire; the UI only
 * reflects them so nobody types into an editor whose edits will be refused.
 */
import type { Policy, Role } from "../room/connection";

export interface Permissions {
  role: Role;
  readOnly: boolean;
  canEdit: boolean;
  canRun: boolean;
  canManage: boolean;
  revoked: boolean;
}

export function permissionsFor(policy: Policy, fallbackRole: Role = "spectator"): Permissions {
  const me = policy.members.find((m) => m.member === policy.you);
  const role = me?.role ?? fallbackRole;
  const revoked = !!me?.revoked;
  const readOnly = !!me?.read_only;
  return {
    role,
    readOnly,
    revoked,
    canEdit: !revoked && role !== "spectator" && !readOnly,
    canRun: !revoked && role !== "spectator",
    canManage: !revoked && role === "interviewer",
  };
}
