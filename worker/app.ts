/**
 * The edge app: one Hono sub-app per resource, mounted under /api. Order matters: security headers
 * wrap everything, the body limit runs before anything reads a body, and the request context
 * (configuration, D1 session) exists before any route.
 */
import { Hono } from "hono";
import { originCheck } from "./middleware/origin-check";
import { requireSession } from "./middleware/session";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "./app-env";
import { ApiError, errorResponse } from "./errors";
import { requestContext } from "./middleware/request-context";
import { securityHeaders } from "./middleware/security-headers";
import { auditRoutes } from "./routes/audit";
import { callbackRoutes, connectRoutes } from "./routes/connect";
import { connectionRoutes } from "./routes/connections";
import { authRoutes } from "./routes/auth";
import { devRoutes } from "./routes/dev";
import { inboxRoutes } from "./routes/inboxes";
import { inviteRoutes } from "./routes/invites";
import { meRoutes } from "./routes/me";
import { oauthSigninCallbackRoutes, oauthSigninStartRoutes } from "./routes/oauth-signin";
import { sendRoutes } from "./routes/send";
import { openApiDocument } from "./openapi";
import { messageContentRoutes } from "./routes/message-content";
import { threadActionRoutes } from "./routes/thread-actions";
import { threadExportRoutes } from "./routes/thread-export";
import { threadDetailRoutes } from "./routes/threads";
import { uploadRoutes } from "./routes/uploads";
import { userRoutes } from "./routes/users";
import { embedRoutes } from "./routes/embed";
import { partnerRoutes } from "./routes/partners";
import { widgetPageRoutes } from "./routes/widget-page";
import { googleWebhookRoutes } from "./webhooks/google";
import { microsoftWebhookRoutes } from "./webhooks/microsoft";

/** JSON request bodies are small; anything bigger is refused before it is read. */
export const MAX_JSON_BODY_BYTES = 64 * 1024;

const jsonBodyLimit = bodyLimit({
  maxSize: MAX_JSON_BODY_BYTES,
  onError: () => {
    throw new ApiError(413, "payload_too_large", `Request bodies are limited to ${MAX_JSON_BODY_BYTES} bytes`);
  },
});

/** Everything under /api/threads: one session check and one origin check for reading, sending and acting. */
const threadApi = new Hono<AppEnv>()
  .use(requireSession, originCheck)
  .route("/", threadDetailRoutes)
  .route("/", sendRoutes)
  .route("/", threadActionRoutes)
  .route("/", messageContentRoutes)
  .route("/", threadExportRoutes);

export const app = new Hono<AppEnv>()
  .use(securityHeaders)
  .use("/api/*", (c, next) =>
    // File uploads have their own, larger limit (routes/uploads.ts).
    c.req.method === "POST" && c.req.path === "/api/uploads" ? next() : jsonBodyLimit(c, next),
  )
  .use(
    "/webhooks/*",
    bodyLimit({
      maxSize: MAX_JSON_BODY_BYTES,
      onError: () => {
        throw new ApiError(413, "payload_too_large", `Request bodies are limited to ${MAX_JSON_BODY_BYTES} bytes`);
      },
    }),
  )
  .use(requestContext)
  .get("/healthz", (c) => c.json({ ok: true }))
  .route("/api/auth/oauth", oauthSigninStartRoutes)
  .route("/api/auth", authRoutes)
  .route("/api/me", meRoutes)
  .route("/api/users", userRoutes)
  .route("/api/invites", inviteRoutes)
  .route("/api/inboxes", inboxRoutes)
  .route("/api/threads", threadApi)
  .route("/api/audit", auditRoutes)
  .route("/api/uploads", uploadRoutes)
  .route("/api/connections", connectionRoutes)
  .route("/api/connect", connectRoutes)
  .route("/api/partners", partnerRoutes)
  .route("/api/embed", embedRoutes)
  .route("/widget", widgetPageRoutes)
  .route("/auth/callback", callbackRoutes)
  .route("/auth/signin/callback", oauthSigninCallbackRoutes)
  .route("/webhooks/google", googleWebhookRoutes)
  .route("/webhooks/microsoft", microsoftWebhookRoutes)
  .route("/dev", devRoutes);

/** The OpenAPI document of everything above, built from the routes and their validators. */
app.get("/api/openapi.json", (c) => c.json(openApiDocument(app.routes, c.var.config.appOrigin)));

app.notFound((c) => c.json({ error: { code: "route_not_found", message: "No such route." } }, 404));
app.onError((err, c) => errorResponse(c, err));

export type AppType = typeof app;
