import { describe, expect, it } from "vitest";
import { TokenVault } from "../../durable-objects/mailbox/token-vault";

const key = (byte: number) => btoa(String.fromCharCode(...new Uint8Array(32).fill(byte)));
const binding = { accountId: "01ACCOUNTA0000000000000000", mailboxId: "01MA1LB0XA0000000000000000" };

describe("token vault", () => {
  it("round-trips and never leaves the plaintext in the sealed form", async () => {
    const vault = await TokenVault.fromSecret(`k1:${key(1)}`);
    const sealed = await vault.seal("1//refresh-token-value", binding);
    expect(sealed).not.toContain("refresh-token-value");
    expect(sealed.startsWith("v1.k1.")).toBe(true);
    expect(await vault.open(sealed, binding)).toEqual({
      ok: true,
      plaintext: "1//refresh-token-value",
      reencrypt: false,
    });
    // A fresh IV every time: sealing twice gives different ciphertexts.
    expect(await vault.seal("x", binding)).not.toBe(await vault.seal("x", binding));
  });

  it("fails closed on a tampered ciphertext", async () => {
    const vault = await TokenVault.fromSecret(`k1:${key(1)}`);
    const sealed = await vault.seal("secret", binding);
    const parts = sealed.split(".");
    const ct = parts[3]!;
    parts[3] = (ct[0] === "A" ? "B" : "A") + ct.slice(1);
    expect(await vault.open(parts.join("."), binding)).toEqual({ ok: false, error: "tampered_or_wrong_binding" });
    expect(await vault.open("garbage", binding)).toEqual({ ok: false, error: "malformed" });
  });

  it("fails closed when the ciphertext is moved to another account or mailbox", async () => {
    const vault = await TokenVault.fromSecret(`k1:${key(1)}`);
    const sealed = await vault.seal("secret", binding);
    expect(await vault.open(sealed, { ...binding, mailboxId: "01OTHERMA1LB0X000000000000" })).toMatchObject({
      ok: false,
    });
    expect(await vault.open(sealed, { ...binding, accountId: "01OTHERACC0VNT000000000000" })).toMatchObject({
      ok: false,
    });
  });

  it("decrypts under a retired key and asks for re-encryption; an unlisted key id fails closed", async () => {
    const old = await TokenVault.fromSecret(`k1:${key(1)}`);
    const sealed = await old.seal("secret", binding);
    const rotated = await TokenVault.fromSecret(`k2:${key(2)},k1:${key(1)}`);
    expect(await rotated.open(sealed, binding)).toEqual({ ok: true, plaintext: "secret", reencrypt: true });
    const resealed = await rotated.seal("secret", binding);
    expect(resealed.startsWith("v1.k2.")).toBe(true);
    const retiredGone = await TokenVault.fromSecret(`k2:${key(2)}`);
    expect(await retiredGone.open(sealed, binding)).toEqual({ ok: false, error: "unknown_key" });
  });

  it("refuses a malformed key secret", async () => {
    await expect(TokenVault.fromSecret(undefined)).rejects.toThrow(/not set/);
    await expect(TokenVault.fromSecret("k1:c2hvcnQ=")).rejects.toThrow(/32 bytes/);
    await expect(TokenVault.fromSecret("nokid")).rejects.toThrow();
  });
});
