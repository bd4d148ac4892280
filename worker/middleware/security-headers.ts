import { createMiddleware } from "hono/factory";
import { secureHeaders } from "hono/secure-headers";

/**
 * Security headers on every response the Worker writes. The app is never framed; the widget's frame
 * page sets its own per-partner frame-ancestors (routes/widget-page.ts).
 */
const defaults = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'", "'unsafe-inline'"],
    imgSrc: ["'self'", "data:"],
    connectSrc: ["'self'"],
    frameSrc: ["'self'"],
    frameAncestors: ["'none'"],
    formAction: ["'self'"],
    baseUri: ["'none'"],
    objectSrc: ["'none'"],
  },
  strictTransportSecurity: "max-age=63072000; includeSubDomains",
  referrerPolicy: "strict-origin-when-cross-origin",
  xFrameOptions: "DENY",
  xContentTypeOptions: "nosniff",
  crossOriginResourcePolicy: "same-origin",
  crossOriginOpenerPolicy: "same-origin",
  permissionsPolicy: { camera: [], microphone: [], geolocation: [] },
});

/**
 * The defaults above, except that a response which sets its own Content-Security-Policy (a mail body
 * meant for the app's own sandboxed frame) keeps it; its frame-ancestors then decides framing.
 */
export const securityHeaders = createMiddleware(async (c, next) => {
  // A WebSocket handshake's 101 carries the socket and no document: nothing to protect, nothing to rewrite.
  if (c.req.header("upgrade")?.toLowerCase() === "websocket") return next();
  let own: string | null = null;
  await defaults(c, async () => {
    await next();
    own = c.res.headers.get("content-security-policy");
  });
  if (own !== null) {
    const csp: string = own;
    c.res.headers.set("content-security-policy", csp);
    if (/frame-ancestors 'self'/.test(csp)) c.res.headers.set("x-frame-options", "SAMEORIGIN");
    // The widget names its partners' origins: X-Frame-Options cannot express that, so it must not say DENY.
    else if (/frame-ancestors (?!'none')/.test(csp)) c.res.headers.delete("x-frame-options");
  }
});
