/**
 * Files attached to a message being written: POST /api/uploads takes one file (multipart, field
 * `file`) and answers its upload id, which the send calls take in `uploadIds`; DELETE removes one
 * the user took off the message. Only the uploader can use or remove an upload (see mail/uploads.ts).
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { idSchema, MAX_UPLOAD_FILE_BYTES, uploadRequest } from "../contracts";
import { megabytesApart } from "../contracts/limits";
import { ApiError, notFound } from "../errors";
import { validate } from "../lib/validate";
import { deleteUpload, saveUpload } from "../mail/uploads";
import { originCheck } from "../middleware/origin-check";
import { requireSession } from "../middleware/session";
import { assertSender } from "./send";

/** The file plus room for the multipart framing (boundaries, part headers, a long file name). */
export const MAX_UPLOAD_BODY_BYTES = MAX_UPLOAD_FILE_BYTES + 16 * 1024;

export const uploadRoutes = new Hono<AppEnv>()
  .use(requireSession, originCheck)
  .post(
    "/",
    bodyLimit({
      maxSize: MAX_UPLOAD_BODY_BYTES,
      onError: (c) => {
        // Refused before the body is read, so only the request's declared length is known (the file
        // plus a little multipart framing); a chunked upload declares none.
        const length = Number(c.req.header("content-length"));
        const [limit, size] = megabytesApart(MAX_UPLOAD_FILE_BYTES, length);
        throw new ApiError(
          413,
          "file_too_large",
          Number.isFinite(length) && length > 0
            ? `Each file is limited to ${limit}; this upload is ${size} (send one file per request)`
            : `Each file is limited to ${limit}; send one file per request`,
        );
      },
    }),
    async (c, next) => {
      assertSender(c);
      const type = c.req.header("content-type") ?? "";
      if (!type.toLowerCase().startsWith("multipart/form-data")) {
        throw new ApiError(415, "unsupported_media_type", "Upload a file as multipart/form-data, in the field file");
      }
      await next();
    },
    validate("form", uploadRequest),
    async (c) => {
      const p = c.var.principal;
      // zod types z.file() with its own minimal File interface; at runtime it is the Workers File it checked.
      const file = c.req.valid("form").file as unknown as File;
      const upload = await saveUpload(c.env.RAW_MAIL, { accountId: p.accountId, userId: p.userId }, file);
      return c.json({ upload }, 201);
    },
  )
  .delete("/:uploadId", validate("param", z.object({ uploadId: idSchema })), async (c) => {
    const p = c.var.principal;
    const { uploadId } = c.req.valid("param");
    if (!(await deleteUpload(c.env.RAW_MAIL, { accountId: p.accountId, userId: p.userId }, uploadId))) {
      throw notFound("Upload");
    }
    return c.body(null, 204);
  });
