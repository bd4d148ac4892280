import { type Rng, createRng } from "../core/random";
import { type ComposeAttachment, composeMime, withHeaders } from "../mime/compose";
import { type Mailbox } from "../mime/headers";
import { DEMO_GOOGLE_DOMAIN, DEMO_MICROSOFT_DOMAIN, SECOND_TENANT_DOMAIN } from "./accounts";
import { childConversationIndex, newConversationIndex, subjectConversationGuid } from "./conversation";
import { loadCorpusSamples } from "./corpus";
import {
  CUSTOMERS,
  COLLEAGUE_NAMES,
  PIXEL_PNG,
  type Persona,
  SALES_TOPICS,
  SUPPORT_TOPICS,
  type Topic,
  pdfBytes,
} from "./demo-content";
import { type Directory, type Identity } from "./directory";
import { type Mailboxes } from "./world";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const WINDOW = 45 * DAY;

interface Planned {
  /** Mailbox addresses this copy goes into, with how it is filed there. */
  copies: Array<{ address: string; sent: boolean }>;
  at: number;
  raw: Buffer;
  threadKey: string;
  unread: boolean;
}

interface OwnerProfile {
  identity: Identity;
  signer: string;
  topics: readonly Topic[];
  outlook: boolean;
  /** Other addresses customers sometimes write to (alias, group) that land in this mailbox. */
  altAddresses: string[];
  internalCc: string | undefined;
  /** Support desks tag subjects with case numbers, which also keeps same-topic threads apart. */
  caseNumbers: boolean;
}

function fill(template: string, vars: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_m, k: string) => vars[k] ?? "");
}

function messageIdFor(rng: Rng, from: Persona | { client: Persona["client"]; address: string }): string {
  const domain = from.address.split("@")[1] ?? "example.com";
  switch (from.client) {
    case "gmail":
      return `<CA${rng.hex(40).toUpperCase()}@mail.gmail.com>`;
    case "outlook":
      return `<${rng.hex(24).toUpperCase()}@${domain.replace(/\./g, "")}.prod.outlook.test>`;
    case "apple":
      return `<${rng.guid().toUpperCase()}@${domain}>`;
    default:
      return `<${rng.hex(8)}-${rng.hex(4)}@${domain}>`;
  }
}

function htmlBody(paragraphs: string[], signature: string, logoCid?: string): string {
  const ps = paragraphs.map((p) => `<p>${p.replace(/&/g, "&amp;").replace(/</g, "&lt;")}</p>`).join("\n");
  const logo = logoCid ? `<br><img src="cid:${logoCid}" alt="logo" width="1" height="1">` : "";
  return `<html><body style="font-family:Arial,sans-serif">${ps}\n<p>${signature.replace(/\n/g, "<br>")}${logo}</p></body></html>`;
}

/**
 * Realistic threads for one shared mailbox: customers write, the team answers (and sometimes starts),
 * with CCs, both body formats, attachments, inline images, non-ASCII names, an auto-reply and a bounce.
 */
