import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type RunningEmulator } from "../../emulator/index";
import { type ApiClient, b64url, gmailClient } from "./support/clients";
import { FIXED_NOW, startTestEmulator } from "./support/emulator";
import { GMAIL_SCOPES } from "./support/oauth";
import {
  type Discovery,
  discoveryMethod,
  discoveryProblems,
  hasReference,
  loadDiscovery,
  loadFixture,
  shapeProblems,
} from "./support/shapes";

const fixture = loadFixture("gmail.json");
const discovery: Discovery | undefined = loadDiscovery();
const SALES = "sales@demo.test";
const MARIA = "maria@demo.test";
const DAY = 86_400_000;

let emulator: RunningEmulator;
let gmail: ApiClient;

type Part = {
  partId: string;
  mimeType: string;
  filename: string;
  headers: Array<{ name: string; value: string }>;
  body: { size: number; data?: string; attachmentId?: string };
  parts?: Part[];
};
type Message = {
  id: string;
  threadId: string;
  labelIds?: string[];
  historyId: string;
  internalDate: string;
  snippet: string;
  payload?: Part;
  raw?: string;
};

function shape(name: string, value: unknown) {
  expect(shapeProblems(value, fixture.shapes[name]!), name).toEqual([]);
}
/** Also validate against Google's own discovery schema when ../shared is present. */
function schema(methodOrSchema: string, value: unknown) {
  if (!discovery) return;
  const ref = methodOrSchema.startsWith("gmail.")
    ? discoveryMethod(discovery, methodOrSchema).response!.$ref
    : methodOrSchema;
  expect(discoveryProblems(discovery, value, ref), methodOrSchema).toEqual([]);
}
function walkParts(p: Part, visit: (p: Part) => void) {
  visit(p);
  for (const c of p.parts ?? []) walkParts(c, visit);
}

const RAW_WITH_ATTACHMENT = [
  "From: José Álvarez <jose@iberia-foods.example>",
  "To: Demo Sales <sales@demo.test>",
  "Subject: =?UTF-8?B?UHJlaXNhbmZyYWdlIMO8YmVyIDUwIFN0w7xjaw==?=",
  "Message-ID: <first@iberia-foods.example>",
  "Date: Fri, 15 May 2026 10:00:00 +0000",
  "MIME-Version: 1.0",
  'Content-Type: multipart/mixed; boundary="b1"',
  "",
  "--b1",
  'Content-Type: multipart/alternative; boundary="b2"',
  "",
  "--b2",
  "Content-Type: text/plain; charset=UTF-8",
  "Content-Transfer-Encoding: quoted-printable",
  "",
  "Hola, necesitamos 50 unidades. Gr=C3=BC=C3=9Fe",
  "--b2",
  "Content-Type: text/html; charset=UTF-8",
  "",
  "<p>Hola, necesitamos <b>50</b> unidades.</p>",
  "--b2--",
  "--b1",
  'Content-Type: application/pdf; name="quote.pdf"',
  'Content-Disposition: attachment; filename="quote.pdf"',
  "Content-Transfer-Encoding: base64",
  "",
  Buffer.from("%PDF-1.4 fake pdf").toString("base64"),
  "--b1--",
  "",
].join("\r\n");

beforeAll(async () => {
  emulator = await startTestEmulator({ now: () => FIXED_NOW });
  emulator.admin.configure({ push: { maxPerSecondPerUser: 0 } });
  emulator.deliver({ to: SALES, raw: Buffer.from(RAW_WITH_ATTACHMENT) });
  emulator.admin.advanceClock(DAY);
  emulator.deliver({
    to: SALES,
    from: "Priya Raghavan <priya.r@lotus-analytics.example>",
    subject: "Demo next week",
    text: "Can we book a demo?",
  });
  emulator.admin.advanceClock(DAY);
  emulator.deliver({
    to: "deals@demo.test",
    from: "Noah Kim <noah@seoul-robotics.example>",
    subject: "Volume discount",
    html: "<p>What's your <i>best</i> price?</p>",
  });
  emulator.admin.advanceClock(DAY + 3_600_000);
  gmail = await gmailClient(emulator, SALES, [GMAIL_SCOPES.modify]);
});
afterAll(() => emulator.close());
beforeEach(() => emulator.admin.configure({ gmail: { minimalIncludesExtras: true, historyRetentionMs: 7 * DAY } }));

