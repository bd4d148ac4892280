/**
 * Files a user uploads while writing a message, kept in R2 until the message is sent. The key holds
 * the account and the uploader (`uploads/<account>/<user>/<id>`) and is built only from the session,
 * so an upload id is usable by nobody but the person who uploaded it; what the file is (name, type,
 * expiry) rides in the object's customMetadata. Uploads expire a day after they are made: expired
 * ones are refused when attached and removed whenever their owner uploads again.
 */
import { MAX_MESSAGE_FILE_BYTES, MAX_MESSAGE_FILES, MAX_UPLOAD_FILE_BYTES, type UploadView } from "../contracts";
import { megabytes, megabytesApart } from "../contracts/limits";
import { ApiError } from "../errors";
import { newId } from "../lib/ids";

export const UPLOAD_TTL_MS = 24 * 60 * 60 * 1000;

export interface Uploader {
  accountId: string;
  userId: string;
}

export interface UploadedFile {
  filename: string;
  contentType: string;
  data: Uint8Array;
}

const prefix = (u: Uploader) => `uploads/${u.accountId}/${u.userId}/`;
const keyOf = (u: Uploader, id: string) => `${prefix(u)}${id}`;

/** A name safe to put in a MIME header and a download: no control characters, quotes or paths. */
export function safeFilename(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? "";
  const cleaned = base
    .replace(/[\u0000-\u001f\u007f"]/g, "")
    .trim()
    .slice(0, 200);
  return cleaned || "attachment";
}

const MIME_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/i;
/** The declared type is the browser's guess and never trusted for display; it only labels the part. */
export const safeContentType = (type: string) =>
  MIME_TYPE.test(type.split(";")[0]!.trim()) ? type.split(";")[0]!.trim().toLowerCase() : "application/octet-stream";

export async function saveUpload(bucket: R2Bucket, who: Uploader, file: File): Promise<UploadView> {
  if (file.size > MAX_UPLOAD_FILE_BYTES) {
    const [limit, size] = megabytesApart(MAX_UPLOAD_FILE_BYTES, file.size);
    throw new ApiError(
      413,
      "file_too_large",
      `Each file is limited to ${limit} (and ${megabytes(MAX_MESSAGE_FILE_BYTES)} for all files of one message); ${safeFilename(file.name)} is ${size}`,
    );
  }
  await removeExpired(bucket, who);
  const view: UploadView = {
    id: newId(),
    filename: safeFilename(file.name),
    contentType: safeContentType(file.type),
    size: file.size,
    expiresAt: Date.now() + UPLOAD_TTL_MS,
  };
  await bucket.put(keyOf(who, view.id), await file.arrayBuffer(), {
    httpMetadata: { contentType: "application/octet-stream" },
    customMetadata: {
      filename: view.filename,
      contentType: view.contentType,
      expiresAt: String(view.expiresAt),
      accountId: who.accountId,
      uploadedBy: who.userId,
    },
  });
  return view;
}

export async function deleteUpload(bucket: R2Bucket, who: Uploader, id: string): Promise<boolean> {
  const head = await bucket.head(keyOf(who, id));
  if (!head) return false;
  await bucket.delete(keyOf(who, id));
  return true;
}

/**
 * The sender's uploads for a message, checked: each one theirs and not expired, and all of them,
 * with the files already on the message (`carriedBytes`), within the per-message limit.
 */
export async function takeUploads(
  bucket: R2Bucket,
  who: Uploader,
  ids: readonly string[],
  carried: { bytes: number; files: number } = { bytes: 0, files: 0 },
): Promise<UploadedFile[]> {
  const unique = [...new Set(ids)];
  if (unique.length + carried.files > MAX_MESSAGE_FILES) {
    throw new ApiError(413, "too_many_files", `A message can carry at most ${MAX_MESSAGE_FILES} files`);
  }
  const files: UploadedFile[] = [];
  let total = carried.bytes;
  for (const id of unique) {
    const object = await bucket.get(keyOf(who, id));
    if (!object) throw new ApiError(404, "upload_not_found", `The uploaded file ${id} was not found; upload it again`);
    const meta = object.customMetadata ?? {};
    if (Number(meta["expiresAt"] ?? 0) <= Date.now()) {
      await bucket.delete(keyOf(who, id));
      throw new ApiError(
        410,
        "upload_expired",
        `The uploaded file ${meta["filename"] ?? id} has expired; upload it again`,
      );
    }
    const data = new Uint8Array(await object.arrayBuffer());
    total += data.byteLength;
    if (total > MAX_MESSAGE_FILE_BYTES) {
      const [limit, size] = megabytesApart(MAX_MESSAGE_FILE_BYTES, total);
      throw new ApiError(
        413,
        "attachments_too_large",
        `All files of one message are limited to ${limit} together (each file to ${megabytes(MAX_UPLOAD_FILE_BYTES)}); these come to at least ${size}`,
      );
    }
    files.push({
      filename: meta["filename"] ?? "attachment",
      contentType: meta["contentType"] ?? "application/octet-stream",
      data,
    });
  }
  return files;
}

/** After a send: the files are in the message now (and in the mailbox's Sent folder). */
export async function releaseUploads(bucket: R2Bucket, who: Uploader, ids: readonly string[]): Promise<void> {
  if (ids.length) await bucket.delete([...new Set(ids)].map((id) => keyOf(who, id)));
}

/** Removes the uploader's expired uploads (bounded: one listing page per upload). */
async function removeExpired(bucket: R2Bucket, who: Uploader): Promise<void> {
  const listed = await bucket.list({ prefix: prefix(who), limit: 100, include: ["customMetadata"] });
  const now = Date.now();
  const expired = listed.objects.filter((o) => Number(o.customMetadata?.["expiresAt"] ?? 0) <= now).map((o) => o.key);
  if (expired.length) await bucket.delete(expired);
}