function planSharedMailbox(rng: Rng, now: number, owner: OwnerProfile, target: number): Planned[] {
  const planned: Planned[] = [];
  let threadNo = 0;
  const ownerBox: Mailbox = { name: owner.identity.displayName, address: owner.identity.address };
  const owned = (extra: Array<{ address: string; sent: boolean }> = []) => [
    { address: owner.identity.address, sent: true },
    ...extra,
  ];
  while (planned.length < target) {
    threadNo++;
    const customer = rng.pick(CUSTOMERS);
    const topic = rng.pick(owner.topics);
    const vars = {
      qty: String(rng.range(5, 250)),
      company: customer.company,
      invoice: `INV-${rng.range(10000, 99999)}`,
      year: String(new Date(now).getUTCFullYear()),
    };
    const base = fill(rng.pick(topic.subjects), vars);
    // Some threads share a bare subject on purpose: Exchange merges those into one conversation.
    const subject = !rng.chance(0.8)
      ? base
      : owner.caseNumbers
        ? `${base} [case ${rng.range(10000, 99999)}]`
        : `${base} – ${customer.company}`;
    const length = rng.pick([1, 2, 2, 3, 3, 3, 4, 4, 5, 6]);
    const ownerStarts = rng.chance(0.12);
    let at = now - rng.range(HOUR, WINDOW);
    const colleague: Mailbox | undefined = rng.chance(0.2)
      ? {
          name: `${rng.pick(COLLEAGUE_NAMES)} (${customer.company})`,
          address: `${rng.pick(COLLEAGUE_NAMES).toLowerCase()}@${customer.address.split("@")[1]}`,
        }
      : undefined;
    const inbound =
      rng.chance(0.12) && owner.altAddresses.length ? rng.pick(owner.altAddresses) : owner.identity.address;
    let parentId: string | undefined;
    let refs: string[] = [];
    let index: Buffer | undefined;
    const threadKey = `${owner.identity.address}#${threadNo}`;
    for (let i = 0; i < length && at < now - 60_000; i++) {
      const fromOwner = ownerStarts ? i % 2 === 0 : i % 2 === 1;
      const sender: Persona = fromOwner
        ? { name: ownerBox.name, address: ownerBox.address, company: "", client: owner.outlook ? "outlook" : "gmail" }
        : customer;
      const messageId = messageIdFor(rng, sender);
      const text = fill(
        i === 0 ? rng.pick(topic.opening) : fromOwner ? rng.pick(topic.answer) : rng.pick(topic.followUp),
        vars,
      );
      const greeting = fromOwner ? `Hi ${customer.name.split(" ")[0]},` : "Hello,";
      const signature = fromOwner
        ? `Best regards,\n${owner.signer}`
        : `Kind regards,\n${customer.name}\n${customer.company}`;
      const paragraphs = [greeting, text];
      if (rng.chance(0.3))
        paragraphs.push(fromOwner ? "Let me know if anything else comes up." : "Looking forward to hearing from you.");
      const format = rng.next();
      const attachments: ComposeAttachment[] = [];
      if (fromOwner && rng.chance(0.18))
        attachments.push({
          filename: `${vars.invoice}.pdf`,
          contentType: "application/pdf",
          content: pdfBytes(`${customer.company} ${vars.invoice}`),
        });
      if (!fromOwner && rng.chance(0.08)) {
        attachments.push({
          filename: `Übersicht-${vars.qty}.csv`,
          contentType: "text/csv",
          content: Buffer.from(`item,qty\nPro plan,${vars.qty}\n`, "utf8"),
        });
      }
      let logoCid: string | undefined;
      const wantsHtml = format < 0.7;
      if (fromOwner && wantsHtml && rng.chance(0.15)) {
        logoCid = `logo.${rng.hex(8)}@${owner.identity.tenantDomain}`;
        attachments.push({
          filename: "logo.png",
          contentType: "image/png",
          content: PIXEL_PNG,
          inline: true,
          contentId: logoCid,
        });
      }
      const headers: Array<[string, string]> = [];
      if (sender.client === "outlook") {
        index = index ? childConversationIndex(index, at) : newConversationIndex(subjectConversationGuid(subject), at);
        headers.push(["Thread-Topic", subject], ["Thread-Index", index.toString("base64")]);
      }
      const cc: Mailbox[] = [];
      if (!fromOwner && colleague) cc.push(colleague);
      if (fromOwner && owner.internalCc && rng.chance(0.1))
        cc.push({ name: "Maria Keller", address: owner.internalCc });
      const raw = composeMime({
        from: fromOwner ? ownerBox : { name: customer.name, address: customer.address },
        to: fromOwner
          ? [{ name: customer.name, address: customer.address }]
          : [{ name: ownerBox.name, address: inbound }],
        cc,
        subject: i === 0 ? subject : `Re: ${subject}`,
        text: format < 0.85 ? `${paragraphs.join("\n\n")}\n\n${signature}\n` : undefined,
        html: wantsHtml || format >= 0.85 ? htmlBody(paragraphs, signature, logoCid) : undefined,
        attachments,
        messageId,
        date: at,
        inReplyTo: parentId,
        references: refs.length ? refs : undefined,
        headers,
        boundarySeed: rng.hex(12),
      });
      const extra = cc.filter((m) => m.address === owner.internalCc).map((m) => ({ address: m.address, sent: false }));
      planned.push({
        copies: fromOwner ? owned(extra) : [{ address: owner.identity.address, sent: false }],
        at,
        raw,
        threadKey,
        unread: !fromOwner && at > now - 3 * DAY && rng.chance(0.7),
      });
      refs = [...refs, messageId];
      parentId = messageId;
      at += fromOwner ? rng.range(HOUR, 3 * DAY) : rng.range(10 * 60_000, DAY);
    }
  }
  return planned;
}

function autoReply(rng: Rng, now: number, owner: OwnerProfile, customer: Persona): Planned {
  const at = now - rng.range(2 * DAY, 20 * DAY);
  const raw = composeMime({
    from: { name: customer.name, address: customer.address },
    to: [{ name: owner.identity.displayName, address: owner.identity.address }],
    subject: `Automatic reply: Re: Your enquiry`,
    text: `Thank you for your message. I am out of the office until next Monday with limited access to email.\n\n${customer.name}\n`,
    messageId: messageIdFor(rng, customer),
    date: at,
    headers: [
      ["Auto-Submitted", "auto-replied"],
      ["X-Auto-Response-Suppress", "All"],
      ["Precedence", "auto_reply"],
    ],
    boundarySeed: rng.hex(12),
  });
  return {
    copies: [{ address: owner.identity.address, sent: false }],
    at,
    raw,
    threadKey: `auto#${at}`,
    unread: false,
  };
}

