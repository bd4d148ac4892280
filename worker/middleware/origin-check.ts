import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env";
import { ApiError } from "../errors";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Cross-site request forgery guard for cookie-authenticated routes: a state-changing request must
 * come from the app's own origin. Browsers always send Origin on such requests, so a missing one is
 * refused too.
 */
export const originCheck = createMiddleware<AppEnv>(async (c, next) => {
  if (!SAFE_METHODS.has(c.req.method)) {
    const origin = c.req.header("origin");
    if (origin !== c.var.config.appOrigin) {
      throw new ApiError(403, "bad_origin", "This request must come from the Postroom app itself");
    }
  }
  await next();
});
