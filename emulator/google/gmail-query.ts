import { headerValue } from "../mime/headers";
import { plainText } from "../mime/parse";
import { type GmailMailbox, type GmailMessageState } from "../world/gmail-mailbox";

/**
 * The subset of Gmail search the sync engine relies on: newer_than/older_than (d, m, y), after/before
 * (epoch seconds or a date read as midnight Pacific), rfc822msgid, in:/label:, is:, from/to/subject,
 * has:attachment, {…} groups (any of their terms), and bare words.
 */
export type Predicate = (m: GmailMessageState, mailbox: GmailMailbox) => boolean;

const UNIT_MS: Record<string, number> = { d: 86_400_000, m: 30 * 86_400_000, y: 365 * 86_400_000 };

function tokenize(q: string): string[] {
  return q.match(/-?\{[^}]*\}|(?:[^\s"{]+:"[^"]*"|"[^"]*"|[^\s{])+/g) ?? [];
}

/** Gmail reads `after:2024/01/31` as midnight in America/Los_Angeles. */
function pacificMidnight(y: number, mo: number, d: number): number {
  const utcGuess = Date.UTC(y, mo - 1, d, 8);
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: "America/Los_Angeles",
    hour: "numeric",
    hourCycle: "h23",
  }).formatToParts(new Date(utcGuess));
  const hour = Number(parts.find((p) => p.type === "hour")?.value ?? "0");
  return utcGuess - hour * 3_600_000;
}

function dateArg(value: string): number | undefined {
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const m = /^(\d{4})[/-](\d{1,2})[/-](\d{1,2})$/.exec(value);
  if (m) return pacificMidnight(Number(m[1]), Number(m[2]), Number(m[3]));
  return undefined;
}

const labelAlias: Record<string, string> = {
  inbox: "INBOX",
  sent: "SENT",
  draft: "DRAFT",
  drafts: "DRAFT",
  spam: "SPAM",
  trash: "TRASH",
  starred: "STARRED",
  important: "IMPORTANT",
  unread: "UNREAD",
};

export interface CompiledQuery {
  predicate: Predicate;
  /** in:spam / in:trash lift the default exclusion. */
  mentionsSpamOrTrash: boolean;
}

export function compileQuery(q: string, now: number): CompiledQuery {
  const predicates: Predicate[] = [];
  let mentionsSpamOrTrash = false;
  for (const raw of tokenize(q)) {
    const negate = raw.startsWith("-");
    const token = negate ? raw.slice(1) : raw;
    if (token.startsWith("{")) {
      // {a b c}: any of the terms (Gmail's OR group).
      const alternatives = tokenize(token.slice(1, -1)).map((t) => compileQuery(t, now));
      if (alternatives.some((a) => a.mentionsSpamOrTrash)) mentionsSpamOrTrash = true;
      const any: Predicate = (m, mb) => alternatives.some((a) => a.predicate(m, mb));
      predicates.push(negate ? (m, mb) => !any(m, mb) : any);
      continue;
    }
    const colon = token.indexOf(":");
    const op = colon > 0 ? token.slice(0, colon).toLowerCase() : "";
    const arg = (colon > 0 ? token.slice(colon + 1) : token).replace(/^"|"$/g, "");
    let p: Predicate | undefined;
    switch (op) {
      case "newer_than":
      case "older_than": {
        const m = /^(\d+)([dmy])$/i.exec(arg);
        if (!m) break;
        const cutoff = now - Number(m[1]) * UNIT_MS[m[2]!.toLowerCase()]!;
        p = op === "newer_than" ? (msg) => msg.internalDate > cutoff : (msg) => msg.internalDate < cutoff;
        break;
      }
      case "after":
      case "before": {
        const t = dateArg(arg);
        if (t === undefined) break;
        p = op === "after" ? (msg) => msg.internalDate >= t : (msg) => msg.internalDate < t;
        break;
      }
      case "rfc822msgid": {
        const wanted = arg.replace(/^<|>$/g, "");
        p = (msg, mb) => (mb.parsed(msg.id).messageId ?? "").replace(/^<|>$/g, "") === wanted;
        break;
      }
      case "in":
      case "label":
      case "is": {
        const lower = arg.toLowerCase();
        if (lower === "spam" || lower === "trash") mentionsSpamOrTrash = true;
        if (op === "in" && lower === "anywhere") {
          mentionsSpamOrTrash = true;
          p = () => true;
          break;
        }
        if (op === "is" && lower === "read") {
          p = (msg) => !msg.labelIds.includes("UNREAD");
          break;
        }
        const label = labelAlias[lower] ?? arg;
        p = (msg, mb) =>
          msg.labelIds.includes(label) ||
          msg.labelIds.some((l) => mb.state.userLabels[l]?.name.toLowerCase() === arg.toLowerCase());
        break;
      }
      case "from":
      case "to":
      case "cc":
      case "subject": {
        const needle = arg.toLowerCase();
        p = (msg, mb) => {
          const parsed = mb.parsed(msg.id);
          if (op === "subject") return parsed.subject.toLowerCase().includes(needle);
          const list = op === "from" ? parsed.from : op === "to" ? parsed.to : parsed.cc;
          return list.some((a) => a.address.toLowerCase().includes(needle) || a.name.toLowerCase().includes(needle));
        };
        break;
      }
      case "has": {
        if (arg.toLowerCase() === "attachment") p = (msg, mb) => mb.parsed(msg.id).attachments.length > 0;
        break;
      }
      case "": {
        const needle = arg.toLowerCase();
        p = (msg, mb) => {
          const parsed = mb.parsed(msg.id);
          return (
            parsed.subject.toLowerCase().includes(needle) ||
            plainText(parsed).toLowerCase().includes(needle) ||
            (headerValue(parsed.headers, "from") ?? "").toLowerCase().includes(needle)
          );
        };
        break;
      }
      default:
        // Operators outside the subset match nothing rather than everything, so a test notices.
        p = () => false;
    }
    if (p) {
      const inner = p;
      predicates.push(negate ? (m, mb) => !inner(m, mb) : inner);
    }
  }
  return { predicate: (m, mb) => predicates.every((p) => p(m, mb)), mentionsSpamOrTrash };
}
