/**
 * A partner's HS256 secret: made once, shown once, stored only sealed with the deployment's token
 * key ring (the same AES-GCM vault as OAuth tokens), bound to the account and the partner so a sealed
 * value copied to another partner's row does not open.
 */
import { TokenVault, type VaultBinding } from "../../durable-objects/mailbox/token-vault";
import { randomToken } from "../lib/crypto";

const binding = (accountId: string, partnerId: string): VaultBinding => ({
  accountId,
  mailboxId: `embed-partner:${partnerId}`,
});

export async function newPartnerSecret(
  env: Env,
  accountId: string,
  partnerId: string,
): Promise<{ secret: string; sealed: string }> {
  const secret = `prs_${randomToken()}`;
  const vault = await TokenVault.fromSecret(env.TOKEN_ENCRYPTION_KEYS);
  return { secret, sealed: await vault.seal(secret, binding(accountId, partnerId)) };
}

/** The secret's bytes as partners sign with them (the UTF-8 of the shown string), or null. */
export async function openPartnerSecret(
  env: Env,
  accountId: string,
  partnerId: string,
  sealed: string,
): Promise<Uint8Array | null> {
  const vault = await TokenVault.fromSecret(env.TOKEN_ENCRYPTION_KEYS);
  const opened = await vault.open(sealed, binding(accountId, partnerId));
  return opened.ok ? new TextEncoder().encode(opened.plaintext) : null;
}
