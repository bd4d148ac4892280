import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type RunningEmulator } from "../../emulator/index";
import { type ApiClient, graphClient } from "./support/clients";
import { FIXED_NOW, startTestEmulator } from "./support/emulator";
import { type Csdl, csdlProblems, loadCsdl, loadFixture, shapeProblems } from "./support/shapes";

const fixture = loadFixture("graph.json");
const csdl: Csdl | undefined = loadCsdl();
const SAM = "sam@demo-ms.test";
const SUPPORT = "support@demo-ms.test";
const IMMUTABLE = { prefer: 'IdType="ImmutableId"' };
const MINUTE = 60_000;

let emulator: RunningEmulator;
let graph: ApiClient;

type Msg = Record<string, unknown> & {
  id: string;
  subject: string;
  parentFolderId: string;
  conversationId: string;
  isRead: boolean;
};
type Page = { value: Msg[]; "@odata.nextLink"?: string; "@odata.deltaLink"?: string; "@odata.context": string };

function shape(name: string, value: unknown) {
  expect(shapeProblems(value, fixture.shapes[name]!), name).toEqual([]);
}
/** Also validate against Microsoft's CSDL when ../shared is present. */
function typed(type: string, value: unknown) {
  if (!csdl) return;
  expect(csdlProblems(csdl, value, type), type).toEqual([]);
}

function deliverToSupport(subject: string, extra: Record<string, string> = {}) {
  emulator.admin.advanceClock(MINUTE);
  return emulator.deliver({
    to: SUPPORT,
    from: "Olivia Chen <olivia.chen@harbor-health.example>",
    subject,
    text: `Body of ${subject}`,
    ...extra,
  });
}

beforeAll(async () => {
  emulator = await startTestEmulator({
    now: () => FIXED_NOW,
    settings: { microsoft: { accessTokenTtlSeconds: 30 * 86_400 } },
  });
  graph = await graphClient(emulator, SAM, [
    "User.Read",
    "Mail.ReadWrite",
    "Mail.Send",
    "Mail.ReadWrite.Shared",
    "Mail.Send.Shared",
  ]);
  for (let i = 1; i <= 5; i++) deliverToSupport(`Ticket ${i}`);
  emulator.admin.advanceClock(MINUTE);
  emulator.deliver({
    to: SUPPORT,
    raw: Buffer.from(
      [
        "From: Aisha Khan <aisha.khan@crescent-pharma.example>",
        "To: support@demo-ms.test",
        "Subject: Invoice attached",
        "Message-ID: <att-1@crescent-pharma.example>",
        "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="x"',
        "",
        "--x",
        "Content-Type: text/html; charset=utf-8",
        "",
        "<p>Please find the <b>invoice</b> attached.</p>",
        "--x",
        'Content-Type: application/pdf; name="inv.pdf"',
        'Content-Disposition: attachment; filename="inv.pdf"',
        "Content-Transfer-Encoding: base64",
        "",
        Buffer.from("%PDF-1.4 invoice").toString("base64"),
        "--x--",
        "",
      ].join("\r\n"),
    ),
  });
});
afterAll(() => emulator.close());
beforeEach(() =>
  emulator.admin.configure({
    graph: { deltaExpiredStatus: 410, deltaExpiredCode: "syncStateNotFound", filteredDeltaCap: 5000 },
  }),
);

describe("users", () => {
  it("should return /me and a shared mailbox reached as a delegate", async () => {
    const me = await graph.get("/me");
    shape("user", me.body);
    expect(me.body).toMatchObject({ mail: SAM, userPrincipalName: SAM });
    const shared = await graph.get(`/users/${SUPPORT}`);
    expect(shared.status).toBe(200);
    expect(shared.body["mail"]).toBe(SUPPORT);
  });

  it("should deny another tenant's mailbox and shared mail without .Shared scopes", async () => {
    const other = await graph.get("/users/ops@northwind.test/messages");
    expect(other.status).toBe(403);
    shape("error", other.body);
    shape("error#body", other.body["error"]);
    expect((other.body["error"] as { code: string }).code).toBe("ErrorAccessDenied");
    const plain = await graphClient(emulator, SAM, ["Mail.ReadWrite"]);
    expect((await plain.get(`/users/${SUPPORT}/messages`)).status).toBe(403);
    expect((await plain.get("/me/messages")).status).toBe(200);
    const anon = await fetch(`${emulator.url}/graph/v1.0/me`);
    expect(anon.status).toBe(401);
    expect(((await anon.json()) as { error: { code: string } }).error.code).toBe("InvalidAuthenticationToken");
  });
});

