import { useEffect, useRef, useState } from "preact/hooks";
import type { MessageView, NoteView, ThreadView } from "../../../worker/contracts";
import { ApiError, api, messageOf, type ThreadChanged } from "../lib/api";
import { formatDateTime, isoDate } from "../lib/format";
import { useResource, usePageTitle } from "../lib/hooks";
import { canSend } from "../lib/roles";
import { Link } from "../lib/router";
import { useSession } from "../lib/session";
import { useLive } from "../lib/live";
import { useShortcuts } from "../lib/shortcuts";
import { useAnnounce } from "../lib/status";
import { emailProblem } from "../lib/validate";
import { Field, TextInput } from "../components/Field";
import { Loading, PageHeader } from "../components/Layout";
import { AttachFiles, useAttachments } from "../components/AttachFiles";
import { Notice } from "../components/Notice";
import { NoteComposer } from "./thread/NoteComposer";
import { ThreadActions } from "./thread/ThreadActions";

type Address = { name: string; address: string };

const formatAddress = (a: Address) => (a.name ? `${a.name} <${a.address}>` : a.address);
const formatAddresses = (list: Address[]) => list.map(formatAddress).join(", ");

/** The inbox whose live channel a thread's presence goes through: the same for everyone. */
const presenceInbox = (t: ThreadView) => [...t.inboxes].sort((a, b) => (a.id < b.id ? -1 : 1))[0]?.id;

export function ThreadPage({ threadId }: { threadId: string }) {
  const thread = useResource(() => api.thread(threadId));
  const data = thread.data;
  const [viewers, setViewers] = useState<{ userId: string; name: string; typing: boolean }[]>([]);
  // r reply, a reply all, f forward (each opens the composer in that mode), e close.
  const [compose, setCompose] = useState<{ mode: ComposeMode; at: number } | null>(null);
  const announceKey = useAnnounce();
  useShortcuts({
    r: () => setCompose({ mode: "reply", at: Date.now() }),
    a: () => setCompose({ mode: "replyAll", at: Date.now() }),
    f: () => setCompose({ mode: "forward", at: Date.now() }),
    e: () => {
      if (!data || data.status === "closed") return;
      void api.updateThread(threadId, { status: "closed" }).then(
        (state) => {
          thread.setData((t: ThreadView | null) => (t ? { ...t, ...state } : t));
          announceKey("Marked Closed.");
        },
        (err: unknown) => announceKey(messageOf(err)),
      );
    },
  });
  const reloadTimer = useRef(0);
  const channel = data ? presenceInbox(data) : undefined;
  const live = useLive(
    channel ? [channel] : [],
    (e) => {
      if (e.type === "presence" && e.threadId === threadId) setViewers(e.viewers);
      if (e.type === "thread" && e.threadId === threadId) {
        // Several changes often come together (a message and its status): one reload for all.
        window.clearTimeout(reloadTimer.current);
        reloadTimer.current = window.setTimeout(() => void thread.reload(), 300);
      }
    },
    (conn) => conn.send({ type: "view", threadId }),
  );
  usePageTitle(data ? data.subject || "(no subject)" : "Conversation");
  const { me } = useSession();
  const firstInbox = data?.inboxes[0];
  const back = firstInbox ? `/inbox/${encodeURIComponent(firstInbox.id)}` : "/";

  return (
    <>
      {/* One row of fixed height for the way back and who else is here, so presence coming and going
          never moves the conversation. */}
      <div class="thread-topline">
        <p class="back-link">
          <Link href={back}>← {firstInbox ? firstInbox.address : "Inbox"}</Link>
        </p>
        <div class="presence-slot">{data && <Presence viewers={viewers.filter((v) => v.userId !== me.user.id)} />}</div>
      </div>
      {/* The heading exists from the first render so navigation can move focus to it. */}
      <PageHeader title={data ? data.subject || "(no subject)" : "Conversation"} />
      {thread.loading && !data && <Loading label="Loading conversation…" />}
      {thread.error !== null && !data && (
        <Notice tone="error" title="Could not load this conversation">
          <p>{messageOf(thread.error)}</p>
          <button type="button" class="button button-small" onClick={() => void thread.reload()}>
            Try again
          </button>
        </Notice>
      )}
      {data && (
        <>
          {data.inboxes.some((i) => i.kind === "shared") && (
            <Notice tone="info" title="This is a shared email account">
              <p>
                Everyone with access to{" "}
                {data.inboxes
                  .filter((i) => i.kind === "shared")
                  .map((i) => i.address)
                  .join(", ")}{" "}
                reads this conversation, and replies go out from that address.
              </p>
            </Notice>
          )}
          <ThreadActions
            thread={data}
            canChange={canSend(me.user.role)}
            onChanged={(state) => thread.setData((t: ThreadView | null) => (t ? { ...t, ...state } : t))}
          />
          <ol class="messages" aria-label="Messages and notes">
            {timeline(data).map((item) =>
              item.kind === "message" ? (
                <MessageItem key={item.message.id} threadId={data.id} message={item.message} />
              ) : (
                <NoteItem key={item.note.id} note={item.note} />
              ),
            )}
          </ol>
          <NoteComposer
            threadId={data.id}
            teammates={data.teammates}
            onAdded={(note) =>
              thread.setData((t: ThreadView | null) =>
                t ? { ...t, notes: [...t.notes, note], version: t.version + 1 } : t,
              )
            }
          />
          {canSend(me.user.role) && firstInbox && (
            <ReplyComposer
              thread={data}
              inboxId={firstInbox.id}
              onSent={thread.reload}
              onTyping={(typing) => live.send({ type: "typing", threadId, typing })}
              request={compose}
            />
          )}
        </>
      )}
    </>
  );
}

