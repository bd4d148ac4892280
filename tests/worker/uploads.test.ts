/**
 * Uploading files for a message being written: the upload's own size limit (JSON routes keep
 * theirs), the limits stated in the refusal, only the uploader can attach or remove an upload, and
 * uploads expire. Sending the files through a provider is tested in gmail-sync and graph-sync.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { megabytes, megabytesApart } from "../../worker/contracts/limits";
import { addMailbox, invite, signUp, type Actor } from "../support/accounts";
import { call } from "../support/http";
import { deliver } from "../support/store-mail";

let owner: Actor;
let member: Actor;
let light: Actor;
let inboxId: string;
let threadId: string;

const upload = (who: Actor, bytes: Uint8Array, name = "notes.txt", type = "text/plain") => {
  const form = new FormData();
  form.append("file", new File([bytes], name, { type }));
  return call("/api/uploads", { cookie: who.cookie, form });
};
/** As a browser sends a file: with the body's length declared (a FormData body here has none). */
const uploadWithLength = async (who: Actor, bytes: Uint8Array, name: string) => {
  const form = new FormData();
  form.append("file", new File([bytes], name, { type: "application/octet-stream" }));
  const encoded = new Response(form);
  const body = await encoded.text();
  return call("/api/uploads", {
    cookie: who.cookie,
    rawBody: body,
    headers: {
      "content-type": encoded.headers.get("content-type")!,
      "content-length": String(new TextEncoder().encode(body).byteLength),
    },
  });
};
const bytes = (n: number, fill = 7) => new Uint8Array(n).fill(fill);
const uploadsOf = async (who: Actor) =>
  (await env.RAW_MAIL.list({ prefix: `uploads/${who.accountId}/${who.userId}/` })).objects.map((o) => o.key);

beforeAll(async () => {
  owner = await signUp("Uploads Co");
  member = await invite(owner, "member");
  light = await invite(owner, "light");
  inboxId = await addMailbox(owner.accountId, "sales@uploads.test");
  await call(`/api/inboxes/${inboxId}/access`, {
    cookie: owner.cookie,
    method: "PUT",
    body: { userIds: [member.userId, light.userId] },
  });
  threadId = await deliver(owner.accountId, inboxId, {
    id: "question@customer.test",
    subject: "A question",
    to: "sales@uploads.test",
  });
});

describe("POST /api/uploads", () => {
  it("stores a file in R2 under the account and uploader, with what it is in its metadata", async () => {
    const r = await upload(
      member,
      new TextEncoder().encode("hello"),
      "../../etc/aevil.txt",
      "text/plain; charset=utf-8",
    );
    expect(r.status, r.text).toBe(201);
    expect(r.json.upload).toMatchObject({ filename: "aevil.txt", contentType: "text/plain", size: 5 });
    expect(r.json.upload.expiresAt).toBeGreaterThan(Date.now() + 23 * 3_600_000);
    const key = `uploads/${owner.accountId}/${member.userId}/${r.json.upload.id}`;
    const object = await env.RAW_MAIL.get(key);
    expect(object).not.toBeNull();
    expect(await object!.text()).toBe("hello");
    expect(object!.customMetadata).toMatchObject({
      filename: "aevil.txt",
      contentType: "text/plain",
      accountId: owner.accountId,
      uploadedBy: member.userId,
    });
  });

  it("takes files far above the JSON body limit, up to its own, and states the limits when refusing", async () => {
    const big = await upload(member, bytes(1_500_000), "scan.pdf", "application/pdf");
    expect(big.status, big.text).toBe(201);
    expect(big.json.upload.size).toBe(1_500_000);
    const atLimit = await upload(member, bytes(2_000_000), "exact.bin");
    expect(atLimit.status, atLimit.text).toBe(201);
    // Just over: read, and refused with the file's own size, which never reads as the limit.
    const byteOver = await upload(member, bytes(2_000_001), "edge.bin");
    expect(byteOver.status).toBe(413);
    expect(byteOver.json.error.code).toBe("file_too_large");
    expect(byteOver.json.error.message).toBe(
      "Each file is limited to 2 MB (and 2.8 MB for all files of one message); edge.bin is 2.000001 MB.",
    );
    // Further over: refused by the body limit before it is read, with the size the request declared.
    const tooBig = await uploadWithLength(member, bytes(2_100_000), "huge.bin");
    expect(tooBig.status).toBe(413);
    expect(tooBig.json.error.code).toBe("file_too_large");
    expect(tooBig.json.error.message).toBe(
      "Each file is limited to 2 MB; this upload is 2.1 MB (send one file per request).",
    );
    // Without a declared length (streamed), the refusal states the limit alone.
    const streamed = await upload(member, bytes(3_000_000), "huger.bin");
    expect(streamed.status).toBe(413);
    expect(streamed.json.error.code).toBe("file_too_large");
    expect(streamed.json.error.message).toBe("Each file is limited to 2 MB; send one file per request.");
    // JSON routes keep their 64 KB limit.
    const json = await call(`/api/threads/${threadId}/notes`, {
      cookie: member.cookie,
      body: { body: "x".repeat(70 * 1024) },
    });
    expect(json.status).toBe(413);
  });

  it("refuses bad input with a 4xx and stores nothing", async () => {
    const before = (await uploadsOf(member)).length;
    const noFile = new FormData();
    noFile.append("other", "x");
    expect((await call("/api/uploads", { cookie: member.cookie, form: noFile })).status).toBe(400);
    const asText = new FormData();
    asText.append("file", "not a file");
    expect((await call("/api/uploads", { cookie: member.cookie, form: asText })).status).toBe(400);
    const json = await call("/api/uploads", { cookie: member.cookie, body: { file: "x" } });
    expect(json.status).toBe(415);
    expect((await call("/api/uploads", { form: noFile })).status).toBe(401);
    const crossSite = new FormData();
    crossSite.append("file", new File(["x"], "x.txt"));
    expect(
      (await call("/api/uploads", { cookie: member.cookie, form: crossSite, origin: "https://evil.example" })).status,
    ).toBe(403);
    expect((await uploadsOf(member)).length).toBe(before);
  });

  it("is for people who can send: light users are refused", async () => {
    const r = await upload(light, bytes(10));
    expect(r.status).toBe(403);
    expect(await uploadsOf(light)).toEqual([]);
  });
});

