/**
 * Who may do what to whom, as pure functions so the whole matrix is testable without a database.
 * Only owners create or touch owners; admins manage everyone else; members, light users and
 * contributors manage nobody. The last-owner rule needs the owner count, so the route applies it.
 */
import type { InvitableRole, Role } from "../contracts";

const MANAGERS: readonly Role[] = ["owner", "admin"];

export function canInvite(actor: Role, role: InvitableRole): boolean {
  if (!MANAGERS.includes(actor)) return false;
  return role !== "owner" || actor === "owner";
}

export function canChangeRole(actor: Role, target: Role, next: InvitableRole): boolean {
  if (!MANAGERS.includes(actor)) return false;
  if (actor === "owner") return true;
  return target !== "owner" && next !== "owner";
}

export function canRemove(actor: Role, target: Role): boolean {
  if (!MANAGERS.includes(actor)) return false;
  return actor === "owner" || target !== "owner";
}