describe("mailFolders and messages", () => {
  it("should list folders and resolve well-known names in both path styles", async () => {
    const folders = await graph.get<{ value: unknown[] }>(`/users/${SUPPORT}/mailFolders`);
    shape("collection", folders.body);
    for (const f of folders.body.value) {
      shape("mailFolder", f);
      typed("mailFolder", f);
    }
    const inbox = await graph.get(`/users/${SUPPORT}/mailFolders/inbox`);
    const quoted = await graph.get(`/users/${SUPPORT}/mailFolders('Inbox')`);
    expect(inbox.body["id"]).toBe(quoted.body["id"]);
    expect(inbox.body["totalItemCount"]).toBe(6);
  });

  it("should list messages newest first with the default properties and page with nextLink", async () => {
    const first = await graph.get<Page>(`/users/${SUPPORT}/mailFolders/inbox/messages?$top=4`);
    shape("collection", first.body);
    expect(first.body.value).toHaveLength(4);
    for (const m of first.body.value) {
      shape("message#default", m);
      typed("message", m);
    }
    expect(first.body.value[0]!.subject).toBe("Invoice attached");
    const next = await graph.get<Page>(first.body["@odata.nextLink"]!);
    expect(next.body.value).toHaveLength(2);
    expect(next.body["@odata.nextLink"]).toBeUndefined();
  });

  it("should honour $select, $filter and the text body preference", async () => {
    const selected = await graph.get<Page>(`/users/${SUPPORT}/messages?$select=subject,internetMessageHeaders&$top=1`);
    expect(Object.keys(selected.body.value[0]!).sort()).toEqual([
      "@odata.etag",
      "id",
      "internetMessageHeaders",
      "subject",
    ]);
    typed("message", selected.body.value[0]);
    expect((await graph.get(`/users/${SUPPORT}/messages?$select=nonsense`)).status).toBe(400);
    const since = new Date(FIXED_NOW + 3.5 * MINUTE).toISOString();
    const filtered = await graph.get<Page>(`/users/${SUPPORT}/messages?$filter=receivedDateTime ge ${since}`);
    expect(filtered.body.value.map((m) => m.subject).sort()).toEqual(["Invoice attached", "Ticket 4", "Ticket 5"]);
    const html = (await graph.get<Page>(`/users/${SUPPORT}/messages?$top=1&$select=body`)).body.value[0]!["body"] as {
      contentType: string;
    };
    expect(html.contentType).toBe("html");
    const text = await graph.get<Page>(`/users/${SUPPORT}/messages?$top=1&$select=body`, {
      prefer: 'outlook.body-content-type="text"',
    });
    expect((text.body.value[0]!["body"] as { contentType: string; content: string }).contentType).toBe("text");
    expect(text.headers.get("preference-applied")).toContain("outlook.body-content-type");
  });

  it("should return the MIME with $value and file attachments", async () => {
    const msg = (
      await graph.get<Page>(`/users/${SUPPORT}/messages?$filter=internetMessageId eq '<att-1@crescent-pharma.example>'`)
    ).body.value[0]!;
    expect(msg["hasAttachments"]).toBe(true);
    const raw = await graph.get(`/users/${SUPPORT}/messages/${msg.id}/$value`);
    expect(raw.status).toBe(200);
    expect(raw.text).toContain("Message-ID: <att-1@crescent-pharma.example>");
    const attachments = await graph.get<{ value: Array<{ contentBytes: string; name: string }> }>(
      `/users/${SUPPORT}/messages/${msg.id}/attachments`,
    );
    shape("collection", attachments.body);
    for (const a of attachments.body.value) {
      shape("fileAttachment", a);
      typed("fileAttachment", a);
    }
    expect(Buffer.from(attachments.body.value[0]!.contentBytes, "base64").toString()).toBe("%PDF-1.4 invoice");
  });

  it("should merge mail with the same normalized subject into one conversation", async () => {
    const a = deliverToSupport("Printer broken");
    const b = emulator.deliver({
      to: SUPPORT,
      from: "someone-else@example.org",
      subject: "RE: Printer broken",
      text: "me too",
    });
    expect(a.deliveries[0]!.threadId).toBe(b.deliveries[0]!.threadId);
    const c = deliverToSupport("Printer broken again");
    expect(c.deliveries[0]!.threadId).not.toBe(a.deliveries[0]!.threadId);
  });
});

