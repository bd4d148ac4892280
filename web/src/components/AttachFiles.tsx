/**
 * "Attach files" for a composer: each chosen file uploads at once with its own progress bar, and can
 * be removed (an upload in flight is stopped; a finished one is deleted on the server). The composer
 * sends the finished uploads' ids and waits while any is still uploading. What happened to a file
 * ("attached", "removed") is said in a status line under the list rather than in the app's floating
 * confirmation, which would sit over the rows' Remove buttons.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import {
  MAX_MESSAGE_FILE_BYTES,
  MAX_MESSAGE_FILES,
  MAX_UPLOAD_FILE_BYTES,
  megabytes,
  megabytesApart,
} from "../../../worker/contracts/limits";
import { messageOf } from "../lib/api";
import { removeUpload, startUpload, type UploadHandle } from "../lib/uploads";

interface Item {
  key: number;
  name: string;
  size: number;
  progress: number;
  uploadId: string | null;
  error: string | null;
  handle: UploadHandle | null;
}

export interface Attachments {
  items: Item[];
  setItems: (update: (items: Item[]) => Item[]) => void;
  /** Ids of the finished uploads, to send with the message. */
  uploadIds: string[];
  uploading: boolean;
  /** The last thing that happened to a file ("quote.pdf attached."), shown under the list. */
  status: string;
  setStatus: (status: string) => void;
  /** After a send: the server has used the uploads, so they are only forgotten here. */
  clear: () => void;
}

export function useAttachments(): Attachments {
  const [items, setState] = useState<Item[]>([]);
  const [status, setStatus] = useState("");
  const live = useRef(items);
  live.current = items;
  // Leaving the page with files still uploading stops them.
  useEffect(() => () => live.current.forEach((i) => i.handle?.abort()), []);
  return {
    items,
    setItems: (update) => setState((current) => update(current)),
    uploadIds: items.filter((i) => i.uploadId).map((i) => i.uploadId!),
    uploading: items.some((i) => i.handle !== null),
    status,
    setStatus,
    clear: () => {
      setState([]);
      setStatus("");
    },
  };
}

/** Sizes counted as the limits are, in powers of ten. */
const sizeLabel = (bytes: number) =>
  bytes >= 1_000_000 ? megabytes(bytes) : `${Math.max(1, Math.round(bytes / 1000))} KB`;

/** "at most 2 MB; this one is 2.1 MB": the two sizes always read differently. */
const overLimit = (limit: number, size: number, what: string) => {
  const [max, actual] = megabytesApart(limit, size);
  return `at most ${max}; ${what} ${actual}.`;
};

let nextKey = 1;

export function AttachFiles({ id, state }: { id: string; state: Attachments }) {
  const announce = state.setStatus;
  const input = useRef<HTMLInputElement>(null);
  const patch = (key: number, change: Partial<Item>) =>
    state.setItems((items) => items.map((i) => (i.key === key ? { ...i, ...change } : i)));

  const add = (files: FileList | null) => {
    if (!files) return;
    let count = state.items.filter((i) => !i.error).length;
    let total = state.items.reduce((n, i) => n + (i.error ? 0 : i.size), 0);
    for (const file of Array.from(files)) {
      const key = nextKey++;
      total += file.size;
      const problem =
        count >= MAX_MESSAGE_FILES
          ? `A message can carry at most ${MAX_MESSAGE_FILES} files.`
          : file.size > MAX_UPLOAD_FILE_BYTES
            ? `Each file can be ${overLimit(MAX_UPLOAD_FILE_BYTES, file.size, "this one is")}`
            : total > MAX_MESSAGE_FILE_BYTES
              ? `All files of a message together can be ${overLimit(MAX_MESSAGE_FILE_BYTES, total, "with this one they are")}`
              : null;
      if (problem) total -= file.size;
      else count += 1;
      const handle = problem ? null : startUpload(file, (progress) => patch(key, { progress }));
      state.setItems((items) => [
        ...items,
        { key, name: file.name, size: file.size, progress: 0, uploadId: null, error: problem, handle },
      ]);
      if (!handle) continue;
      handle.done.then(
        (upload) => {
          patch(key, { uploadId: upload.id, progress: 1, handle: null });
          announce(`${file.name} attached.`);
        },
        (err: unknown) => patch(key, { error: messageOf(err), handle: null }),
      );
    }
    if (input.current) input.current.value = "";
  };

  const remove = (item: Item) => {
    item.handle?.abort();
    if (item.uploadId) void removeUpload(item.uploadId).catch(() => undefined);
    state.setItems((items) => items.filter((i) => i.key !== item.key));
    announce(`${item.name} removed.`);
  };

  return (
    <div class="attach-files">
      <input
        id={id}
        ref={input}
        type="file"
        multiple
        aria-label="Attach files"
        // The button below is the control people use; the input only opens the file picker.
        tabIndex={-1}
        class="visually-hidden"
        onChange={(e) => add(e.currentTarget.files)}
      />
      <button type="button" class="button button-small" onClick={() => input.current?.click()}>
        Attach files
      </button>
      <span class="muted attach-hint">
        Up to {sizeLabel(MAX_UPLOAD_FILE_BYTES)} a file, {sizeLabel(MAX_MESSAGE_FILE_BYTES)} in all
      </span>
      {state.items.length > 0 && (
        <ul class="upload-list" aria-label="Attached files">
          {state.items.map((item) => (
            <li key={item.key} class={`upload-item${item.error ? " upload-failed" : ""}`}>
              <span class="upload-name break">{item.name}</span>
              <span class="muted">{sizeLabel(item.size)}</span>
              {item.error ? (
                <span class="upload-error" role="alert">
                  {item.error}
                </span>
              ) : (
                <progress
                  class="upload-progress"
                  max={1}
                  value={item.progress}
                  aria-label={`${item.name}: ${item.uploadId ? "uploaded" : `${Math.round(item.progress * 100)}% uploaded`}`}
                />
              )}
              <button
                type="button"
                class="button button-small"
                aria-label={`Remove ${item.name}`}
                onClick={() => remove(item)}
              >
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
      {/* Always present, so that screen readers announce each change of its text. */}
      <p class="attach-status muted" role="status">
        {state.status}
      </p>
    </div>
  );
}