describe("users.getProfile and labels", () => {
  it("should return the documented profile", async () => {
    const res = await gmail.get("/profile");
    expect(res.status).toBe(200);
    shape("users.getProfile", res.body);
    schema("gmail.users.getProfile", res.body);
    expect(res.body).toMatchObject({ emailAddress: SALES, messagesTotal: 3, threadsTotal: 3 });
  });

  it("should list system labels", async () => {
    const res = await gmail.get<{ labels: Array<{ id: string }> }>("/labels");
    shape("users.labels.list", res.body);
    schema("gmail.users.labels.list", res.body);
    expect(res.body.labels.map((l) => l.id)).toEqual(expect.arrayContaining(["INBOX", "SENT", "UNREAD", "TRASH"]));
  });
});

describe("users.messages.list", () => {
  it("should list newest first with ids and thread ids, and omit `messages` when nothing matches", async () => {
    const res = await gmail.get<{ messages: Array<{ id: string; threadId: string }>; resultSizeEstimate: number }>(
      "/messages",
    );
    shape("users.messages.list", res.body);
    schema("gmail.users.messages.list", res.body);
    for (const item of res.body.messages) shape("users.messages.list#item", item);
    expect(res.body.resultSizeEstimate).toBe(3);
    const empty = await gmail.get("/messages?q=rfc822msgid:<nope@example.com>");
    expect(empty.body).toEqual({ resultSizeEstimate: 0 });
  });

  it("should filter by newer_than, after:<epoch seconds>, rfc822msgid, in: and labelIds", async () => {
    const count = async (query: string) =>
      (await gmail.get<{ resultSizeEstimate: number }>(`/messages?${query}`)).body.resultSizeEstimate;
    expect(await count("q=newer_than:2d")).toBe(1);
    expect(await count("q=newer_than:3d")).toBe(2);
    expect(await count("q=older_than:3d")).toBe(1);
    expect(await count(`q=after:${Math.floor((FIXED_NOW + DAY / 2) / 1000)}`)).toBe(2);
    expect(await count(`q=before:${Math.floor((FIXED_NOW + DAY / 2) / 1000)}`)).toBe(1);
    expect(await count("q=rfc822msgid:first@iberia-foods.example")).toBe(1);
    expect(await count("q=in:inbox is:unread")).toBe(3);
    expect(await count("labelIds=INBOX&labelIds=UNREAD")).toBe(3);
    expect(await count("labelIds=INBOX&labelIds=STARRED")).toBe(0);
    expect(await count("q=has:attachment")).toBe(1);
    expect(await count("q=newer_than:1m")).toBe(3);
    // {…} is any of its terms; a negated group is none of them.
    expect(await count("q=" + encodeURIComponent("{in:inbox in:sent}"))).toBe(
      (await count("q=in:inbox")) + (await count("q=in:sent")),
    );
    expect(await count("q=" + encodeURIComponent("{has:attachment rfc822msgid:first@iberia-foods.example}"))).toBe(
      (await count("q=has:attachment")) +
        (await count("q=rfc822msgid:first@iberia-foods.example")) -
        (await count("q=has:attachment rfc822msgid:first@iberia-foods.example")),
    );
    expect(await count("q=" + encodeURIComponent("in:inbox -{is:unread}"))).toBe(
      (await count("q=in:inbox")) - (await count("q=in:inbox is:unread")),
    );
  });

  it("should page with maxResults and nextPageToken", async () => {
    const first = await gmail.get<{ messages: Array<{ id: string }>; nextPageToken?: string }>(
      "/messages?maxResults=2",
    );
    expect(first.body.messages).toHaveLength(2);
    expect(first.body.nextPageToken).toBeTruthy();
    const second = await gmail.get<{ messages: Array<{ id: string }>; nextPageToken?: string }>(
      `/messages?maxResults=2&pageToken=${first.body.nextPageToken}`,
    );
    expect(second.body.messages).toHaveLength(1);
    expect(second.body.nextPageToken).toBeUndefined();
    expect(new Set([...first.body.messages, ...second.body.messages].map((m) => m.id)).size).toBe(3);
    expect((await gmail.get("/messages?pageToken=garbage")).status).toBe(400);
  });
});