/** Who else has this conversation open, and who is writing a reply: so two people do not answer at once. */
function Presence({ viewers }: { viewers: { userId: string; name: string; typing: boolean }[] }) {
  if (viewers.length === 0) return null;
  return (
    <ul class="presence" aria-label="Teammates here" aria-live="polite">
      {viewers.map((v) => (
        <li key={v.userId} class={`presence-item${v.typing ? " presence-typing" : ""}`}>
          <span class="avatar avatar-small" aria-hidden="true">
            {v.name.slice(0, 2).toUpperCase()}
          </span>
          {v.name} {v.typing ? "is replying" : "is viewing"}
        </li>
      ))}
    </ul>
  );
}

type TimelineItem =
  { kind: "message"; at: number; message: MessageView } | { kind: "note"; at: number; note: NoteView };

/** Messages and internal notes in the order they happened. */
function timeline(t: ThreadView): TimelineItem[] {
  return [
    ...t.messages.map((m): TimelineItem => ({ kind: "message", at: m.receivedAt, message: m })),
    ...t.notes.map((n): TimelineItem => ({ kind: "note", at: n.createdAt, note: n })),
  ].sort((a, b) => a.at - b.at);
}

function NoteItem({ note }: { note: NoteView }) {
  return (
    <li class="message note">
      <article aria-label={`Internal note by ${note.author.name || note.author.email}`}>
        <header class="message-header">
          <p class="break">
            <span class="badge badge-note">Internal note</span>{" "}
            <span class="strong">{note.author.name || note.author.email}</span>
            {note.via && <span class="muted"> via {note.via.partnerName}</span>}
          </p>
          <time class="message-time muted" dateTime={isoDate(note.createdAt)}>
            {formatDateTime(note.createdAt)}
          </time>
        </header>
        <div class="message-text">{note.body}</div>
      </article>
    </li>
  );
}

/**
 * The HTML version of a message, sanitized by the server and shown in a sandboxed iframe (no
 * scripts, no same origin) under the response's own strict CSP. Remote images load only on request.
 */
function HtmlBody({ threadId, message }: { threadId: string; message: MessageView }) {
  const [images, setImages] = useState(false);
  const src = `/api/threads/${encodeURIComponent(threadId)}/messages/${encodeURIComponent(message.id)}/body${images ? "?images=1" : ""}`;
  return (
    <div class="message-html">
      <iframe
        class="message-frame"
        sandbox="allow-popups allow-popups-to-escape-sandbox"
        referrerpolicy="no-referrer"
        title={`Formatted message from ${message.from ? formatAddress(message.from) : "unknown sender"}`}
        src={src}
        loading="lazy"
      />
      {!images && (
        <button type="button" class="button button-small" onClick={() => setImages(true)}>
          Load remote images
        </button>
      )}
    </div>
  );
}