describe("delta", () => {
  async function drain(
    url: string,
    headers: Record<string, string> = {},
  ): Promise<{ items: Msg[]; deltaLink: string; pages: number }> {
    const items: Msg[] = [];
    let next: string | undefined = url;
    let pages = 0;
    for (;;) {
      const res: { status: number; body: Page } = await graph.get<Page>(next!, headers);
      expect(res.status).toBe(200);
      shape("delta", res.body);
      expect(Boolean(res.body["@odata.nextLink"]) !== Boolean(res.body["@odata.deltaLink"])).toBe(true);
      items.push(...res.body.value);
      pages++;
      if (res.body["@odata.deltaLink"]) return { items, deltaLink: res.body["@odata.deltaLink"], pages };
      next = res.body["@odata.nextLink"];
    }
  }

  it("should enumerate a folder in pages, then return only changes with @removed entries", async () => {
    const initial = await drain(`/users/${SUPPORT}/mailFolders/inbox/messages/delta?$select=subject,isRead`, {
      prefer: "odata.maxpagesize=3",
    });
    const inboxCount = (await graph.get(`/users/${SUPPORT}/mailFolders/inbox`)).body["totalItemCount"];
    expect(initial.items).toHaveLength(Number(inboxCount));
    expect(initial.pages).toBeGreaterThan(2);
    for (const item of initial.items)
      expect(Object.keys(item).sort()).toEqual(["@odata.etag", "@odata.type", "id", "isRead", "subject"]);

    const created = deliverToSupport("After baseline");
    const [toUpdate, toMove] = initial.items;
    expect((await graph.send("PATCH", `/users/${SUPPORT}/messages/${toUpdate!.id}`, { isRead: true })).status).toBe(
      200,
    );
    expect(
      (await graph.send("POST", `/users/${SUPPORT}/messages/${toMove!.id}/move`, { destinationId: "archive" })).status,
    ).toBe(201);

    const round = await drain(initial.deltaLink);
    const removed = round.items.filter((i) => "@removed" in i);
    const present = round.items.filter((i) => !("@removed" in i));
    expect(removed.map((r) => r.id)).toEqual([toMove!.id]);
    for (const r of removed) shape("delta#removed", r);
    expect(present.map((p) => p.subject).sort()).toEqual(["After baseline", toUpdate!.subject].sort());
    expect(present.find((p) => p.id === toUpdate!.id)!.isRead).toBe(true);
    expect(created.deliveries).toHaveLength(1);

    const quiet = await drain(round.deltaLink);
    expect(quiet.items).toEqual([]);
  });

  it("should filter by changeType and cap a filtered initial sync", async () => {
    const base = await drain(`/users/${SUPPORT}/mailFolders/inbox/messages/delta?changeType=created`);
    deliverToSupport("Created only");
    const someId = base.items[0]!.id;
    await graph.send("PATCH", `/users/${SUPPORT}/messages/${someId}`, { isRead: false });
    const round = await drain(base.deltaLink);
    expect(round.items.map((i) => i.subject)).toEqual(["Created only"]);

    emulator.admin.configure({ graph: { filteredDeltaCap: 2 } });
    const since = new Date(FIXED_NOW - 86_400_000).toISOString();
    const capped = await drain(
      `/users/${SUPPORT}/mailFolders/inbox/messages/delta?$filter=receivedDateTime ge ${since}`,
    );
    expect(capped.items).toHaveLength(2);
    expect((await graph.get(`/users/${SUPPORT}/mailFolders/inbox/messages/delta?$filter=isRead eq true`)).status).toBe(
      400,
    );
    expect((await graph.get(`/users/${SUPPORT}/messages/delta`)).status).toBe(400);
  });

  it("should answer an expired token with 410 syncStateNotFound by default, or the configured status and code", async () => {
    const { deltaLink } = await drain(`/users/${SUPPORT}/mailFolders/inbox/messages/delta`);
    emulator.admin.expireGraphDelta(SUPPORT);
    const gone = await graph.get<{ error: { code: string } }>(deltaLink);
    expect(gone.status).toBe(410);
    shape("error#body", gone.body.error);
    expect(gone.body.error.code).toBe("syncStateNotFound");

    emulator.admin.configure({ graph: { deltaExpiredStatus: 400, deltaExpiredCode: "SyncStateNotFound" } });
    const fresh = await drain(`/users/${SUPPORT}/mailFolders/inbox/messages/delta`);
    emulator.admin.expireGraphDelta(SUPPORT);
    const bad = await graph.get<{ error: { code: string } }>(fresh.deltaLink);
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("SyncStateNotFound");
  });

  it("should answer a tenant reset with 410 and a Location to start over", async () => {
    const { deltaLink } = await drain(`/users/${SUPPORT}/mailFolders/inbox/messages/delta`);
    emulator.admin.expireGraphDelta(SUPPORT, "reset");
    const gone = await graph.get(deltaLink);
    expect(gone.status).toBe(410);
    const location = gone.headers.get("location")!;
    expect(location).toMatch(/\/messages\/delta$/);
    const restart = await drain(location);
    expect(restart.items.length).toBeGreaterThan(0);
  });

  it("should keep ids stable across moves only with ImmutableId", async () => {
    const delivered = deliverToSupport("Move me");
    const rest = (
      await graph.get<Page>(`/users/${SUPPORT}/messages?$filter=internetMessageId eq '${delivered.messageId}'`)
    ).body.value[0]!;
    const immutable = (
      await graph.get<Page>(
        `/users/${SUPPORT}/messages?$filter=internetMessageId eq '${delivered.messageId}'`,
        IMMUTABLE,
      )
    ).body.value[0]!;
    expect(immutable.id).not.toBe(rest.id);
    const moved = await graph.send<Msg>("POST", `/users/${SUPPORT}/messages/${rest.id}/move`, {
      destinationId: "archive",
    });
    expect(moved.body.id).not.toBe(rest.id);
    expect((await graph.get(`/users/${SUPPORT}/messages/${rest.id}`)).status).toBe(404);
    const again = await graph.get<Msg>(`/users/${SUPPORT}/messages/${immutable.id}`, IMMUTABLE);
    expect(again.body.id).toBe(immutable.id);
  });
});

