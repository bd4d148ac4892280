/**
 * Hosted shared addresses: the configured domain and which local parts may be handed out on it.
 * Pure functions, so the rules are tested without a request.
 */

/** The hosted domain, lower-cased, or null when the feature is off (HOSTED_DOMAIN empty or malformed). */
export function hostedDomain(env: { HOSTED_DOMAIN?: string }): string | null {
  const domain = (env.HOSTED_DOMAIN ?? "").trim().toLowerCase();
  return /^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(domain) ? domain : null;
}

/**
 * Names nobody may take on a domain every account shares: the mailboxes RFC 2142 gives to mail and
 * network operators, what mail systems and abuse desks expect to reach the operator, and Postroom's
 * own senders. Each comes with the reason the person asking is shown.
 */
const RESERVED: Record<string, string> = {
  postmaster: "mail servers send delivery problems there (RFC 5321)",
  abuse: "abuse reports go there (RFC 2142)",
  hostmaster: "the domain's operators use it (RFC 2142)",
  webmaster: "the domain's operators use it (RFC 2142)",
  noc: "the domain's operators use it (RFC 2142)",
  security: "security reports go there (RFC 2142)",
  "mailer-daemon": "bounce messages come from it",
  root: "the domain's operators use it",
  admin: "the domain's operators use it",
  administrator: "the domain's operators use it",
  hostname: "the domain's operators use it",
  dmarc: "DMARC reports go there",
  "no-reply": "Postroom's own notifications use it",
  noreply: "Postroom's own notifications use it",
  "do-not-reply": "Postroom's own notifications use it",
  bounce: "bounce handling uses it",
  bounces: "bounce handling uses it",
  postroom: "it would look like mail from Postroom itself",
};

export type LocalPartCheck =
  { ok: true; localPart: string } | { ok: false; code: "invalid" | "reserved"; reason: string };

/**
 * A local part people can type and every mail system accepts: letters, digits, dot, hyphen and
 * underscore, starting and ending with a letter or digit, no two dots in a row, at most 64
 * characters (RFC 5321). "+" is left out because brand+anything@ is delivered to brand@.
 */
export function checkLocalPart(input: string): LocalPartCheck {
  const localPart = input.trim().toLowerCase();
  if (localPart.length === 0) return { ok: false, code: "invalid", reason: "Enter the part before the @" };
  if (localPart.length > 64) return { ok: false, code: "invalid", reason: "Use at most 64 characters" };
  if (!/^[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?$/.test(localPart) || localPart.includes("..")) {
    return {
      ok: false,
      code: "invalid",
      reason: "Use letters, digits, dots, hyphens and underscores, starting and ending with a letter or digit",
    };
  }
  const reserved = RESERVED[localPart];
  if (reserved) return { ok: false, code: "reserved", reason: `${localPart} is reserved: ${reserved}` };
  return { ok: true, localPart };
}

/**
 * The hosted address an envelope recipient names, or null when it is not on the hosted domain.
 * Subaddresses (brand+orders@) reach brand@.
 */
export function hostedRecipient(rcptTo: string, domain: string): string | null {
  const address = rcptTo.trim().toLowerCase();
  const at = address.lastIndexOf("@");
  if (at <= 0 || address.slice(at + 1) !== domain) return null;
  const local = address.slice(0, at).split("+")[0]!;
  return local ? `${local}@${domain}` : null;
}
