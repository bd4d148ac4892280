/**
 * Encryption at rest for OAuth tokens held by a MailboxDO: AES-256-GCM with a random 96-bit IV, the
 * key named by an id so keys can rotate, and the account and mailbox bound in as additional
 * authenticated data, so a ciphertext copied into another mailbox's storage does not decrypt.
 *
 * Keys come from the TOKEN_ENCRYPTION_KEYS secret: `kid:base64key[,kid:base64key...]`, the first one
 * current. Ciphertexts under a retired (still listed) key decrypt and are reported as needing
 * re-encryption; an unlisted key id, a tampered ciphertext or a wrong binding fail closed.
 */

const VERSION = "v1";

export interface VaultBinding {
  accountId: string;
  mailboxId: string;
}

export type OpenResult =
  | { ok: true; plaintext: string; reencrypt: boolean }
  | { ok: false; error: "malformed" | "unknown_key" | "tampered_or_wrong_binding" };

interface KeyRing {
  currentKid: string;
  keys: Map<string, CryptoKey>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function b64encode(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function b64decode(s: string): Uint8Array {
  const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

const aad = (b: VaultBinding) => encoder.encode(`postroom-token|${b.accountId}|${b.mailboxId}`);

export class TokenVault {
  private constructor(private readonly ring: KeyRing) {}

  /** Parses and imports the key ring; throws on a malformed secret so a deployment fails loudly. */
  static async fromSecret(secret: string | undefined): Promise<TokenVault> {
    if (!secret) throw new Error("TOKEN_ENCRYPTION_KEYS is not set");
    const keys = new Map<string, CryptoKey>();
    let currentKid: string | null = null;
    for (const entry of secret
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean)) {
      const sep = entry.indexOf(":");
      const kid = entry.slice(0, sep);
      const raw = b64decode(entry.slice(sep + 1));
      if (sep <= 0 || !/^[A-Za-z0-9_-]{1,32}$/.test(kid) || raw.length !== 32) {
        throw new Error("TOKEN_ENCRYPTION_KEYS must be kid:base64(32 bytes), comma separated");
      }
      keys.set(kid, await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]));
      currentKid ??= kid;
    }
    if (!currentKid) throw new Error("TOKEN_ENCRYPTION_KEYS holds no key");
    return new TokenVault({ currentKid, keys });
  }

  get currentKid(): string {
    return this.ring.currentKid;
  }

  async seal(plaintext: string, binding: VaultBinding): Promise<string> {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const key = this.ring.keys.get(this.ring.currentKid)!;
    const ct = new Uint8Array(
      await crypto.subtle.encrypt(
        { name: "AES-GCM", iv, additionalData: aad(binding) },
        key,
        encoder.encode(plaintext),
      ),
    );
    return [VERSION, this.ring.currentKid, b64encode(iv), b64encode(ct)].join(".");
  }

  async open(sealed: string, binding: VaultBinding): Promise<OpenResult> {
    const parts = sealed.split(".");
    if (parts.length !== 4 || parts[0] !== VERSION) return { ok: false, error: "malformed" };
    const [, kid, ivText, ctText] = parts as [string, string, string, string];
    const key = this.ring.keys.get(kid);
    if (!key) return { ok: false, error: "unknown_key" };
    try {
      const plain = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: b64decode(ivText), additionalData: aad(binding) },
        key,
        b64decode(ctText),
      );
      return { ok: true, plaintext: decoder.decode(plain), reencrypt: kid !== this.ring.currentKid };
    } catch {
      return { ok: false, error: "tampered_or_wrong_binding" };
    }
  }
}