describe("sending", () => {
  it("should accept sendMail as JSON with 202 and no body, save to Sent Items and deliver", async () => {
    const res = await graph.send("POST", "/me/sendMail", {
      message: {
        subject: "Escalation",
        body: { contentType: "HTML", content: "<p>Please look at this.</p>" },
        toRecipients: [{ emailAddress: { address: SUPPORT } }],
        internetMessageHeaders: [{ name: "x-postroom-ticket", value: "42" }],
        attachments: [
          {
            "@odata.type": "#microsoft.graph.fileAttachment",
            name: "log.txt",
            contentType: "text/plain",
            contentBytes: Buffer.from("log").toString("base64"),
          },
        ],
      },
      saveToSentItems: true,
    });
    expect(res.status).toBe(202);
    expect(res.text).toBe("");
    const sent = await graph.get<Page>(
      "/me/mailFolders/sentitems/messages?$select=subject,internetMessageHeaders,hasAttachments",
    );
    expect(sent.body.value[0]!.subject).toBe("Escalation");
    expect((sent.body.value[0]!["internetMessageHeaders"] as Array<{ name: string }>).map((h) => h.name)).toContain(
      "x-postroom-ticket",
    );
    const inSupport = await graph.get<Page>(`/users/${SUPPORT}/mailFolders/inbox/messages?$top=1&$select=subject,from`);
    expect(inSupport.body.value[0]).toMatchObject({
      subject: "Escalation",
      from: { emailAddress: { name: "Sam Okafor", address: SAM } },
    });
    const badHeader = await graph.send("POST", "/me/sendMail", {
      message: {
        subject: "x",
        toRecipients: [{ emailAddress: { address: SUPPORT } }],
        internetMessageHeaders: [{ name: "Reply-To", value: "x" }],
      },
    });
    expect(badHeader.status).toBe(400);
  });

  it("should accept sendMail as base64 MIME and reject bad base64", async () => {
    const mime = "From: sam@demo-ms.test\r\nTo: ops@northwind.test\r\nSubject: MIME send\r\n\r\nHello";
    const ok = await graph.send("POST", "/me/sendMail", Buffer.from(mime).toString("base64"), {
      "content-type": "text/plain",
    });
    expect(ok.status).toBe(202);
    const bad = await graph.send<{ error: { code: string } }>("POST", "/me/sendMail", "%%%not base64%%%", {
      "content-type": "text/plain",
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("ErrorMimeContentInvalidBase64String");
  });

  it("should send from the shared mailbox with .Shared scopes", async () => {
    const res = await graph.send("POST", `/users/${SUPPORT}/sendMail`, {
      message: { subject: "From the team", toRecipients: [{ emailAddress: { address: "customer@example.org" } }] },
    });
    expect(res.status).toBe(202);
    const sent = await graph.get<Page>(`/users/${SUPPORT}/mailFolders/sentitems/messages?$select=from,subject`);
    expect(sent.body.value[0]!["from"]).toEqual({ emailAddress: { name: "Demo Support", address: SUPPORT } });
    expect(emulator.admin.outbox().at(-1)!.via).toBe(SUPPORT);
  });

  it("should create a reply draft (201), keep its immutable id through send (202), and thread it", async () => {
    const original = (
      await graph.get<Page>(
        `/users/${SUPPORT}/mailFolders/inbox/messages?$filter=internetMessageId eq '<att-1@crescent-pharma.example>'`,
        IMMUTABLE,
      )
    ).body.value[0]!;
    const draft = await graph.send<Msg>(
      "POST",
      `/users/${SUPPORT}/messages/${original.id}/createReply`,
      { comment: "Thanks, paid." },
      IMMUTABLE,
    );
    expect(draft.status).toBe(201);
    shape("message#default", draft.body);
    expect(draft.body).toMatchObject({
      isDraft: true,
      subject: "RE: Invoice attached",
      conversationId: original.conversationId,
    });
    expect(draft.body["toRecipients"]).toEqual([
      { emailAddress: { name: "Aisha Khan", address: "aisha.khan@crescent-pharma.example" } },
    ]);
    expect(
      (
        await graph.send(
          "PATCH",
          `/users/${SUPPORT}/messages/${draft.body.id}`,
          { body: { contentType: "text", content: "Paid today." } },
          IMMUTABLE,
        )
      ).status,
    ).toBe(200);
    const sent = await graph.send("POST", `/users/${SUPPORT}/messages/${draft.body.id}/send`, undefined, IMMUTABLE);
    expect(sent.status).toBe(202);
    const after = await graph.get<Msg>(
      `/users/${SUPPORT}/messages/${draft.body.id}?$select=isDraft,parentFolderId,internetMessageHeaders`,
      IMMUTABLE,
    );
    expect(after.status).toBe(200);
    expect(after.body["isDraft"]).toBe(false);
    const sentItems = (await graph.get(`/users/${SUPPORT}/mailFolders/sentitems`)).body["id"];
    expect(after.body.parentFolderId).toBe(sentItems);
    const headers = after.body["internetMessageHeaders"] as Array<{ name: string; value: string }>;
    expect(headers.find((h) => h.name === "In-Reply-To")?.value).toBe("<att-1@crescent-pharma.example>");
    expect(headers.find((h) => h.name === "Thread-Index")).toBeTruthy();
    expect(emulator.admin.outbox().at(-1)!.to).toEqual(["aisha.khan@crescent-pharma.example"]);
  });

  it("should send a reply draft with the recipients it was patched to and the files added to it", async () => {
    const original = (
      await graph.get<Page>(
        `/users/${SUPPORT}/mailFolders/inbox/messages?$filter=internetMessageId eq '<att-1@crescent-pharma.example>'`,
        IMMUTABLE,
      )
    ).body.value[0]!;
    const draft = await graph.send<Msg>("POST", `/users/${SUPPORT}/messages/${original.id}/createReply`, {}, IMMUTABLE);
    const path = `/users/${SUPPORT}/messages/${draft.body.id}`;
    const patched = await graph.send(
      "PATCH",
      path,
      {
        toRecipients: [{ emailAddress: { address: "ap@crescent-pharma.example" } }],
        ccRecipients: [],
        bccRecipients: [{ emailAddress: { address: "audit@demo-ms.test" } }],
        body: { contentType: "text", content: "Receipt attached." },
      },
      IMMUTABLE,
    );
    expect(patched.status).toBe(200);
    const file = Buffer.from([0, 1, 2, 250, 251, 252, 13, 10, 0]);
    const added = await graph.send<Record<string, unknown>>(
      "POST",
      `${path}/attachments`,
      {
        "@odata.type": "#microsoft.graph.fileAttachment",
        name: "receipt.bin",
        contentType: "application/octet-stream",
        contentBytes: file.toString("base64"),
      },
      IMMUTABLE,
    );
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ name: "receipt.bin", size: file.length, isInline: false });
    const listed = await graph.get<{ value: Array<{ name: string }> }>(`${path}/attachments`, IMMUTABLE);
    expect(listed.body.value.map((a) => a.name)).toEqual(["receipt.bin"]);
    const tooBig = await graph.send(
      "POST",
      `${path}/attachments`,
      {
        "@odata.type": "#microsoft.graph.fileAttachment",
        name: "big.bin",
        contentBytes: Buffer.alloc(3 * 1024 * 1024 + 1).toString("base64"),
      },
      IMMUTABLE,
    );
    expect(tooBig.status).toBe(413);

    expect((await graph.send("POST", `${path}/send`, undefined, IMMUTABLE)).status).toBe(202);
    const out = emulator.admin.outbox().at(-1)!;
    expect(out.to.sort()).toEqual(["ap@crescent-pharma.example", "audit@demo-ms.test"]);
    const mime = Buffer.from(out.raw, "base64").toString("latin1");
    expect(mime).toMatch(/^To: ap@crescent-pharma\.example\r?$/m);
    expect(mime).not.toContain("aisha.khan@");
    expect(mime).toContain("In-Reply-To: <att-1@crescent-pharma.example>");
    const sentAttachments = await graph.get<{ value: Array<{ name: string; contentBytes: string }> }>(
      `${path}/attachments`,
      IMMUTABLE,
    );
    expect(sentAttachments.body.value.map((a) => a.name)).toEqual(["receipt.bin"]);
    expect(Buffer.from(sentAttachments.body.value[0]!.contentBytes, "base64").equals(file)).toBe(true);
    const onSent = await graph.send(
      "POST",
      `${path}/attachments`,
      { "@odata.type": "#microsoft.graph.fileAttachment", name: "late.txt", contentBytes: "aGk=" },
      IMMUTABLE,
    );
    expect(onSent.status).toBe(400);
  });

  it("should change a draft's id on send without ImmutableId", async () => {
    const original = (await graph.get<Page>(`/users/${SUPPORT}/mailFolders/inbox/messages?$top=1`)).body.value[0]!;
    const draft = await graph.send<Msg>("POST", `/users/${SUPPORT}/messages/${original.id}/createReply`, {});
    expect((await graph.send("POST", `/users/${SUPPORT}/messages/${draft.body.id}/send`)).status).toBe(202);
    expect((await graph.get(`/users/${SUPPORT}/messages/${draft.body.id}`)).status).toBe(404);
    expect((await graph.send("POST", `/users/${SUPPORT}/messages/${original.id}/send`)).status).toBe(400);
    const both = await graph.send("POST", `/users/${SUPPORT}/messages/${original.id}/createReply`, {
      comment: "a",
      message: { body: { content: "b" } },
    });
    expect(both.status).toBe(400);
  });

  it("should reply in one call with 202", async () => {
    const original = (await graph.get<Page>(`/users/${SUPPORT}/mailFolders/inbox/messages?$top=1`)).body.value[0]!;
    expect(
      (await graph.send("POST", `/users/${SUPPORT}/messages/${original.id}/reply`, { comment: "On it." })).status,
    ).toBe(202);
  });
});
