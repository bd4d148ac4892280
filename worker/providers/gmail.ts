/** Gmail API v1 client. The sync engine adds listing, history and sending on the same base. */
import { z } from "zod";
import { requestJson, type HttpResult } from "./http";

const profileSchema = z.object({
  emailAddress: z.string(),
  messagesTotal: z.number().optional(),
  threadsTotal: z.number().optional(),
  historyId: z.string(),
});
export type GmailProfile = z.infer<typeof profileSchema>;

export class GmailClient {
  constructor(
    private readonly apiBase: string,
    private readonly accessToken: string,
  ) {}

  #get<T>(path: string): Promise<HttpResult<T>> {
    return requestJson<T>(`${this.apiBase}/gmail/v1/users/me${path}`, {
      headers: { authorization: `Bearer ${this.accessToken}` },
    });
  }

  async getProfile(): Promise<{ ok: true; profile: GmailProfile } | { ok: false; status: number }> {
    const r = await this.#get<unknown>("/profile");
    if (!r.ok) return { ok: false, status: r.status };
    const p = profileSchema.safeParse(r.body);
    return p.success ? { ok: true, profile: p.data } : { ok: false, status: 502 };
  }
}
