import { env } from "cloudflare:workers";
import PostalMime from "postal-mime";
import { vi } from "vitest";
import worker from "../../worker/index";
import type { Actor } from "./accounts";
import { call } from "./http";

export const HOSTED_DOMAIN = "hosted.postroom.test";

let counter = 0;
/** A fresh local part per call, so tests never collide on the (global) hosted address table. */
export const uniqueLocalPart = (label = "brand") => `${label}-${Date.now().toString(36)}-${++counter}`;

/** Requests a hosted address through the API as `who` and returns the new inbox. */
export async function requestHosted(
  who: Actor,
  localPart = uniqueLocalPart(),
): Promise<{ id: string; address: string }> {
  const r = await call("/api/connections/hosted", { cookie: who.cookie, body: { localPart } });
  if (r.status !== 201) throw new Error(`POST /api/connections/hosted answered ${r.status}: ${r.text}`);
  return { id: r.json.connection.id, address: r.json.connection.address };
}

export interface Delivery {
  rejected: string | null;
  reply: ReturnType<typeof vi.fn>;
  forward: ReturnType<typeof vi.fn>;
}

/**
 * Hands raw MIME to the Worker's email() handler the way Email Routing (and wrangler's local
 * /cdn-cgi/handler/email) does: envelope addresses, the parsed headers, the single-use stream.
 */
export async function deliver(
  raw: Uint8Array,
  envelope: { from: string; to: string },
  options: {
    rawSize?: number;
    stream?: ReadableStream<Uint8Array>;
    envOverrides?: Record<string, unknown>;
    /** setReject as an RPC stub has it (wrangler's local endpoint): the reason lands a moment later. */
    rpcReject?: boolean;
  } = {},
): Promise<Delivery> {
  let headers = new Headers();
  try {
    const parsed = await PostalMime.parse(raw);
    headers = new Headers(parsed.headers.map((h) => [h.key, h.value] as [string, string]));
  } catch {
    // Malformed samples still reach the handler; it must cope without the headers.
  }
  const delivery: Delivery = { rejected: null, reply: vi.fn(), forward: vi.fn() };
  const message = {
    from: envelope.from,
    to: envelope.to,
    headers,
    raw: options.stream ?? new Blob([raw]).stream(),
    rawSize: options.rawSize ?? raw.byteLength,
    canBeForwarded: true,
    setReject: (reason: string) => {
      if (!options.rpcReject) {
        delivery.rejected = reason;
        return;
      }
      return new Promise<void>((resolve) =>
        setTimeout(() => {
          delivery.rejected = reason;
          resolve();
        }, 20),
      );
    },
    forward: delivery.forward,
    reply: delivery.reply,
  } as unknown as ForwardableEmailMessage;
  await worker.email(message, (options.envOverrides ? { ...env, ...options.envOverrides } : env) as Env);
  return delivery;
}

export type EmailBuilder = Parameters<SendEmail["send"]>[0] & {
  from: string | { email: string; name: string };
  headers?: Record<string, string>;
};

/**
 * The real EMAIL binding with a record of what was handed to it (vi.spyOn cannot wrap an RPC
 * binding). `refuseNext` stands in for Cloudflare refusing a message, with its error code.
 */
export function recordingEmail() {
  const calls: EmailBuilder[] = [];
  const results: { messageId: string }[] = [];
  let refusal: string | null = null;
  const binding = {
    async send(message: EmailBuilder) {
      calls.push(message);
      if (refusal) {
        const code = refusal;
        refusal = null;
        throw Object.assign(new Error(`refused (${code})`), { code });
      }
      const result = await env.EMAIL.send(message as Parameters<SendEmail["send"]>[0]);
      results.push(result);
      return result;
    },
  };
  return {
    calls,
    results,
    env: { EMAIL: binding },
    refuseNext(code: string) {
      refusal = code;
    },
  };
}

const enc = new TextEncoder();

export function mime(o: {
  id?: string;
  subject?: string;
  from?: string;
  to: string;
  inReplyTo?: string;
  references?: string;
  body?: string;
  extra?: string[];
}): Uint8Array {
  return enc.encode(
    [
      `From: ${o.from ?? "Ana Customer <ana@customer.test>"}`,
      `To: ${o.to}`,
      `Subject: ${o.subject ?? "Hello"}`,
      "Date: Mon, 30 Nov 2026 10:00:00 +0000",
      ...(o.id ? [`Message-ID: <${o.id}>`] : []),
      ...(o.inReplyTo ? [`In-Reply-To: <${o.inReplyTo}>`] : []),
      ...(o.references ? [`References: ${o.references}`] : []),
      ...(o.extra ?? []),
      "MIME-Version: 1.0",
      "Content-Type: text/plain; charset=utf-8",
      "",
      o.body ?? "Hello there",
      "",
    ].join("\r\n"),
  );
}
