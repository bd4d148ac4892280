import { DurableObject } from "cloudflare:workers";

/**
 * The jti replay cache for one partner's embed tokens. A token id is accepted once; it is remembered
 * until the token itself expires (a token past its expiry is refused anyway), so the table holds at
 * most the tokens of the last fifteen minutes. One object per partner serialises every claim, so two
 * exchanges of the same token at the same moment cannot both win.
 */
export class EmbedReplayGuard extends DurableObject {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS seen (jti TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)`);
  }

  /** True the first time `jti` is claimed (before it expires), false on every later claim. */
  async claim(jti: string, expiresAt: number): Promise<boolean> {
    if (typeof jti !== "string" || jti.length === 0 || jti.length > 200 || !Number.isFinite(expiresAt)) return false;
    const now = Date.now();
    const existing = this.ctx.storage.sql
      .exec<{ expires_at: number }>(`SELECT expires_at FROM seen WHERE jti = ?`, jti)
      .toArray()[0];
    if (existing && existing.expires_at > now) return false;
    this.ctx.storage.sql.exec(`INSERT OR REPLACE INTO seen (jti, expires_at) VALUES (?, ?)`, jti, expiresAt);
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(expiresAt + 1000);
    return true;
  }

  override async alarm(): Promise<void> {
    this.ctx.storage.sql.exec(`DELETE FROM seen WHERE expires_at <= ?`, Date.now());
    const next = this.ctx.storage.sql
      .exec<{ at: number | null }>(`SELECT min(expires_at) AS at FROM seen`)
      .toArray()[0]?.at;
    if (next !== null && next !== undefined) await this.ctx.storage.setAlarm(next + 1000);
  }
}