describe("users.messages.get", () => {
  let id: string;
  beforeAll(async () => {
    id = (await gmail.get<{ messages: Array<{ id: string }> }>("/messages?q=rfc822msgid:first@iberia-foods.example"))
      .body.messages[0]!.id;
  });

  it("should render format=full with the MIME tree, decoded headers and attachment ids", async () => {
    const res = await gmail.get<Message>(`/messages/${id}`);
    shape("Message#full", res.body);
    schema("gmail.users.messages.get", res.body);
    const parts: Part[] = [];
    walkParts(res.body.payload!, (p) => parts.push(p));
    for (const p of parts) {
      shape("MessagePart", p);
      shape("MessagePartBody", p.body);
      for (const h of p.headers) shape("MessagePartHeader", h);
    }
    const root = res.body.payload!;
    expect(root.partId).toBe("");
    expect(root.mimeType).toBe("multipart/mixed");
    expect(root.headers.find((h) => h.name === "Subject")?.value).toBe("Preisanfrage über 50 Stück");
    expect(parts.map((p) => p.partId)).toEqual(["", "0", "0.0", "0.1", "1"]);
    const text = parts.find((p) => p.mimeType === "text/plain")!;
    expect(Buffer.from(text.body.data!, "base64url").toString("utf8")).toContain("Grüße");
    const pdf = parts.find((p) => p.filename === "quote.pdf")!;
    expect(pdf.body.data).toBeUndefined();
    expect(pdf.body.attachmentId).toBeTruthy();
    expect(res.body.labelIds).toEqual(expect.arrayContaining(["INBOX", "UNREAD"]));
    expect(res.body.snippet).toContain("Hola, necesitamos 50 unidades");

    const attachment = await gmail.get<{ size: number; data: string }>(
      `/messages/${id}/attachments/${pdf.body.attachmentId}`,
    );
    shape("users.messages.attachments.get", attachment.body);
    schema("gmail.users.messages.attachments.get", attachment.body);
    expect(Buffer.from(attachment.body.data, "base64url").toString()).toBe("%PDF-1.4 fake pdf");
    expect(attachment.body.size).toBe(pdf.body.size);
  });

  it("should return raw as base64url of the stored RFC 2822 bytes", async () => {
    const res = await gmail.get<Message>(`/messages/${id}?format=raw`);
    shape("Message#raw", res.body);
    schema("gmail.users.messages.get", res.body);
    const raw = Buffer.from(res.body.raw!, "base64url").toString("utf8");
    expect(raw).toContain("Delivered-To: sales@demo.test");
    expect(raw).toContain("Message-ID: <first@iberia-foods.example>");
    expect(res.body.payload).toBeUndefined();
  });

  it("should return metadata with only the requested headers", async () => {
    const res = await gmail.get<Message>(
      `/messages/${id}?format=metadata&metadataHeaders=Subject&metadataHeaders=From`,
    );
    shape("Message#metadata", res.body);
    shape("MessagePart#metadata", res.body.payload);
    schema("gmail.users.messages.get", res.body);
    expect(res.body.payload!.headers.map((h) => h.name).sort()).toEqual(["From", "Subject"]);
  });

  it("should return minimal with or without the observed extra fields", async () => {
    const extras = await gmail.get(`/messages/${id}?format=minimal`);
    shape("Message#minimal", extras.body);
    expect(extras.body["snippet"]).toBeTruthy();
    emulator.admin.configure({ gmail: { minimalIncludesExtras: false } });
    const documented = await gmail.get(`/messages/${id}?format=minimal`);
    shape("Message#minimal-documented", documented.body);
    expect(Object.keys(documented.body).sort()).toEqual(["id", "labelIds", "threadId"]);
  });

  it("should answer errors in Google's shape", async () => {
    const missing = await gmail.get<{ error: { errors: unknown[] } }>("/messages/ffffffffffffffff");
    expect(missing.status).toBe(404);
    shape("Error", missing.body);
    shape("Error#body", missing.body.error);
    for (const e of missing.body.error.errors) shape("Error#item", e);
    expect((await gmail.get(`/messages/${id}?format=bogus`)).status).toBe(400);
    const other = await fetch(`${emulator.url}/gmail/v1/users/${MARIA}/profile`, {
      headers: { authorization: `Bearer ${gmail.token}` },
    });
    expect(other.status).toBe(403);
    const anon = await fetch(`${emulator.url}/gmail/v1/users/me/profile`);
    expect(anon.status).toBe(401);
    expect(((await anon.json()) as { error: { errors: Array<{ reason: string }> } }).error.errors[0]!.reason).toBe(
      "authError",
    );
  });

  it("should enforce the metadata scope's restrictions", async () => {
    const meta = await gmailClient(emulator, SALES, [GMAIL_SCOPES.metadata]);
    expect((await meta.get(`/messages/${id}?format=metadata`)).status).toBe(200);
    expect((await meta.get(`/messages/${id}?format=full`)).status).toBe(403);
    expect((await meta.get(`/messages/${id}?format=raw`)).status).toBe(403);
    expect((await meta.get("/messages?q=newer_than:1d")).status).toBe(403);
    expect((await meta.get("/messages")).status).toBe(200);
  });
});

