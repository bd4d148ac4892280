import { createHash } from "node:crypto";
import { baseSubject } from "../mime/parse";

/** Exchange's conversation index and id (MS-OXOMSG PidTagConversationIndex / PidTagConversationId). */

const FILETIME_EPOCH_OFFSET_MS = 11_644_473_600_000n;

function filetime(ms: number): bigint {
  return (BigInt(Math.floor(ms)) + FILETIME_EPOCH_OFFSET_MS) * 10_000n;
}

export function newConversationIndex(guid: Buffer, atMs: number): Buffer {
  const ft = filetime(atMs);
  const header = Buffer.alloc(22);
  header[0] = 0x01;
  // The header keeps the top 40 bits of the 64-bit FILETIME (bytes 1..5), then the 16-byte GUID.
  for (let i = 0; i < 5; i++) header[1 + i] = Number((ft >> BigInt(56 - 8 * i)) & 0xffn);
  guid.copy(header, 6, 0, 16);
  return header;
}

/** A reply appends one 5-byte child block carrying the time delta from the parent. */
export function childConversationIndex(parent: Buffer, atMs: number): Buffer {
  const block = Buffer.alloc(5);
  const delta = filetime(atMs) >> 18n;
  for (let i = 0; i < 5; i++) block[i] = Number((delta >> BigInt(32 - 8 * i)) & 0xffn);
  block[0] = block[0]! & 0x7f;
  return Buffer.concat([parent, block]);
}

export function parseThreadIndex(header: string | undefined): Buffer | undefined {
  if (!header) return undefined;
  const bytes = Buffer.from(header.replace(/\s+/g, ""), "base64");
  return bytes.length >= 22 && bytes[0] === 0x01 ? bytes : undefined;
}

/** Without a usable Thread-Index Exchange hashes the normalized subject, which merges same-subject mail. */
export function subjectConversationGuid(subject: string): Buffer {
  const topic = baseSubject(subject).toUpperCase().slice(0, 255);
  return createHash("md5").update(Buffer.from(topic, "utf16le")).digest();
}

export function conversationGuid(index: Buffer): Buffer {
  return index.subarray(6, 22);
}

function base64UrlPadded(b: Buffer): string {
  return b.toString("base64").replace(/\+/g, "-").replace(/\//g, "_");
}

export function formatConversationId(mailboxUserId: string, guid: Buffer): string {
  const prefix = Buffer.from(mailboxUserId.replace(/-/g, "").slice(0, 16), "hex");
  return base64UrlPadded(
    Buffer.concat([Buffer.from([0x00, 0x04, 0x24, 0x00]), prefix, Buffer.from([0x10, 0x00]), guid]),
  );
}

/** Opaque Exchange-style item ids; the rest id changes with the folder, the immutable id does not. */
export function exchangeId(kind: "rest" | "immutable" | "folder", ...parts: string[]): string {
  const digest = createHash("sha256").update(parts.join("|")).digest();
  const prefix = kind === "rest" ? "AAMkAD" : kind === "immutable" ? "AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0A" : "AAMkAD";
  const body = base64UrlPadded(Buffer.concat([digest, digest.subarray(0, kind === "folder" ? 4 : 14)]));
  return `${prefix}${body.replace(/=+$/, "")}AAA=`;
}