function bounce(rng: Rng, now: number, owner: OwnerProfile, google: boolean): Planned[] {
  const at = now - rng.range(3 * DAY, 30 * DAY);
  const dead = "old-contact@defunct-company.example";
  const originalId = messageIdFor(rng, { client: google ? "gmail" : "outlook", address: owner.identity.address });
  const subject = "Catching up";
  const original = composeMime({
    from: { name: owner.identity.displayName, address: owner.identity.address },
    to: [{ name: "", address: dead }],
    subject,
    text: "Hi, it has been a while. Are you still looking after purchasing?\n",
    messageId: originalId,
    date: at,
    boundarySeed: rng.hex(12),
  });
  const boundary = `dsn_${rng.hex(16)}`;
  const mailer = google
    ? { name: "Mail Delivery Subsystem", address: "mailer-daemon@googlemail.com" }
    : { name: "Microsoft Outlook", address: `postmaster@${owner.identity.tenantDomain}` };
  const head = original.toString("utf8").split(/\r\n\r\n/)[0] ?? "";
  const dsn = [
    `From: ${mailer.name} <${mailer.address}>`,
    `To: ${owner.identity.address}`,
    `Subject: ${google ? "Delivery Status Notification (Failure)" : `Undeliverable: ${subject}`}`,
    `Message-ID: ${messageIdFor(rng, { client: google ? "gmail" : "outlook", address: mailer.address })}`,
    `Date: ${new Date(at + 60_000).toUTCString().replace("GMT", "+0000")}`,
    `In-Reply-To: ${originalId}`,
    `References: ${originalId}`,
    `Auto-Submitted: auto-replied`,
    `MIME-Version: 1.0`,
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    ``,
    `--${boundary}`,
    `Content-Type: text/plain; charset="UTF-8"`,
    ``,
    `Your message wasn't delivered to ${dead} because the address couldn't be found.`,
    ``,
    `--${boundary}`,
    `Content-Type: message/delivery-status`,
    ``,
    `Reporting-MTA: dns; ${google ? "googlemail.com" : "outlook.test"}`,
    ``,
    `Final-Recipient: rfc822; ${dead}`,
    `Action: failed`,
    `Status: 5.1.1`,
    `Diagnostic-Code: smtp; 550 5.1.1 The email account that you tried to reach does not exist.`,
    ``,
    `--${boundary}`,
    `Content-Type: text/rfc822-headers`,
    ``,
    head,
    ``,
    `--${boundary}--`,
    ``,
  ].join("\r\n");
  return [
    {
      copies: [{ address: owner.identity.address, sent: true }],
      at,
      raw: original,
      threadKey: `bounce#${at}`,
      unread: false,
    },
    {
      copies: [{ address: owner.identity.address, sent: false }],
      at: at + 60_000,
      raw: Buffer.from(dsn, "utf8"),
      threadKey: `bounce#${at}`,
      unread: true,
    },
  ];
}

/** A personal mailbox: internal threads, newsletters and notifications. */
function planPersonal(rng: Rng, now: number, identity: Identity, peers: Mailbox[], count: number): Planned[] {
  const out: Planned[] = [];
  const senders: Array<Persona & { kind: "peer" | "newsletter" }> = [
    ...peers.map((p) => ({
      name: p.name,
      address: p.address,
      company: "",
      client: "gmail" as const,
      kind: "peer" as const,
    })),
    {
      name: "Industry Weekly",
      address: "news@industry-weekly.example",
      company: "",
      client: "thunderbird",
      kind: "newsletter",
    },
    {
      name: "Expense Bot",
      address: "noreply@expenses.example",
      company: "",
      client: "thunderbird",
      kind: "newsletter",
    },
  ];
  const subjects = [
    "Team lunch on Friday?",
    "Q3 pipeline review",
    "Your weekly digest",
    "Expense report approved",
    "Offsite agenda",
    "Reminder: timesheets",
  ];
  for (let i = 0; i < count; i++) {
    const s = rng.pick(senders);
    const at = now - rng.range(HOUR, WINDOW);
    const subject = rng.pick(subjects);
    const raw = composeMime({
      from: { name: s.name, address: s.address },
      to: [{ name: identity.displayName, address: identity.address }],
      subject,
      text: `${subject}\n\nSee details inside. (${i + 1})\n`,
      html:
        s.kind === "newsletter"
          ? `<html><body><h1>${subject}</h1><p>See details inside.</p><p><a href="https://example.com/unsubscribe">Unsubscribe</a></p></body></html>`
          : undefined,
      messageId: messageIdFor(rng, s),
      date: at,
      headers: s.kind === "newsletter" ? [["List-Unsubscribe", "<https://example.com/unsubscribe>"]] : [],
      boundarySeed: rng.hex(12),
    });
    out.push({
      copies: [{ address: identity.address, sent: false }],
      at,
      raw,
      threadKey: `p#${identity.address}#${i}`,
      unread: rng.chance(0.3),
    });
  }
  return out;
}

