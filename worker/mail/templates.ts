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
