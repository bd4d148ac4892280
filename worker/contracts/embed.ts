/**
 * Contracts of the embeddable inbox: registering partner sites (Settings › Partner sites), the embed
 * token partners sign, and the widget's own API. Runtime-neutral like ./index; the widget bundle
 * imports only types from here, so zod never reaches partner pages.
 */
import { z } from "zod";
import { emailSchema, idSchema, type SentVia } from "./index";
import { isExactOrigin } from "./origin";

export type { SentVia };

export const EMBED_PERMISSIONS = ["read", "reply", "notes"] as const;
export type EmbedPermission = (typeof EMBED_PERMISSIONS)[number];

/** The longest an embed token may live, from its iat to its exp. */
export const MAX_EMBED_TOKEN_SECONDS = 15 * 60;

export const originSchema = z
  .string()
  .trim()
  .max(200)
  .refine(isExactOrigin, "must be an origin such as https://portal.example.com (scheme, host and port, no path)");

/** Where a partner publishes its public keys: https, or a loopback http URL in development. */
export const jwksUrlSchema = z
  .string()
  .trim()
  .max(500)
  .refine((s) => {
    try {
      const u = new URL(s);
      return isExactOrigin(u.origin) && u.username === "" && u.password === "";
    } catch {
      return false;
    }
  }, "must be an https URL of the partner's JWKS");

const permissionsSchema = z
  .array(z.enum(EMBED_PERMISSIONS))
  .min(1)
  .max(3)
  .refine((p) => p.includes("read"), "must include read")
  .transform((p) => EMBED_PERMISSIONS.filter((x) => p.includes(x)));

export const createPartnerRequest = z
  .object({
    name: z.string().trim().min(1).max(80),
    origins: z.array(originSchema).min(1).max(20),
    inboxId: idSchema,
    permissions: permissionsSchema,
    key: z.discriminatedUnion("type", [
      z.object({ type: z.literal("hs256") }).strict(),
      z.object({ type: z.literal("jwks"), jwksUrl: jwksUrlSchema }).strict(),
    ]),
  })
  .strict();
export type CreatePartnerRequest = z.input<typeof createPartnerRequest>;

export const updatePartnerRequest = z
  .object({
    name: z.string().trim().min(1).max(80).optional(),
    origins: z.array(originSchema).min(1).max(20).optional(),
    inboxId: idSchema.optional(),
    permissions: permissionsSchema.optional(),
  })
  .strict();
export type UpdatePartnerRequest = z.input<typeof updatePartnerRequest>;

/** Rotating an HS256 key needs nothing; a JWKS partner may move to a new URL at the same time. */
export const rotatePartnerKeyRequest = z.object({ jwksUrl: jwksUrlSchema.optional() }).strict();

export interface PartnerView {
  id: string;
  name: string;
  origins: string[];
  inbox: { id: string; address: string } | null;
  permissions: EmbedPermission[];
  keyType: "hs256" | "jwks";
  jwksUrl: string | null;
  keyVersion: number;
  createdAt: number;
  keyRotatedAt: number | null;
  revokedAt: number | null;
}

export interface PartnerListView {
  partners: PartnerView[];
  /** What partners put in `aud`: this deployment's origin. */
  audience: string;
}

/** The HS256 secret is in the answer exactly once: when it is made. */
export interface PartnerKeyResult {
  partner: PartnerView;
  secret: string | null;
}

/** The claims a partner's server signs (besides iss = partner id, aud, iat, exp, jti). */
export const embedClaims = z.object({
  iss: idSchema,
  sub: z.string().min(1).max(200),
  name: z.string().trim().min(1).max(100),
  inbox: emailSchema,
  permissions: z.array(z.enum(EMBED_PERMISSIONS)).min(1).max(3),
  contact: emailSchema.optional(),
  jti: z.string().min(8).max(200),
  iat: z.number().int(),
  exp: z.number().int(),
});

export const embedSessionRequest = z.object({ token: z.string().min(20).max(8192) }).strict();

export interface EmbedSessionView {
  accessToken: string;
  expiresAt: number;
  partner: { id: string; name: string };
  inbox: { address: string; name: string };
  user: { id: string; name: string };
  permissions: EmbedPermission[];
  contact: string | null;
}

export const embedThreadListQuery = z
  .object({
    cursor: z
      .string()
      .regex(/^\d{1,15}\.[0-9A-HJKMNP-TV-Z]{26}$/)
      .optional(),
    limit: z.coerce.number().int().min(1).max(50).default(25),
  })
  .strict();

export interface EmbedThreadSummary {
  id: string;
  subject: string;
  snippet: string;
  lastMessageAt: number;
  messageCount: number;
  from: { name: string; address: string } | null;
}

export interface EmbedMessageView {
  id: string;
  from: { name: string; address: string } | null;
  to: { name: string; address: string }[];
  receivedAt: number;
  text: string;
  hasHtml: boolean;
  sentVia: SentVia | null;
}

export interface EmbedNoteView {
  id: string;
  author: string;
  body: string;
  createdAt: number;
}

export interface EmbedThreadView {
  id: string;
  subject: string;
  version: number;
  messages: EmbedMessageView[];
  /** Present only with the notes permission. */
  notes: EmbedNoteView[] | null;
}

export const embedReplyRequest = z
  .object({
    text: z.string().trim().min(1).max(50_000),
    baseVersion: z.number().int().nonnegative().optional(),
  })
  .strict();

export const embedNoteRequest = z.object({ body: z.string().trim().min(1).max(20_000) }).strict();