describe("users.history.list", () => {
  it("should list changes after a start id with gapped, increasing ids and type filters", async () => {
    const start = (await gmail.get<{ historyId: string }>("/profile")).body.historyId;
    const delivered = emulator.deliver({ to: SALES, from: "a@example.com", subject: "History one", text: "1" });
    const id = delivered.deliveries[0]!.id;
    expect(
      (await gmail.send("POST", `/messages/${id}/modify`, { removeLabelIds: ["UNREAD"], addLabelIds: ["STARRED"] }))
        .status,
    ).toBe(200);
    const res = await gmail.get<{
      history: Array<{ id: string; messagesAdded?: unknown[]; labelsAdded?: unknown[]; labelsRemoved?: unknown[] }>;
      historyId: string;
    }>(`/history?startHistoryId=${start}`);
    shape("users.history.list", res.body);
    schema("gmail.users.history.list", res.body);
    for (const h of res.body.history) shape("History", h);
    const ids = res.body.history.map((h) => Number(h.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(ids.every((v) => v > Number(start))).toBe(true);
    expect(res.body.history.map((h) => Object.keys(h).filter((k) => k !== "id" && k !== "messages")[0])).toEqual([
      "messagesAdded",
      "labelsAdded",
      "labelsRemoved",
    ]);
    expect(Number(res.body.historyId)).toBe(ids[ids.length - 1]);

    const added = await gmail.get<{ history: unknown[] }>(`/history?startHistoryId=${start}&historyTypes=messageAdded`);
    expect(added.body.history).toHaveLength(1);
    const paged = await gmail.get<{ history: unknown[]; nextPageToken: string }>(
      `/history?startHistoryId=${start}&maxResults=2`,
    );
    expect(paged.body.history).toHaveLength(2);
    const rest = await gmail.get<{ history: unknown[]; nextPageToken?: string }>(
      `/history?startHistoryId=${start}&maxResults=2&pageToken=${paged.body.nextPageToken}`,
    );
    expect(rest.body.history).toHaveLength(1);
    expect(rest.body.nextPageToken).toBeUndefined();
    const none = await gmail.get(`/history?startHistoryId=${res.body.historyId}`);
    expect(none.body).toEqual({ historyId: res.body.historyId });
  });

  it("should answer 404 once the start id is older than the retention", async () => {
    emulator.admin.configure({ gmail: { historyRetentionMs: 60_000 } });
    const start = (await gmail.get<{ historyId: string }>("/profile")).body.historyId;
    emulator.deliver({ to: SALES, from: "b@example.com", subject: "Retention", text: "x" });
    expect((await gmail.get(`/history?startHistoryId=${start}`)).status).toBe(200);
    emulator.admin.advanceClock(61_000);
    const gone = await gmail.get<{ error: { code: number; status: string } }>(`/history?startHistoryId=${start}`);
    expect(gone.status).toBe(404);
    expect(gone.body.error).toMatchObject({ code: 404, status: "NOT_FOUND" });
    const current = (await gmail.get<{ historyId: string }>("/profile")).body.historyId;
    expect((await gmail.get(`/history?startHistoryId=${current}`)).status).toBe(200);
  });

  it("should answer 400 without a valid startHistoryId", async () => {
    expect((await gmail.get("/history")).status).toBe(400);
    expect((await gmail.get("/history?startHistoryId=abc")).status).toBe(400);
  });
});

describe("users.messages.send", () => {
  function raw(headers: Record<string, string>, body = "Thanks!") {
    return b64url(
      Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}`)
        .join("\r\n") +
        "\r\n\r\n" +
        body,
    );
  }

  it("should store the sent copy with SENT, write history, and deliver to sandbox recipients", async () => {
    const start = (await gmail.get<{ historyId: string }>("/profile")).body.historyId;
    const res = await gmail.send<{ id: string; threadId: string; labelIds: string[] }>("POST", "/messages/send", {
      raw: raw({ To: `Maria <${MARIA}>, outside@example.net`, Subject: "Internal note" }),
    });
    expect(res.status).toBe(200);
    shape("users.messages.send", res.body);
    schema("gmail.users.messages.send", res.body);
    expect(res.body.labelIds).toEqual(["SENT"]);
    const full = await gmail.get<Message>(`/messages/${res.body.id}?format=metadata`);
    expect(full.body.payload!.headers.find((h) => h.name === "From")?.value).toContain(SALES);
    const history = await gmail.get<{
      history: Array<{ messagesAdded?: Array<{ message: { id: string; labelIds: string[] } }> }>;
    }>(`/history?startHistoryId=${start}`);
    expect(history.body.history.flatMap((h) => h.messagesAdded ?? []).map((a) => a.message)).toEqual([
      { id: res.body.id, threadId: res.body.threadId, labelIds: ["SENT"] },
    ]);
    const mariaClient = await gmailClient(emulator, MARIA, [GMAIL_SCOPES.readonly]);
    expect(
      (await mariaClient.get<{ resultSizeEstimate: number }>("/messages?q=subject:Internal")).body.resultSizeEstimate,
    ).toBe(1);
    expect(emulator.admin.outbox().some((m) => m.to.includes("outside@example.net"))).toBe(true);
  });

  it("should thread a reply only with threadId, References/In-Reply-To and the same subject", async () => {
    const list = await gmail.get<{ messages: Array<{ id: string; threadId: string }> }>(
      "/messages?q=rfc822msgid:first@iberia-foods.example",
    );
    const { threadId } = list.body.messages[0]!;
    const headers = {
      To: "jose@iberia-foods.example",
      Subject: "Re: Preisanfrage über 50 Stück",
      "In-Reply-To": "<first@iberia-foods.example>",
      References: "<first@iberia-foods.example>",
    };
    const encodedSubject = { ...headers, Subject: "=?UTF-8?B?UmU6IFByZWlzYW5mcmFnZSDDvGJlciA1MCBTdMO8Y2s=?=" };
    const threaded = await gmail.send<{ threadId: string }>("POST", "/messages/send", {
      raw: raw(encodedSubject),
      threadId,
    });
    expect(threaded.body.threadId).toBe(threadId);
    const noThreadId = await gmail.send<{ threadId: string }>("POST", "/messages/send", { raw: raw(encodedSubject) });
    expect(noThreadId.body.threadId).not.toBe(threadId);
    const otherSubject = await gmail.send<{ threadId: string }>("POST", "/messages/send", {
      raw: raw({ ...headers, Subject: "Something else" }),
      threadId,
    });
    expect(otherSubject.body.threadId).not.toBe(threadId);
    const noRefs = await gmail.send<{ threadId: string }>("POST", "/messages/send", {
      raw: raw({ To: headers.To, Subject: "Re: Preisanfrage über 50 Stück" }),
      threadId,
    });
    expect(noRefs.body.threadId).not.toBe(threadId);

    const thread = await gmail.get<{ messages: Message[] }>(`/threads/${threadId}`);
    shape("users.threads.get", thread.body);
    schema("gmail.users.threads.get", thread.body);
    expect(thread.body.messages.map((m) => m.labelIds?.includes("SENT") ?? false)).toEqual([false, true]);
    expect((await gmail.get(`/threads/${threadId}?format=raw`)).status).toBe(400);
  });

  it("should accept the media upload form and reject a missing raw", async () => {
    const res = await fetch(`${emulator.url}/upload/gmail/v1/users/me/messages/send?uploadType=media`, {
      method: "POST",
      headers: { authorization: `Bearer ${gmail.token}`, "content-type": "message/rfc822" },
      body: "To: someone@example.org\r\nSubject: Upload\r\n\r\nBody",
    });
    expect(res.status).toBe(200);
    expect((await gmail.send("POST", "/messages/send", {})).status).toBe(400);
  });
});

describe("users.messages.modify and threads.list", () => {
  it("should change labels and reject unknown ones", async () => {
    const id = (await gmail.get<{ messages: Array<{ id: string }> }>("/messages?q=subject:Demo")).body.messages[0]!.id;
    const res = await gmail.send<{ labelIds: string[] }>("POST", `/messages/${id}/modify`, {
      addLabelIds: ["IMPORTANT"],
      removeLabelIds: ["INBOX"],
    });
    shape("users.messages.modify", res.body);
    schema("gmail.users.messages.modify", res.body);
    expect(res.body.labelIds).toContain("IMPORTANT");
    expect(res.body.labelIds).not.toContain("INBOX");
    expect((await gmail.send("POST", `/messages/${id}/modify`, { addLabelIds: ["Label_404"] })).status).toBe(400);
  });

  it("should list threads in the documented shape", async () => {
    const res = await gmail.get<{ threads: unknown[] }>("/threads?maxResults=2");
    shape("users.threads.list", res.body);
    schema("gmail.users.threads.list", res.body);
    for (const t of res.body.threads) shape("users.threads.list#item", t);
  });
});

describe("users.messages.trash, untrash and delete", () => {
  it("should move a message to the trash and back, recorded as label history", async () => {
    const start = (await gmail.get<{ historyId: string }>("/profile")).body.historyId;
    const id = emulator.deliver({ to: SALES, from: "t@example.com", subject: "Trash me", text: "t" }).deliveries[0]!.id;
    const trashed = await gmail.send<{ id: string; labelIds: string[] }>("POST", `/messages/${id}/trash`);
    expect(trashed.status).toBe(200);
    schema("gmail.users.messages.trash", trashed.body);
    expect(trashed.body.labelIds).toContain("TRASH");
    const listed = await gmail.get<{ messages?: Array<{ id: string }> }>("/messages?q=subject:%22Trash%20me%22");
    expect((listed.body.messages ?? []).map((m) => m.id)).not.toContain(id);
    const back = await gmail.send<{ labelIds: string[] }>("POST", `/messages/${id}/untrash`);
    schema("gmail.users.messages.untrash", back.body);
    expect(back.body.labelIds).not.toContain("TRASH");
    const history = await gmail.get<{
      history: Array<{ labelsAdded?: Array<{ labelIds: string[] }>; labelsRemoved?: Array<{ labelIds: string[] }> }>;
    }>(`/history?startHistoryId=${start}`);
    expect(history.body.history.flatMap((h) => h.labelsAdded ?? []).flatMap((a) => a.labelIds)).toContain("TRASH");
    expect(history.body.history.flatMap((h) => h.labelsRemoved ?? []).flatMap((a) => a.labelIds)).toContain("TRASH");
    expect((await gmail.send("POST", "/messages/ffffffffffffffff/trash")).status).toBe(404);
  });

  it("should delete permanently only with the full-access scope, recorded as messagesDeleted", async () => {
    const id = emulator.deliver({ to: SALES, from: "d@example.com", subject: "Delete me", text: "d" }).deliveries[0]!
      .id;
    expect((await gmail.send("DELETE", `/messages/${id}`)).status).toBe(403);
    const full = await gmailClient(emulator, SALES, ["https://mail.google.com/"]);
    const start = (await full.get<{ historyId: string }>("/profile")).body.historyId;
    const res = await fetch(`${emulator.url}/gmail/v1/users/me/messages/${id}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${full.token}` },
    });
    expect(res.status).toBe(204);
    expect((await full.get(`/messages/${id}`)).status).toBe(404);
    const history = await full.get<{ history: Array<{ messagesDeleted?: Array<{ message: { id: string } }> }> }>(
      `/history?startHistoryId=${start}`,
    );
    shape("users.history.list", history.body);
    expect(history.body.history.flatMap((h) => h.messagesDeleted ?? []).map((d) => d.message.id)).toEqual([id]);
  });
});

describe("batch", () => {
  it("should answer a multipart/mixed batch in order with per-part statuses", async () => {
    const ids = (await gmail.get<{ messages: Array<{ id: string }> }>("/messages?maxResults=2")).body.messages.map(
      (m) => m.id,
    );
    const boundary = "batch_foo";
    const part = (cid: string, path: string) =>
      `--${boundary}\r\nContent-Type: application/http\r\nContent-ID: <${cid}>\r\n\r\nGET ${path}\r\n\r\n`;
    const body =
      part("a", `/gmail/v1/users/me/messages/${ids[0]}?format=minimal`) +
      part("b", "/gmail/v1/users/me/messages/ffffffffffffffff") +
      part("c", `/gmail/v1/users/me/messages/${ids[1]}?format=minimal`) +
      `--${boundary}--\r\n`;
    const res = await fetch(`${emulator.url}/batch/gmail/v1`, {
      method: "POST",
      headers: { authorization: `Bearer ${gmail.token}`, "content-type": `multipart/mixed; boundary=${boundary}` },
      body,
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
    expect(statuses).toEqual([200, 404, 200]);
    expect([...text.matchAll(/Content-ID: <response-(\w)>/g)].map((m) => m[1])).toEqual(["a", "b", "c"]);
    expect(text).toContain(`"id":"${ids[0]}"`);
  });
});

describe("route table", () => {
  it.skipIf(!hasReference)("should serve every implemented discovery method at its documented path", async () => {
    const ids = [
      "gmail.users.getProfile",
      "gmail.users.labels.list",
      "gmail.users.messages.list",
      "gmail.users.messages.get",
      "gmail.users.messages.modify",
      "gmail.users.messages.send",
      "gmail.users.messages.attachments.get",
      "gmail.users.threads.get",
      "gmail.users.threads.list",
      "gmail.users.history.list",
      "gmail.users.watch",
      "gmail.users.stop",
    ];
    for (const id of ids) {
      const method = discoveryMethod(discovery!, id) as unknown as { httpMethod: string; flatPath: string };
      const path = method.flatPath.replace("{userId}", "me").replace(/\{[^}]+\}/g, "x");
      const res = await fetch(`${emulator.url}/${path}`, {
        method: method.httpMethod,
        headers: { authorization: `Bearer ${gmail.token}`, "content-type": "application/json" },
        body: method.httpMethod === "POST" ? "{}" : undefined,
      });
      const body = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
      expect(body.error?.message ?? "", id).not.toMatch(/No such endpoint/);
    }
  });
  if (!hasReference)
    it("needs ../shared/docs/reference for discovery checks", () => console.warn("skipped: discovery document absent"));
});
