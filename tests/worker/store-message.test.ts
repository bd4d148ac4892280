import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import { ulid } from "ulid";
import * as schema from "../../worker/db/schema";
import { storeMessage, type IncomingCopy } from "../../worker/sync/store-message";

const db = drizzle(env.DB, { schema });
const enc = new TextEncoder();

function mime(o: {
  id?: string;
  subject?: string;
  from?: string;
  to?: string;
  inReplyTo?: string;
  references?: string;
  body?: string;
  extra?: string;
}): Uint8Array {
  const lines = [
    `From: ${o.from ?? "Ana <ana@customer.test>"}`,
    `To: ${o.to ?? "sales@demo.test"}`,
    `Subject: ${o.subject ?? "Pricing"}`,
    `Date: Mon, 16 Nov 2026 10:00:00 +0000`,
    ...(o.id ? [`Message-ID: <${o.id}>`] : []),
    ...(o.inReplyTo ? [`In-Reply-To: <${o.inReplyTo}>`] : []),
    ...(o.references ? [`References: ${o.references}`] : []),
    ...(o.extra ? [o.extra] : []),
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "",
    o.body ?? "Hello there",
    "",
  ];
  return enc.encode(lines.join("\r\n"));
}

function copy(accountId: string, mailboxId: string, raw: Uint8Array, over: Partial<IncomingCopy> = {}): IncomingCopy {
  return {
    accountId,
    mailboxId,
    providerMessageId: ulid(),
    providerThreadId: null,
    providerThreadReliable: true,
    labels: ["INBOX"],
    outbound: false,
    receivedAt: Date.now(),
    raw,
    ...over,
  };
}

