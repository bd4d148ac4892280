/** The text of Postroom's own emails. Every interpolated value is HTML-escaped in the HTML part. */
import type { OutgoingMail } from "./mailer";

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch] ?? ch);

function compose(to: string, subject: string, lines: string[], action?: { label: string; url: string }): OutgoingMail {
  const text = [...lines, ...(action ? ["", `${action.label}: ${action.url}`] : [])].join("\n");
  const html = [
    `<div style="font-family:system-ui,sans-serif;max-width:32rem">`,
    ...lines.map((l) => `<p>${escapeHtml(l)}</p>`),
    action
      ? `<p><a href="${escapeHtml(action.url)}" style="display:inline-block;padding:.6rem 1rem;background:#1f4fd1;color:#fff;border-radius:6px;text-decoration:none">${escapeHtml(action.label)}</a></p>`
      : "",
    `<p style="color:#666;font-size:.85rem">If you did not ask for this, you can ignore this email.</p></div>`,
  ].join("");
  return { to, subject, text, html };
}

export const signInMail = (to: string, url: string) =>
  compose(to, "Your Postroom sign-in link", ["Use this link to sign in to Postroom. It works once, for 15 minutes."], {
    label: "Sign in to Postroom",
    url,
  });

export const signUpMail = (to: string, accountName: string, url: string) =>
  compose(
    to,
    "Confirm your Postroom workspace",
    [`Confirm your address to create the workspace "${accountName}". The link works once, for 15 minutes.`],
    { label: "Create my workspace", url },
  );

export const inviteMail = (to: string, inviter: string, accountName: string, role: string, url: string) =>
  compose(
    to,
    `${inviter} invited you to ${accountName} on Postroom`,
    [`${inviter} invited you to join "${accountName}" on Postroom as ${role}. The invitation is valid for 7 days.`],
    { label: "Join the team", url },
  );

export const contributorNoticeMail = (to: string) =>
  compose(to, "About your Postroom access", [
    "Someone asked to sign in to Postroom with this address.",
    "This address only contributes a connected mailbox and has no access to the app. Ask an admin of the account to invite you if you need access.",
  ]);

export const connectInviteMail = (o: {
  to: string;
  inviter: string;
  accountName: string;
  kind: "shared" | "personal";
  reconnect: boolean;
  url: string;
}) =>
  o.reconnect
    ? compose(
        o.to,
        `Reconnect your mailbox to ${o.accountName} on Postroom`,
        [
          `${o.inviter} asked you to reconnect a mailbox to "${o.accountName}" on Postroom. Its connection stopped working (for example after a password change or a removed permission).`,
          "Reconnecting keeps every conversation and recovers the mail that arrived meanwhile. The link is valid for 7 days.",
        ],
        { label: "Reconnect the mailbox", url: o.url },
      )
    : compose(
        o.to,
        `${o.inviter} asked you to connect ${o.to} to ${o.accountName} on Postroom`,
        [
          `${o.inviter} invited you to connect the mailbox ${o.to} to "${o.accountName}" on Postroom, as a ${o.kind} inbox.`,
          "You sign in with Google or Microsoft; Postroom never sees your password. You do not need a Postroom account. The link is valid for 7 days.",
        ],
        { label: "Review and connect", url: o.url },
      );

export const healthChangeMail = (o: {
  to: string;
  address: string;
  recovered: boolean;
  detail: string | null;
  appOrigin: string;
}) =>
  o.recovered
    ? compose(o.to, `${o.address} is connected again`, [
        `The mailbox ${o.address} is working again in Postroom. Mail that arrived meanwhile is being recovered.`,
      ])
    : compose(
        o.to,
        `${o.address} stopped syncing`,
        [`The mailbox ${o.address} stopped working in Postroom.`, o.detail ?? "Its connection failed."],
        { label: "Open inbox connections", url: `${o.appOrigin}/settings/connections` },
      );

export const mentionMail = (o: {
  to: string;
  author: string;
  accountName: string;
  subject: string;
  excerpt: string;
  url: string;
}) =>
  compose(
    o.to,
    `${o.author} mentioned you on "${o.subject || "(no subject)"}"`,
    [`${o.author} mentioned you in an internal note in ${o.accountName}:`, o.excerpt],
    { label: "Open the conversation", url: o.url },
  );
