/**
 * GET /api/threads/:threadId/export — the conversation as an mbox file (its messages' raw MIME and
 * its internal notes; see threads/export.ts), for anyone who may read it. Always a download with a
 * name made only of safe characters; every export is audited.
 */
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { idSchema } from "../contracts";
import { auditInsert } from "../lib/audit";
import { validate } from "../lib/validate";
import { visibleThread } from "../threads/access";
import { exportFilename, exportThreadMbox } from "../threads/export";

/** Mounted behind the session and origin checks of /api/threads (see app.ts). */
export const threadExportRoutes = new Hono<AppEnv>().get(
  "/:threadId/export",
  validate("param", z.object({ threadId: idSchema })),
  async (c) => {
    const p = c.var.principal;
    const { threadId } = c.req.valid("param");
    const { thread } = await visibleThread(c, threadId, { includeHidden: true });
    const mbox = await exportThreadMbox(c, thread);
    await auditInsert(c, {
      accountId: p.accountId,
      action: "thread.exported",
      actor: { userId: p.userId, email: p.email },
      target: { type: "thread", id: threadId },
      details: { bytes: mbox.byteLength },
    });
    const name = exportFilename(thread.subject);
    return c.body(mbox, 200, {
      "content-type": "application/mbox",
      "content-disposition": `attachment; filename="${name}"; filename*=UTF-8''${encodeURIComponent(name)}`,
      "content-security-policy": "default-src 'none'; sandbox",
      "x-content-type-options": "nosniff",
      "cache-control": "private, no-store",
    });
  },
);