function MessageItem({ threadId, message: m }: { threadId: string; message: MessageView }) {
  const [formatted, setFormatted] = useState(false);
  const at = m.sentAt ?? m.receivedAt;
  const files = m.attachments.filter((a) => !a.inline);
  // Mail bodies usually end in a line break, which pre-wrap would show as an empty line.
  const text = m.text.replace(/\s+$/, "");
  return (
    <li class="message">
      <article aria-label={`From ${m.from ? formatAddress(m.from) : "unknown sender"}`}>
        <header class="message-header">
          <div class="message-who">
            <p class="break">
              <span class="strong">{m.from ? m.from.name || m.from.address : "Unknown sender"}</span>
              {m.from?.name && <span class="muted"> &lt;{m.from.address}&gt;</span>}
              {m.isAutomated && <span class="badge badge-expired">Auto-reply</span>}
              {m.isBounce && <span class="badge badge-danger">Bounce</span>}
            </p>
            {m.to.length > 0 && <p class="muted break message-recipients">To: {formatAddresses(m.to)}</p>}
            {m.cc.length > 0 && <p class="muted break message-recipients">Cc: {formatAddresses(m.cc)}</p>}
            {m.sentVia && (
              <p class="muted message-recipients">
                Sent by {m.sentVia.userName} via {m.sentVia.partnerName}
              </p>
            )}
          </div>
          <time class="message-time muted" dateTime={isoDate(at)}>
            {formatDateTime(at)}
          </time>
        </header>
        {/* The HTML is untrusted: never put into the page, only into the sandboxed frame. */}
        {formatted ? (
          <HtmlBody threadId={threadId} message={m} />
        ) : (
          <div class="message-text">{text || (m.hasHtml ? "(This message has only an HTML version.)" : "")}</div>
        )}
        {m.hasHtml && (
          <button type="button" class="button button-small button-quiet" onClick={() => setFormatted(!formatted)}>
            {formatted ? "Show plain text" : "Show formatted"}
          </button>
        )}
        {files.length > 0 && (
          <div class="message-attachments">
            <p class="subheading">Attachments</p>
            <ul class="attachment-list">
              {files.map((a) => (
                <li key={a.id} class="attachment break">
                  <a
                    href={`/api/threads/${encodeURIComponent(threadId)}/attachments/${encodeURIComponent(a.id)}`}
                    download={a.filename || "attachment"}
                  >
                    {a.filename || "Unnamed file"}
                  </a>{" "}
                  <span class="muted">({Math.max(1, Math.round(a.sizeBytes / 1024))} KB)</span>
                </li>
              ))}
            </ul>
          </div>
        )}
      </article>
    </li>
  );
}

/** Splits "a@x.com, b@y.com" into addresses; the first invalid one is reported. */
function parseAddresses(value: string): { list: string[]; problem: string | null } {
  const list = value
    .split(/[,;]/)
    .map((s) => s.trim())
    .filter(Boolean);
  for (const a of list) {
    if (emailProblem(a)) return { list, problem: `“${a}” is not an email address like name@example.com.` };
  }
  return { list, problem: null };
}

/**
 * The last message's sender; when that was the team itself (the conversation ends with our own
 * reply), its recipients instead, so a follow-up does not go to our own address.
 */
type ComposeMode = "reply" | "replyAll" | "forward";
const MODE_LABELS: Record<ComposeMode, string> = { reply: "Reply", replyAll: "Reply all", forward: "Forward" };

/** Everyone on the last message except the team's own addresses, for Reply all's Cc. */
function replyAllCc(thread: ThreadView, last: MessageView | undefined, to: string): string {
  if (!last) return "";
  const skip = new Set([...thread.inboxes.map((i) => i.address.toLowerCase()), ...to.toLowerCase().split(/,\s*/)]);
  return [...last.to, ...last.cc]
    .map((a) => a.address)
    .filter((a, i, all) => !skip.has(a.toLowerCase()) && all.indexOf(a) === i)
    .join(", ");
}

function defaultRecipients(thread: ThreadView, last: MessageView | undefined): string {
  if (!last?.from) return "";
  const ours = new Set(thread.inboxes.map((i) => i.address.toLowerCase()));
  if (!ours.has(last.from.address.toLowerCase())) return last.from.address;
  return last.to
    .map((a) => a.address)
    .filter((a) => !ours.has(a.toLowerCase()))
    .join(", ");
}

