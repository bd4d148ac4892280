/**
 * The widget's frame page, GET /widget/:partnerId: the built widget (dist/web/widget/index.html) with
 * `Content-Security-Policy: frame-ancestors` naming exactly the partner's registered origins, and
 * those origins handed to the page so it can check postMessage senders by exact equality. An unknown
 * or revoked partner gets a page nobody may frame.
 */
import { and, eq, isNull } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { idSchema } from "../contracts";
import { embedPartnerOrigins, embedPartners } from "../db/schema";
import { validate } from "../lib/validate";

const partnerParam = z.object({ partnerId: idSchema });

/** The widget's own policy; only frame-ancestors differs from partner to partner. */
export function widgetCsp(origins: string[]): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    `frame-ancestors ${origins.length > 0 ? origins.join(" ") : "'none'"}`,
  ].join("; ");
}

export const widgetPageRoutes = new Hono<AppEnv>().get("/:partnerId", validate("param", partnerParam), async (c) => {
  const partnerId = c.req.valid("param").partnerId;
  const rows = await c.var.db
    .select({ origin: embedPartnerOrigins.origin })
    .from(embedPartners)
    .innerJoin(
      embedPartnerOrigins,
      and(
        eq(embedPartnerOrigins.accountId, embedPartners.accountId),
        eq(embedPartnerOrigins.partnerId, embedPartners.id),
      ),
    )
    .where(and(eq(embedPartners.id, partnerId), isNull(embedPartners.revokedAt)))
    .all();
  const origins = rows.map((r) => r.origin);
  const page = await c.env.ASSETS.fetch(new URL("/widget/", c.req.url));
  if (page.status !== 200 || !(page.headers.get("content-type") ?? "").includes("text/html")) {
    return c.json({ error: { code: "widget_unavailable", message: "The widget is not built." } }, 503);
  }
  const html = new HTMLRewriter()
    .on('meta[name="postroom-origins"]', {
      element(el) {
        // Origins are validated as scheme://host[:port], so they hold no quotes or spaces.
        el.setAttribute("content", origins.join(" "));
      },
    })
    .on('meta[name="postroom-partner"]', {
      element(el) {
        el.setAttribute("content", partnerId);
      },
    })
    .transform(page);
  return new Response(html.body, {
    status: 200,
    headers: {
      "content-type": "text/html; charset=utf-8",
      "content-security-policy": widgetCsp(origins),
      "cache-control": "no-store",
      "referrer-policy": "no-referrer",
    },
  });
});
