import { type Context, type MiddlewareHandler } from "hono";
import { type AppEnv, type EmulatorContext } from "../context";
import { googleError } from "../google/errors";
import { graphError, throttled } from "../microsoft/graph-errors";
import { aadstsBody } from "../microsoft/errors";
import { type FaultTarget, targetOf } from "./faults";

function burstResponse(c: Context, ctx: EmulatorContext, target: FaultTarget, status: number): Response {
  if (status === 429 && target === "gmail") {
    return googleError(c, 429, "Too many concurrent requests for user", "rateLimitExceeded", "RESOURCE_EXHAUSTED", {
      domain: "usageLimits",
      headers: { "Retry-After": "1" },
    });
  }
  if (status === 429 && target === "graph") return throttled(c, 1);
  const code = (status >= 500 && status <= 599 ? status : 503) as 500 | 502 | 503 | 504;
  switch (target) {
    case "gmail":
      return code === 503
        ? googleError(c, 503, "The service is currently unavailable.", "backendError", "UNAVAILABLE")
        : googleError(c, code, "Internal error encountered.", "backendError", "INTERNAL");
    case "graph": {
      const name = { 500: "InternalServerError", 502: "BadGateway", 503: "ServiceUnavailable", 504: "GatewayTimeout" }[
        code
      ];
      return graphError(
        c,
        code,
        name,
        "The service is temporarily unavailable. Please retry later.",
        code === 503 ? { "Retry-After": "1" } : {},
      );
    }
    case "google-oauth":
      return c.json({ error: "internal_failure", error_description: "Backend Error" }, code);
    case "microsoft-identity":
      return c.json(
        aadstsBody(
          90033,
          "temporarily_unavailable",
          "A transient error has occurred. Please try again.",
          ctx.clock.now(),
          `${ctx.baseUrl()}/microsoft`,
        ),
        code,
      );
  }
}

/**
 * Injected 5xx bursts for every provider surface, and injected latency for the OAuth endpoints (Gmail
 * and Graph apply theirs inside their concurrency gates so that slow calls overlap for real).
 */
export function faultMiddleware(ctx: EmulatorContext): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const target = targetOf(c.req.path);
    if (!target) return next();
    const status = ctx.faults.takeBurst(target, c.req.path);
    if (status !== undefined) return burstResponse(c, ctx, target, status);
    if (target === "google-oauth" || target === "microsoft-identity") {
      const ms = ctx.faults.takeLatency(target, c.req.path);
      if (ms) await new Promise((r) => setTimeout(r, ms));
    }
    return next();
  };
}
