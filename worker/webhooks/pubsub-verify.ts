/**
 * Verification of Google Cloud Pub/Sub push requests: the OIDC JWT in Authorization (RS256 only,
 * issuer, audience, service account with a verified email, expiry with 5 minutes of skew) and the
 * envelope. Pure: the key source is passed in, so every refusal is testable with local keys.
 */
import { jwtVerify, type JWTVerifyGetKey } from "jose";
import { z } from "zod";

export interface PushExpectations {
  keys: JWTVerifyGetKey;
  issuers: string[];
  audience: string;
  serviceAccount: string;
}

export type PushAuth = { ok: true } | { ok: false; reason: string };

export async function verifyPushToken(authorization: string | undefined, expect: PushExpectations): Promise<PushAuth> {
  const token = /^Bearer\s+([A-Za-z0-9_.-]+)$/.exec(authorization ?? "")?.[1];
  if (!token) return { ok: false, reason: "missing_token" };
  try {
    const { payload } = await jwtVerify(token, expect.keys, {
      algorithms: ["RS256"],
      issuer: expect.issuers,
      audience: expect.audience,
      clockTolerance: 300,
      requiredClaims: ["exp", "iat", "email"],
    });
    if (payload.email !== expect.serviceAccount || payload.email_verified !== true)
      return { ok: false, reason: "service_account" };
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: (err as { code?: string }).code ?? "invalid_token" };
  }
}

const envelopeSchema = z.object({
  message: z.object({
    data: z.string().min(1).max(10_000),
    messageId: z.string().optional(),
    message_id: z.string().optional(),
    publishTime: z.string().optional(),
    attributes: z.record(z.string(), z.string()).optional(),
  }),
  subscription: z.string().min(1).max(500),
  deliveryAttempt: z.number().optional(),
});

const gmailDataSchema = z.object({
  emailAddress: z.string().email(),
  // Documented as a string, observed as a number: both are accepted.
  historyId: z.union([z.string().regex(/^\d{1,20}$/), z.number().int().nonnegative()]).transform(String),
});

export type GmailNotice = { ok: true; emailAddress: string; historyId: string } | { ok: false; reason: string };

/** The Gmail guide says base64url and Pub/Sub sends standard base64: accept either, padded or not. */
function decodeData(data: string): string | null {
  try {
    const b64 = data.replace(/-/g, "+").replace(/_/g, "/");
    const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
    return new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
  } catch {
    return null;
  }
}

export function parseGmailNotice(body: unknown): GmailNotice {
  const envelope = envelopeSchema.safeParse(body);
  if (!envelope.success) return { ok: false, reason: "bad_envelope" };
  const text = decodeData(envelope.data.message.data);
  if (text === null) return { ok: false, reason: "bad_data" };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, reason: "bad_data" };
  }
  const data = gmailDataSchema.safeParse(json);
  if (!data.success) return { ok: false, reason: "bad_data" };
  return { ok: true, emailAddress: data.data.emailAddress.toLowerCase(), historyId: data.data.historyId };
}
