/**
 * Uploading files for a message being written (POST /api/uploads, one file per request). XHR rather
 * than fetch because only XHR reports upload progress.
 */
import type { UploadView } from "../../../worker/contracts";
import { ApiError, NETWORK_ERROR_MESSAGE, api } from "./api";

export interface UploadHandle {
  done: Promise<UploadView>;
  abort: () => void;
}

export function startUpload(file: File, onProgress: (fraction: number) => void): UploadHandle {
  const xhr = new XMLHttpRequest();
  const done = new Promise<UploadView>((resolve, reject) => {
    xhr.open("POST", "/api/uploads");
    xhr.responseType = "json";
    xhr.setRequestHeader("accept", "application/json");
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && e.total > 0) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => {
      const body = xhr.response as { upload?: UploadView; error?: { code: string; message: string } } | null;
      if (xhr.status === 201 && body?.upload) return resolve(body.upload);
      reject(
        body?.error
          ? new ApiError(xhr.status, body.error.code, body.error.message)
          : new ApiError(xhr.status, "http_error", `Postroom answered with an unexpected error (${xhr.status}).`),
      );
    };
    xhr.onerror = () => reject(new ApiError(0, "network_error", NETWORK_ERROR_MESSAGE));
    xhr.onabort = () => reject(new ApiError(0, "aborted", "The upload was stopped."));
    const form = new FormData();
    form.append("file", file);
    xhr.send(form);
  });
  return { done, abort: () => xhr.abort() };
}

export const removeUpload = (id: string) => api.deleteUpload(id);
