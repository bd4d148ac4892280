/**
 * Limits the UI checks before a request and the Worker enforces, in a module without zod so the UI
 * can import the numbers without the schemas, and how both state them.
 */

/** One file uploaded for a message being written (POST /api/uploads). */
export const MAX_UPLOAD_FILE_BYTES = 2_000_000;
/** All files of one message together (uploads and forwarded ones): Graph's MIME send takes 4 MB, base64 adds a third. */
export const MAX_MESSAGE_FILE_BYTES = 2_800_000;
export const MAX_MESSAGE_FILES = 10;

/** A size in megabytes (10^6 bytes, as the limits are set), without trailing zeros: "2 MB", "2.8 MB". */
export function megabytes(bytes: number, decimals = 1): string {
  return `${(bytes / 1_000_000).toFixed(decimals).replace(/\.?0+$/, "")} MB`;
}

/**
 * A limit and a size that broke it, each with as few decimals as tell them apart, so a refusal never
 * reads "at most 2 MB; this one is 2 MB": `megabytesApart(2_000_000, 2_000_010)` is
 * `["2 MB", "2.00001 MB"]`. A megabyte has six decimal places of bytes, so sizes that differ always do.
 */
export function megabytesApart(limit: number, size: number): [string, string] {
  let decimals = 1;
  while (decimals < 6 && megabytes(limit, decimals) === megabytes(size, decimals)) decimals++;
  return [megabytes(limit, decimals), megabytes(size, decimals)];
}
