/**
 * CORS for the widget's API: an exact allow-list. A preflight (which carries no credentials) is
 * answered for an origin some live partner registered; an actual response names the origin only when
 * it belongs to the partner the request is for. Never `*`, never credentials: the API takes a bearer
 * token, not cookies.
 */
import { and, eq, isNull } from "drizzle-orm";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env";
import { embedPartnerOrigins, embedPartners } from "../db/schema";

export const embedCors = createMiddleware<AppEnv>(async (c, next) => {
  const origin = c.req.header("origin");
  if (c.req.method === "OPTIONS") {
    const known =
      origin !== undefined &&
      origin.length <= 200 &&
      (await c.var.db
        .select({ id: embedPartners.id })
        .from(embedPartnerOrigins)
        .innerJoin(
          embedPartners,
          and(
            eq(embedPartners.accountId, embedPartnerOrigins.accountId),
            eq(embedPartners.id, embedPartnerOrigins.partnerId),
          ),
        )
        .where(and(eq(embedPartnerOrigins.origin, origin), isNull(embedPartners.revokedAt)))
        .get()) !== undefined;
    if (!known) {
      return c.json(
        { error: { code: "cors_refused", message: "This origin may not call the embedded inbox API." } },
        403,
        {
          vary: "Origin",
        },
      );
    }
    return c.body(null, 204, {
      "access-control-allow-origin": origin,
      "access-control-allow-methods": "GET, POST",
      "access-control-allow-headers": "authorization, content-type",
      "access-control-max-age": "600",
      vary: "Origin",
    });
  }
  await next();
  c.res.headers.append("vary", "Origin");
  // Set by the session check, or by the token exchange once it has verified whose token it was.
  const allowed = c.var.embed?.origins ?? [];
  if (origin && allowed.includes(origin)) c.res.headers.set("access-control-allow-origin", origin);
});
