/**
 * The role rules as the UI needs them, to offer only the choices the server would accept. The
 * server stays the authority: it re-checks every change and its 403 is shown as is.
 */
import type { InvitableRole, Role } from "../../../worker/contracts";

/**
 * Mirrors INVITABLE_ROLES from the contracts, which cannot be imported at runtime: that module
 * builds zod schemas as it loads, which would put zod in the bundle. The Record below fails to
 * type-check if the contracts gain or lose a role.
 */
const ROLE_SET: Record<InvitableRole, true> = { owner: true, admin: true, member: true, light: true };
const INVITABLE_ROLES = Object.keys(ROLE_SET) as InvitableRole[];

export const ROLE_LABELS: Record<Role, string> = {
  owner: "Owner",
  admin: "Admin",
  member: "Member",
  light: "Light member",
  contributor: "Contributor",
};

export const ROLE_HINTS: Record<InvitableRole, string> = {
  owner: "Full control, including other owners",
  admin: "Manages users, inboxes and settings",
  member: "Reads and answers conversations",
  light: "Reads and writes internal notes; cannot send",
};

export const isManager = (role: Role): boolean => role === "owner" || role === "admin";

/** Light members (and contributors) read and write notes but never send; the server refuses them too. */
export const canSend = (role: Role): boolean => role === "owner" || role === "admin" || role === "member";

/** Roles `actor` may hand out, in display order. */
export const assignableRoles = (actor: Role): InvitableRole[] =>
  isManager(actor) ? INVITABLE_ROLES.filter((r) => r !== "owner" || actor === "owner") : [];

/** Whether `actor` may change the role of, or remove, someone who has `target`. */
export const canManage = (actor: Role, target: Role): boolean =>
  isManager(actor) && (actor === "owner" || target !== "owner");
