/** Microsoft Graph v1.0 client, always asking for immutable ids so a moved message keeps its id. */
import { z } from "zod";
import { requestJson, type HttpResult } from "./http";

const userSchema = z.object({
  id: z.string(),
  mail: z.string().nullable().optional(),
  userPrincipalName: z.string().optional(),
});

export class GraphClient {
  constructor(
    private readonly apiBase: string,
    private readonly accessToken: string,
  ) {}

  #get<T>(path: string): Promise<HttpResult<T>> {
    return requestJson<T>(`${this.apiBase}/v1.0${path}`, {
      headers: { authorization: `Bearer ${this.accessToken}`, prefer: 'IdType="ImmutableId"' },
    });
  }

  async me(): Promise<{ ok: true; id: string; address: string } | { ok: false; status: number }> {
    const r = await this.#get<unknown>("/me?$select=id,mail,userPrincipalName");
    if (!r.ok) return { ok: false, status: r.status };
    const u = userSchema.safeParse(r.body);
    if (!u.success) return { ok: false, status: 502 };
    return { ok: true, id: u.data.id, address: (u.data.mail ?? u.data.userPrincipalName ?? "").toLowerCase() };
  }

  /** Whether the signed-in delegate can read another mailbox (a Microsoft 365 shared mailbox). */
  async canReadMailbox(address: string): Promise<boolean> {
    const r = await this.#get<unknown>(`/users/${encodeURIComponent(address)}/mailFolders/inbox?$select=id`);
    return r.ok;
  }
}