export interface DemoSeedOptions {
  seed: number;
  now: number;
  corpusDir: string | undefined;
}

/** Fills the demo mailboxes. The same seed and `now` always give byte-identical mailboxes. */
export function seedDemoWorld(mailboxes: Mailboxes, directory: Directory, opts: DemoSeedOptions): void {
  const rng = createRng(opts.seed);
  const now = opts.now;
  const sales = directory.get(`sales@${DEMO_GOOGLE_DOMAIN}`)!;
  const maria = directory.get(`maria@${DEMO_GOOGLE_DOMAIN}`)!;
  const support = directory.get(`support@${DEMO_MICROSOFT_DOMAIN}`)!;
  const sam = directory.get(`sam@${DEMO_MICROSOFT_DOMAIN}`)!;
  const ops = directory.get(`ops@${SECOND_TENANT_DOMAIN}`)!;

  const salesOwner: OwnerProfile = {
    identity: sales,
    signer: "Maria Keller\nDemo Trading Co · Sales",
    topics: SALES_TOPICS,
    outlook: false,
    altAddresses: [`deals@${DEMO_GOOGLE_DOMAIN}`, `team@${DEMO_GOOGLE_DOMAIN}`],
    internalCc: maria.address,
    caseNumbers: false,
  };
  const supportOwner: OwnerProfile = {
    identity: support,
    signer: "Sam Okafor\nDemo Support Ltd",
    topics: SUPPORT_TOPICS,
    outlook: true,
    altAddresses: [],
    internalCc: undefined,
    caseNumbers: true,
  };
  const opsOwner: OwnerProfile = {
    identity: ops,
    signer: "Northwind Operations",
    topics: SUPPORT_TOPICS,
    outlook: true,
    altAddresses: [],
    internalCc: undefined,
    caseNumbers: true,
  };

  const google: Planned[] = [
    ...planSharedMailbox(rng, now, salesOwner, 285),
    autoReply(rng, now, salesOwner, CUSTOMERS[4]!),
    autoReply(rng, now, salesOwner, CUSTOMERS[9]!),
    ...bounce(rng, now, salesOwner, true),
    ...planPersonal(rng, now, maria, [{ name: "Demo Sales", address: sales.address }], 30),
  ];
  for (const sample of loadCorpusSamples(opts.corpusDir, "google")) {
    google.push({
      copies: [{ address: sales.address, sent: false }],
      at: now - rng.range(DAY, 40 * DAY),
      raw: withHeaders(sample.raw, [["Delivered-To", sales.address]]),
      threadKey: sample.name,
      unread: false,
    });
  }
  const microsoft: Planned[] = [
    ...planSharedMailbox(rng, now, supportOwner, 280),
    autoReply(rng, now, supportOwner, CUSTOMERS[2]!),
    ...bounce(rng, now, supportOwner, false),
    ...planPersonal(rng, now, sam, [{ name: "Demo Support", address: support.address }], 25),
    ...planSharedMailbox(rng, now, opsOwner, 25),
  ];
  for (const sample of loadCorpusSamples(opts.corpusDir, "microsoft")) {
    microsoft.push({
      copies: [{ address: support.address, sent: false }],
      at: now - rng.range(DAY, 40 * DAY),
      raw: sample.raw,
      threadKey: sample.name,
      unread: false,
    });
  }

  google.sort((a, b) => a.at - b.at);
  const gmailThreads = new Map<string, string>();
  for (const p of google) {
    for (const copy of p.copies) {
      const mailbox = mailboxes.gmail(copy.address);
      if (!mailbox) continue;
      const key = `${copy.address}|${p.threadKey}`;
      const labels = copy.sent ? ["SENT"] : ["INBOX", "CATEGORY_PERSONAL", ...(p.unread ? ["UNREAD"] : [])];
      const m = mailbox.insert(p.raw, {
        labelIds: labels,
        internalDate: p.at,
        threadId: gmailThreads.get(key),
        sent: copy.sent,
        recordHistory: false,
      });
      if (!gmailThreads.has(key)) gmailThreads.set(key, m.threadId);
    }
  }
  microsoft.sort((a, b) => a.at - b.at);
  for (const p of microsoft) {
    for (const copy of p.copies) {
      const mailbox = mailboxes.graph(copy.address);
      if (!mailbox) continue;
      mailbox.insert(p.raw, {
        folder: copy.sent ? "sentitems" : "inbox",
        receivedAt: p.at,
        now,
        isRead: copy.sent || !p.unread,
        record: false,
      });
    }
  }
}