function sendErrorMessage(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 403) return "Your role cannot send mail. Ask an owner or admin if you need to reply.";
    if (err.code === "inbox_unavailable" || err.code === "inbox_cannot_send") {
      return `This inbox cannot send right now. ${err.message}`;
    }
  }
  return messageOf(err);
}

function ReplyComposer({
  thread,
  inboxId,
  onSent,
  onTyping,
  request,
}: {
  thread: ThreadView;
  inboxId: string;
  onSent: () => Promise<void>;
  /** Tells teammates a reply is being written here (true while the message has text). */
  onTyping: (typing: boolean) => void;
  /** A keyboard shortcut asked for this mode: switch to it and put the cursor in the message. */
  request: { mode: ComposeMode; at: number } | null;
}) {
  const announce = useAnnounce();
  const last = thread.messages[thread.messages.length - 1];
  const [mode, setModeState] = useState<ComposeMode>("reply");
  const [to, setTo] = useState(() => defaultRecipients(thread, last));
  const [cc, setCc] = useState("");
  const setMode = (next: ComposeMode) => {
    setModeState(next);
    const replyTo = defaultRecipients(thread, last);
    setTo(next === "forward" ? "" : replyTo);
    setCc(next === "replyAll" ? replyAllCc(thread, last, replyTo) : "");
  };
  const [text, setText] = useState("");
  const [errors, setErrors] = useState<{ to?: string; cc?: string; text?: string }>({});
  const [formError, setFormError] = useState<{ message: string; cannotSend: boolean } | null>(null);
  // Set when the server refused the reply because the conversation moved on meanwhile.
  const [changed, setChanged] = useState<ThreadChanged | null>(null);
  const [busy, setBusy] = useState(false);
  // The version the draft was started against. Live updates refresh `thread` while someone types, so
  // sending the refreshed version would let a message that arrived mid-draft pass unreviewed.
  const draftBase = useRef<number | null>(null);
  const files = useAttachments();
  const toRef = useRef<HTMLInputElement>(null);
  const ccRef = useRef<HTMLInputElement>(null);
  const textRef = useRef<HTMLTextAreaElement>(null);
  const from = thread.inboxes.find((i) => i.id === inboxId)?.address ?? "";
  useEffect(() => {
    if (!request) return;
    setMode(request.mode);
    (request.mode === "forward" ? toRef.current : textRef.current)?.focus();
  }, [request?.at]);

  const submit = async (e: Event) => {
    e.preventDefault();
    setFormError(null);
    const toList = parseAddresses(to);
    const ccList = parseAddresses(cc);
    const next = {
      to: toList.list.length === 0 ? "Enter at least one recipient." : (toList.problem ?? undefined),
      cc: ccList.problem ?? undefined,
      // A forward may go without a note of its own.
      text: text.trim() || mode === "forward" ? undefined : "Write a message before sending.",
    };
    setErrors(next);
    if (next.to) return toRef.current?.focus();
    if (next.cc) return ccRef.current?.focus();
    if (next.text) return textRef.current?.focus();
    if (files.uploading) {
      setFormError({ message: "Wait until the files have finished uploading, then send.", cannotSend: false });
      return;
    }
    setBusy(true);
    try {
      const input = {
        inboxId,
        to: toList.list,
        cc: ccList.list,
        text,
        baseVersion: changed?.version ?? draftBase.current ?? thread.version,
        uploadIds: files.uploadIds,
      };
      if (mode === "forward") await api.forward(thread.id, input);
      else await api.reply(thread.id, input);
      files.clear();
      setText("");
      setChanged(null);
      draftBase.current = null;
      onTyping(false);
      announce(`${mode === "forward" ? "Forwarded" : "Reply sent"} from ${from}.`);
      if (mode === "forward") setMode("reply");
      await onSent();
    } catch (err) {
      if (err instanceof ApiError && err.code === "thread_changed") {
        setChanged(err.details as ThreadChanged);
        announce("New activity arrived in this conversation. Review it, then send again.");
        void onSent();
        return;
      }
      const fields = err instanceof ApiError ? err.fieldErrors : {};
      const fieldKey = (k: string) => Object.keys(fields).find((p) => p === k || p.startsWith(`${k}.`));
      const toKey = fieldKey("to");
      const ccKey = fieldKey("cc");
      const textKey = fieldKey("text");
      if (toKey || ccKey || textKey) {
        setErrors({
          to: toKey ? `To: ${fields[toKey]}` : undefined,
          cc: ccKey ? `Cc: ${fields[ccKey]}` : undefined,
          text: textKey ? `Message: ${fields[textKey]}` : undefined,
        });
      }
      setFormError({
        message: sendErrorMessage(err),
        cannotSend: err instanceof ApiError && (err.code === "inbox_unavailable" || err.code === "inbox_cannot_send"),
      });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="panel composer" aria-labelledby="composer-title">
      <div class="panel-header">
        <h2 id="composer-title" class="composer-title">
          {MODE_LABELS[mode]}
        </h2>
        <div class="segmented" role="group" aria-label="Compose">
          {(Object.keys(MODE_LABELS) as ComposeMode[]).map((m) => (
            <button
              key={m}
              type="button"
              class={`button button-small${mode === m ? " button-selected" : ""}`}
              aria-pressed={mode === m}
              onClick={() => setMode(m)}
            >
              {MODE_LABELS[m]}
            </button>
          ))}
        </div>
        {from && <p class="panel-note break">Sends from {from}</p>}
      </div>
      <form class="panel-body composer-form" onSubmit={(e) => void submit(e)} noValidate>
        <Field id="reply-to" label="To" hint="Separate addresses with commas." error={errors.to}>
          {(describedBy, invalid) => (
            <TextInput
              id="reply-to"
              inputRef={toRef}
              type="text"
              autocomplete="off"
              value={to}
              onInput={(e) => setTo(e.currentTarget.value)}
              aria-describedby={describedBy}
              aria-invalid={invalid}
            />
          )}
        </Field>
        <Field id="reply-cc" label="Cc (optional)" error={errors.cc}>
          {(describedBy, invalid) => (
            <TextInput
              id="reply-cc"
              inputRef={ccRef}
              type="text"
              autocomplete="off"
              value={cc}
              onInput={(e) => setCc(e.currentTarget.value)}
              aria-describedby={describedBy}
              aria-invalid={invalid}
            />
          )}
        </Field>
        <Field id="reply-text" label="Message" error={errors.text}>
          {(describedBy, invalid) => (
            <textarea
              id="reply-text"
              ref={textRef}
              class="input textarea"
              rows={8}
              value={text}
              onInput={(e) => {
                const next = e.currentTarget.value;
                if (!next.trim()) draftBase.current = null;
                else draftBase.current ??= thread.version;
                if (Boolean(next.trim()) !== Boolean(text.trim())) onTyping(Boolean(next.trim()));
                setText(next);
              }}
              aria-describedby={describedBy}
              aria-invalid={invalid}
            />
          )}
        </Field>
        <AttachFiles id="reply-files" state={files} />
        {changed && (
          <Notice tone="warning" title="New activity since you started this reply">
            <p>Your reply was not sent. Here is what arrived meanwhile; send again when you have read it.</p>
            <ul class="changed-list">
              {changed.messages.map((m) => (
                <li key={m.id}>
                  <span class="strong">{m.from ? m.from.name || m.from.address : "Unknown sender"}:</span>{" "}
                  {m.text.trim().slice(0, 300)}
                </li>
              ))}
              {changed.notes.map((n) => (
                <li key={n.id}>
                  <span class="strong">Note by {n.author.name || n.author.email}:</span> {n.body.slice(0, 300)}
                </li>
              ))}
            </ul>
          </Notice>
        )}
        {formError && (
          <Notice tone="error" title="The reply was not sent">
            <p>{formError.message}</p>
            {formError.cannotSend && (
              <p>
                An owner or admin can reconnect the mailbox from{" "}
                <Link href="/settings/connections">Settings › Inbox connections</Link>.
              </p>
            )}
          </Notice>
        )}
        <div>
          <button type="submit" class="button button-primary" disabled={busy}>
            {busy ? "Sending…" : changed ? "Send anyway" : mode === "forward" ? "Forward" : "Send reply"}
          </button>
        </div>
      </form>
    </section>
  );
}
