/**
 * A message's HTML body and its attachments, for someone who may see the thread.
 *
 * GET /api/threads/:threadId/messages/:messageId/body — the HTML part, sanitized on the server and
 * meant for an iframe with `sandbox` (no scripts, no same origin); the response carries its own
 * strict CSP, so even a sanitizer miss cannot run script or reach the network. Remote images stay
 * blocked unless the reader asks (?images=1); cid: images are served from R2 through the attachment
 * route.
 *
 * GET /api/threads/:threadId/attachments/:attachmentId — the file, always as a download
 * (Content-Disposition: attachment) with nosniff; only an inline image of a known safe type is
 * shown in place (for the body above).
 */
import { and, eq } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { idSchema } from "../contracts";
import { attachments, messages } from "../db/schema";
import { notFound } from "../errors";
import { auditInsert } from "../lib/audit";
import { validate } from "../lib/validate";
import { parseMail } from "../mail/parse";
import { emailBodyCsp, sanitizeEmailHtml } from "../mail/sanitize-html";
import { visibleThread } from "../threads/access";

const messageParam = z.object({ threadId: idSchema, messageId: idSchema });
/** Attachment ids are the message's id and the part's position. */
const attachmentParam = z.object({
  threadId: idSchema,
  attachmentId: z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}-\d{1,4}$/, "must be an attachment id"),
});
const bodyQuery = z.object({ images: z.enum(["0", "1"]).default("0") }).strict();
const attachmentQuery = z.object({ inline: z.enum(["0", "1"]).default("0") }).strict();

/** Image types a browser renders without running anything. SVG is not one of them. */
const INLINE_IMAGE_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);

/** Mounted behind the session and origin checks of /api/threads (see app.ts). */
export const messageContentRoutes = new Hono<AppEnv>()
  .get(
    "/:threadId/messages/:messageId/body",
    validate("param", messageParam),
    validate("query", bodyQuery),
    async (c) => {
      const { accountId } = c.var.principal;
      const { threadId, messageId } = c.req.valid("param");
      await visibleThread(c, threadId, { includeHidden: true });
      const message = await c.var.db
        .select({ rawKey: messages.rawKey, hasHtml: messages.hasHtml })
        .from(messages)
        .where(and(eq(messages.accountId, accountId), eq(messages.threadId, threadId), eq(messages.id, messageId)))
        .get();
      if (!message || !message.hasHtml) throw notFound("Message body");
      const raw = await c.env.RAW_MAIL.get(message.rawKey);
      if (!raw) throw notFound("Message body");
      const parsed = await parseMail(new Uint8Array(await raw.arrayBuffer()));
      if (!parsed.ok || parsed.mail.html === null) throw notFound("Message body");
      const files = await c.var.db
        .select({ id: attachments.id, contentId: attachments.contentId })
        .from(attachments)
        .where(and(eq(attachments.accountId, accountId), eq(attachments.messageId, messageId)))
        .all();
      const inlineImages: Record<string, string> = {};
      for (const f of files) {
        if (f.contentId) inlineImages[f.contentId] = `/api/threads/${threadId}/attachments/${f.id}?inline=1`;
      }
      const allowRemoteImages = c.req.valid("query").images === "1";
      const safe = await sanitizeEmailHtml(parsed.mail.html, { inlineImages, allowRemoteImages });
      return c.body(safe.html, 200, {
        "content-type": "text/html; charset=utf-8",
        "content-security-policy": emailBodyCsp(allowRemoteImages),
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        "cache-control": "private, no-store",
        // Tells the reader's page whether to offer "load images".
        "x-blocked-remote-images": String(safe.blockedRemoteImages),
      });
    },
  )
  .get(
    "/:threadId/attachments/:attachmentId",
    validate("param", attachmentParam),
    validate("query", attachmentQuery),
    async (c) => {
      const p = c.var.principal;
      const { threadId, attachmentId } = c.req.valid("param");
      await visibleThread(c, threadId, { includeHidden: true });
      const file = await c.var.db
        .select({
          id: attachments.id,
          filename: attachments.filename,
          mimeType: attachments.mimeType,
          r2Key: attachments.r2Key,
          threadId: messages.threadId,
        })
        .from(attachments)
        .innerJoin(messages, and(eq(messages.accountId, attachments.accountId), eq(messages.id, attachments.messageId)))
        .where(and(eq(attachments.accountId, p.accountId), eq(attachments.id, attachmentId)))
        .get();
      if (!file || file.threadId !== threadId) throw notFound("Attachment");
      const object = await c.env.RAW_MAIL.get(file.r2Key);
      if (!object) throw notFound("Attachment");
      const type = file.mimeType.toLowerCase();
      const inline = c.req.valid("query").inline === "1" && INLINE_IMAGE_TYPES.has(type);
      if (!inline) {
        await auditInsert(c, {
          accountId: p.accountId,
          action: "attachment.downloaded",
          actor: { userId: p.userId, email: p.email },
          target: { type: "thread", id: threadId },
          details: { attachmentId: file.id },
        });
      }
      return c.body(object.body, 200, {
        "content-type": inline ? type : "application/octet-stream",
        "content-disposition": `${inline ? "inline" : "attachment"}; filename*=UTF-8''${encodeURIComponent(file.filename || "attachment")}`,
        "content-security-policy": "default-src 'none'; sandbox",
        "x-content-type-options": "nosniff",
        "cache-control": "private, no-store",
      });
    },
  );
