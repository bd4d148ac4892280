/**
 * The Worker's entry point: HTTP through the Hono app, the queue consumer, mail for hosted
 * addresses from Email Routing, and the cron triggers' upkeep. Durable Object classes are exported
 * from here so the runtime (and `wrangler types`) can find them.
 */
import { app } from "./app";
import { handleHostedEmail } from "./hosted/inbound";
import { handleQueueBatch } from "./queue/consumer";
import { handleScheduled } from "./scheduled/handler";

export { MailboxDO } from "../durable-objects/mailbox/MailboxDO";
export { RateLimiter } from "../durable-objects/rate-limiter/RateLimiter";
export { EmbedReplayGuard } from "../durable-objects/embed-replay/EmbedReplayGuard";

export default {
  fetch: app.fetch,
  async queue(batch, env, ctx) {
    await handleQueueBatch(batch, env, ctx);
  },
  async email(message, env) {
    await handleHostedEmail(message, env);
  },
  async scheduled(controller, env) {
    await handleScheduled(controller, env);
  },
} satisfies ExportedHandler<Env>;