describe("using uploads on a message", () => {
  const reply = (who: Actor, uploadIds: string[]) =>
    call(`/api/threads/${threadId}/reply`, {
      cookie: who.cookie,
      body: { inboxId, to: ["ana@customer.test"], text: "See attached.", uploadIds },
    });

  it("only the uploader can attach or remove an upload", async () => {
    const mine = (await upload(member, bytes(100))).json.upload.id as string;
    const theirs = await reply(owner, [mine]);
    expect(theirs.status).toBe(404);
    expect(theirs.json.error.code).toBe("upload_not_found");
    expect((await call(`/api/uploads/${mine}`, { cookie: owner.cookie, method: "DELETE" })).status).toBe(404);
    expect(await uploadsOf(member)).toContain(`uploads/${owner.accountId}/${member.userId}/${mine}`);
    expect((await call(`/api/uploads/${mine}`, { cookie: member.cookie, method: "DELETE" })).status).toBe(204);
    expect((await call(`/api/uploads/${mine}`, { cookie: member.cookie, method: "DELETE" })).status).toBe(404);
    expect(await uploadsOf(member)).not.toContain(`uploads/${owner.accountId}/${member.userId}/${mine}`);
  });

  it("states the per-message limits: total size and number of files", async () => {
    const a = (await upload(member, bytes(1_500_000))).json.upload.id as string;
    const b = (await upload(member, bytes(1_500_000))).json.upload.id as string;
    const over = await reply(member, [a, b]);
    expect(over.status).toBe(413);
    expect(over.json.error.code).toBe("attachments_too_large");
    expect(over.json.error.message).toBe(
      "All files of one message are limited to 2.8 MB together (each file to 2 MB); these come to at least 3 MB.",
    );
    const many = await reply(
      member,
      Array.from({ length: 11 }, () => a),
    );
    expect(many.status).toBe(400);
    // The files stay for another try.
    expect((await uploadsOf(member)).filter((k) => k.endsWith(a) || k.endsWith(b))).toHaveLength(2);
  });

  it("uploads expire: an expired one is refused and removed, and the next upload clears the others", async () => {
    const id = (await upload(member, bytes(10))).json.upload.id as string;
    const other = (await upload(member, bytes(10))).json.upload.id as string;
    for (const expiring of [id, other]) {
      const key = `uploads/${owner.accountId}/${member.userId}/${expiring}`;
      const object = (await env.RAW_MAIL.get(key))!;
      await env.RAW_MAIL.put(key, await object.arrayBuffer(), {
        customMetadata: { ...object.customMetadata, expiresAt: String(Date.now() - 1000) },
      });
    }
    const r = await reply(member, [id]);
    expect(r.status).toBe(410);
    expect(r.json.error.code).toBe("upload_expired");
    expect(await uploadsOf(member)).not.toContain(`uploads/${owner.accountId}/${member.userId}/${id}`);
    await upload(member, bytes(10));
    expect(await uploadsOf(member)).not.toContain(`uploads/${owner.accountId}/${member.userId}/${other}`);
  });
});

describe("how sizes are stated", () => {
  it("in megabytes of 10^6 bytes, without trailing zeros", () => {
    expect(megabytes(2_000_000)).toBe("2 MB");
    expect(megabytes(2_800_000)).toBe("2.8 MB");
    expect(megabytes(20_000_000)).toBe("20 MB");
    expect(megabytes(2_049_999)).toBe("2 MB");
  });

  it("a limit and the size that broke it never read the same", () => {
    expect(megabytesApart(2_000_000, 2_100_000)).toEqual(["2 MB", "2.1 MB"]);
    expect(megabytesApart(2_000_000, 2_049_999)).toEqual(["2 MB", "2.05 MB"]);
    expect(megabytesApart(2_000_000, 2_000_010)).toEqual(["2 MB", "2.00001 MB"]);
    expect(megabytesApart(2_000_000, 2_000_001)).toEqual(["2 MB", "2.000001 MB"]);
    expect(megabytesApart(2_800_000, 3_000_000)).toEqual(["2.8 MB", "3 MB"]);
    for (let size = 2_000_001; size < 2_000_001 + 5_000_000; size += 99_991) {
      const [limit, shown] = megabytesApart(2_000_000, size);
      expect(shown, `${size} bytes`).not.toBe(limit);
    }
  });
});
