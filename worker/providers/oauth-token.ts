/** The token endpoint call both identity providers share (RFC 6749 §4.1.3 / §6, form-encoded). */
import { z } from "zod";
import { form, requestJson } from "./http";
import type { TokenFailure, TokenOutcome } from "./oauth-types";

const tokenResponse = z.object({
  access_token: z.string(),
  expires_in: z.number(),
  refresh_token: z.string().optional(),
  scope: z.string().default(""),
  token_type: z.string(),
  id_token: z.string().optional(),
});

export async function requestTokens(
  endpoint: string,
  fields: Record<string, string>,
  client: { clientId: string; clientSecret: string },
  vendor: string,
  classify: (status: number, body: unknown) => TokenFailure,
): Promise<TokenOutcome> {
  const r = await requestJson<unknown>(endpoint, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: form({ ...fields, client_id: client.clientId, client_secret: client.clientSecret }),
  });
  if (!r.ok) return classify(r.status, r.body);
  const t = tokenResponse.safeParse(r.body);
  if (!t.success) {
    return {
      ok: false,
      reason: "provider_unavailable",
      providerCode: "bad_response",
      detail: `${vendor} answered with an unexpected token response`,
    };
  }
  return {
    ok: true,
    tokens: {
      accessToken: t.data.access_token,
      refreshToken: t.data.refresh_token ?? null,
      expiresAt: Date.now() + t.data.expires_in * 1000,
      scopes: t.data.scope.split(" ").filter(Boolean),
      idToken: t.data.id_token ?? null,
    },
  };
}