async function count(table: string, accountId: string): Promise<number> {
  const r = await env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE account_id = ?`)
    .bind(accountId)
    .first<{ n: number }>();
  return r!.n;
}

describe("storing messages", () => {
  it("is idempotent per mailbox copy", async () => {
    const account = ulid();
    const c = copy(account, ulid(), mime({ id: "a1@customer.test" }));
    const first = await storeMessage(db, env.RAW_MAIL, c);
    expect(first.status).toBe("stored");
    const again = await storeMessage(db, env.RAW_MAIL, c);
    expect(again).toMatchObject({ status: "duplicate", messageId: (first as { messageId: string }).messageId });
    expect(await count("messages", account)).toBe(1);
    expect(await count("message_sources", account)).toBe(1);
    expect(await count("threads", account)).toBe(1);
    const raw = await env.RAW_MAIL.get(`raw/${account}/${c.mailboxId}/${c.providerMessageId}.eml`);
    expect(await raw!.text()).toContain("Message-ID: <a1@customer.test>");
  });

  it("stores the same RFC message seen in two mailboxes once, in one thread listed in both inboxes", async () => {
    const account = ulid();
    const sales = ulid();
    const support = ulid();
    const raw = mime({ id: "cc-both@customer.test", to: "sales@demo.test", extra: "Cc: support@demo.test" });
    const a = await storeMessage(db, env.RAW_MAIL, copy(account, sales, raw));
    const b = await storeMessage(db, env.RAW_MAIL, copy(account, support, raw));
    expect(a.status).toBe("stored");
    expect(b.status).toBe("linked");
    if (!("messageId" in a) || !("messageId" in b)) throw new Error("unexpected outcome");
    expect(b.messageId).toBe(a.messageId);
    expect(await count("messages", account)).toBe(1);
    const inboxes = await env.DB.prepare(
      `SELECT mailbox_id FROM thread_mailboxes WHERE account_id = ? ORDER BY mailbox_id`,
    )
      .bind(account)
      .all<{ mailbox_id: string }>();
    expect(inboxes.results.map((r) => r.mailbox_id)).toEqual([sales, support].sort());
  });

  it("threads replies by References and In-Reply-To, even when the reply arrives first", async () => {
    const account = ulid();
    const mbx = ulid();
    const reply = await storeMessage(
      db,
      env.RAW_MAIL,
      copy(
        account,
        mbx,
        mime({
          id: "r1@demo.test",
          subject: "Re: Pricing",
          inReplyTo: "p1@customer.test",
          references: "<p1@customer.test>",
        }),
      ),
    );
    const parent = await storeMessage(db, env.RAW_MAIL, copy(account, mbx, mime({ id: "p1@customer.test" })));
    const second = await storeMessage(
      db,
      env.RAW_MAIL,
      copy(
        account,
        mbx,
        mime({ id: "r2@customer.test", subject: "Re: Pricing", references: "<p1@customer.test> <r1@demo.test>" }),
      ),
    );
    const ids = [reply, parent, second].map((r) => ("threadId" in r ? r.threadId : null));
    expect(new Set(ids).size).toBe(1);
    const thread = await env.DB.prepare(`SELECT message_count FROM threads WHERE account_id = ?`)
      .bind(account)
      .first<{ message_count: number }>();
    expect(thread!.message_count).toBe(3);
  });

  it("groups by the provider thread id when it is reliable, and never by subject alone when it is not", async () => {
    const account = ulid();
    const mbx = ulid();
    const gmailA = await storeMessage(
      db,
      env.RAW_MAIL,
      copy(account, mbx, mime({ id: "g1@x.test" }), { providerThreadId: "T1" }),
    );
    const gmailB = await storeMessage(
      db,
      env.RAW_MAIL,
      copy(account, mbx, mime({ id: "g2@x.test" }), { providerThreadId: "T1" }),
    );
    expect((gmailA as { threadId: string }).threadId).toBe((gmailB as { threadId: string }).threadId);
    // Graph merges unrelated mail with the same subject into one conversationId: without reply
    // headers or Outlook's Thread-Index, two "Invoice" mails from different people stay apart.
    const graph = { providerThreadId: "CONV-INVOICE", providerThreadReliable: false };
    const inv1 = await storeMessage(
      db,
      env.RAW_MAIL,
      copy(account, mbx, mime({ id: "i1@a.test", subject: "Invoice", from: "a@a.test" }), graph),
    );
    const inv2 = await storeMessage(
      db,
      env.RAW_MAIL,
      copy(account, mbx, mime({ id: "i2@b.test", subject: "Invoice", from: "b@b.test" }), graph),
    );
    expect((inv1 as { threadId: string }).threadId).not.toBe((inv2 as { threadId: string }).threadId);
  });

  it("records an oversize message as skipped with its reason, before parsing it", async () => {
    const account = ulid();
    const huge = new Uint8Array(41 * 1024 * 1024);
    const r = await storeMessage(db, env.RAW_MAIL, copy(account, ulid(), huge));
    expect(r).toMatchObject({ status: "skipped", reason: "too_large" });
    const skipped = await env.DB.prepare(`SELECT reason FROM skipped_items WHERE account_id = ?`).bind(account).all();
    expect(skipped.results).toEqual([{ reason: "too_large" }]);
    expect(await count("messages", account)).toBe(0);
  });

  it("a message without Message-ID gets a stable synthetic one per copy", async () => {
    const account = ulid();
    const c = copy(account, ulid(), mime({}));
    const first = await storeMessage(db, env.RAW_MAIL, c);
    expect(first.status).toBe("stored");
    expect((await storeMessage(db, env.RAW_MAIL, c)).status).toBe("duplicate");
    const row = await env.DB.prepare(`SELECT rfc_message_id FROM messages WHERE account_id = ?`)
      .bind(account)
      .first<{ rfc_message_id: string }>();
    expect(row!.rfc_message_id).toMatch(/^synthetic\..+@postroom\.invalid$/);
  });
});

describe("the public MIME corpora", () => {
  const corpus = env.TEST_CORPUS;
  if (corpus.length === 0) {
    it.skip("cannot run: ../shared/corpora was not found beside the project", () => {});
  }

  it.runIf(corpus.length > 0)(
    "every sample is stored or skipped with a reason; none crashes",
    { timeout: 120_000 },
    async () => {
      const account = ulid();
      const mbx = ulid();
      const outcomes: Record<string, string> = {};
      for (const sample of corpus) {
        const raw = Uint8Array.from(atob(sample.b64), (ch) => ch.charCodeAt(0));
        const r = await storeMessage(db, env.RAW_MAIL, copy(account, mbx, raw));
        outcomes[sample.name] = r.status === "skipped" ? `skipped:${r.reason}` : r.status;
      }
      expect(Object.keys(outcomes).length).toBe(corpus.length);
      for (const [name, status] of Object.entries(outcomes)) {
        expect(["stored", "linked", "skipped:unparseable", "skipped:too_large"], name).toContain(status);
      }
      const stored = Object.values(outcomes).filter((s) => s === "stored" || s === "linked").length;
      expect(stored).toBeGreaterThan(corpus.length * 0.9);
    },
  );

  it.runIf(corpus.length > 0)("flags bounces and auto-replies, and not the negatives", async () => {
    const account = ulid();
    const mbx = ulid();
    const pick = (prefix: string) => corpus.filter((s) => s.name.startsWith(prefix));
    const flags = async (name: string, b64: string) => {
      const raw = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
      const r = await storeMessage(db, env.RAW_MAIL, copy(account, mbx, raw, { providerMessageId: name }));
      if (!("messageId" in r)) throw new Error(`${name} not stored: ${r.status}`);
      return (await env.DB.prepare(`SELECT is_automated, is_bounce FROM messages WHERE account_id = ? AND id = ?`)
        .bind(account, r.messageId)
        .first<{ is_automated: number; is_bounce: number }>())!;
    };
    for (const s of pick("sisimai-set-of-emails/bsd/rfc3834-")) {
      expect((await flags(s.name, s.b64)).is_automated, s.name).toBe(1);
    }
    for (const s of [...pick("sisimai-set-of-emails/bsd/rfc3464-"), ...pick("sisimai-set-of-emails/bsd/lhost-")]) {
      expect((await flags(s.name, s.b64)).is_bounce, s.name).toBe(1);
    }
    for (const s of pick("sisimai-set-of-emails/not/is-not-bounce")) {
      expect((await flags(s.name, s.b64)).is_bounce, s.name).toBe(0);
    }
  });
});

describe("the expected parses of the Stalwart corpus", () => {
  const oracle = env.TEST_CORPUS_ORACLE;
  /**
   * Where postal-mime and Stalwart read a malformed message differently. Each entry says why; any
   * other sample must match.
   */
  const KNOWN_DIFFERENCES: Record<string, string> = {
    "stalwart-mail-parser/malformed/020.eml":
      "broken multipart/alternative boundary: postal-mime finds no text part, Stalwart keeps the raw body",
    "stalwart-mail-parser/malformed/021.eml":
      "broken multipart/alternative boundary: postal-mime finds no text part, Stalwart keeps the raw body",
  };
  if (oracle.length === 0) {
    it.skip("cannot run: ../shared/corpora/stalwart-mail-parser was not found beside the project", () => {});
  }
  it.runIf(oracle.length > 0)("every body text Stalwart expects is in the text Postroom stores", async () => {
    const { parseMail, htmlToText } = await import("../../worker/mail/parse");
    const norm = (s: string) => s.replace(/\s+/g, " ").trim();
    const samples = new Map(env.TEST_CORPUS.map((c) => [c.name, c.b64]));
    const mismatches: string[] = [];
    for (const o of oracle) {
      const b64 = samples.get(o.name);
      expect(b64, o.name).toBeDefined();
      const parsed = await parseMail(Uint8Array.from(atob(b64!), (ch) => ch.charCodeAt(0)));
      expect(parsed.ok, o.name).toBe(true);
      if (!parsed.ok) continue;
      const ours = norm(parsed.mail.text);
      const missing = o.texts
        .map((t) => norm(t.html ? htmlToText(t.text) : t.text))
        .filter((t) => t && !ours.includes(t));
      if (missing.length > 0) mismatches.push(o.name);
    }
    expect(mismatches.sort()).toEqual(Object.keys(KNOWN_DIFFERENCES).sort());
  });
});

describe("deleting a disconnected mailbox's mail", () => {
  it("removes what only it held, keeps what another inbox also holds", async () => {
    const { purgeMailboxMail } = await import("../../worker/sync/purge");
    const account = ulid();
    const sales = ulid();
    const support = ulid();
    const shared = mime({ id: "shared@x.test", extra: "Cc: support@demo.test" });
    const onlySales = copy(account, sales, mime({ id: "only-sales@x.test", subject: "Private" }));
    const a = await storeMessage(db, env.RAW_MAIL, onlySales);
    await storeMessage(db, env.RAW_MAIL, copy(account, sales, shared));
    await storeMessage(db, env.RAW_MAIL, copy(account, support, shared));
    expect(await count("messages", account)).toBe(2);

    const result = await purgeMailboxMail(db, env.RAW_MAIL, account, sales);
    expect(result.messages).toBe(1);
    const left = await env.DB.prepare(`SELECT rfc_message_id FROM messages WHERE account_id = ?`).bind(account).all();
    expect(left.results).toEqual([{ rfc_message_id: "shared@x.test" }]);
    expect(await env.RAW_MAIL.get(`raw/${account}/${sales}/${onlySales.providerMessageId}.eml`)).toBeNull();
    const inboxes = await env.DB.prepare(`SELECT mailbox_id FROM thread_mailboxes WHERE account_id = ?`)
      .bind(account)
      .all();
    expect(inboxes.results).toEqual([{ mailbox_id: support }]);
    // The private thread is gone entirely.
    const privateThread = await env.DB.prepare(`SELECT count(*) AS n FROM threads WHERE account_id = ? AND id = ?`)
      .bind(account, (a as { threadId: string }).threadId)
      .first<{ n: number }>();
    expect(privateThread!.n).toBe(0);
    expect(await count("message_sources", account)).toBe(1);
  });
});
