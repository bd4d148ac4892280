import { type HttpBindings } from "@hono/node-server";
import { type MiddlewareHandler } from "hono";

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

export function isLoopbackAddress(address: string | undefined): boolean {
  return !!address && LOOPBACK.test(address);
}

/**
 * The admin API changes the sandbox for everyone, so only the local machine may call it. The socket
 * address decides; forwarding headers are ignored on purpose.
 */
export const loopbackOnly: MiddlewareHandler<{ Bindings: HttpBindings }> = async (c, next) => {
  const env = c.env as Partial<HttpBindings> | undefined;
  const address = env?.incoming?.socket?.remoteAddress;
  if (!isLoopbackAddress(address)) return c.json({ error: "the admin API answers loopback callers only" }, 403);
  await next();
};
