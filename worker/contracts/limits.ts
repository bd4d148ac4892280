/**
 * Limits the UI checks before a request and the Worker enforces, in a module without zod so the UI
 * can import the numbers without the schemas.
 */

/** One file uploaded for a message being written (POST /api/uploads). */
export const MAX_UPLOAD_FILE_BYTES = 2 * 1024 * 1024;
/** All files of one message together (uploads and forwarded ones): Graph's MIME send takes 4 MB, base64 adds a third. */
export const MAX_MESSAGE_FILE_BYTES = 2_800_000;
export const MAX_MESSAGE_FILES = 10;
