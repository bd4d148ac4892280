import { useRef, useState } from "preact/hooks";
import type { MessageView, ThreadView } from "../../../worker/contracts";
import { ApiError, api, messageOf } from "../lib/api";
import { formatDateTime, isoDate } from "../lib/format";
import { useResource, usePageTitle } from "../lib/hooks";
import { canSend } from "../lib/roles";
import { Link } from "../lib/router";
import { useSession } from "../lib/session";
import { useAnnounce } from "../lib/status";
import { emailProblem } from "../lib/validate";
import { Field, TextInput } from "../components/Field";
import { Loading, PageHeader } from "../components/Layout";
import { Notice } from "../components/Notice";

type Address = { name: string; address: string };

const formatAddress = (a: Address) => (a.name ? `${a.name} <${a.address}>` : a.address);
const formatAddresses = (list: Address[]) => list.map(formatAddress).join(", ");

export function ThreadPage({ threadId }: { threadId: string }) {
  const thread = useResource(() => api.thread(threadId));
  const data = thread.data;
  usePageTitle(data ? data.subject || "(no subject)" : "Conversation");
  const { me } = useSession();
  const firstInbox = data?.inboxes[0];
  const back = firstInbox ? `/inbox/${encodeURIComponent(firstInbox.id)}` : "/";

  return (
    <>
      <p class="back-link">
        <Link href={back}>← {firstInbox ? firstInbox.address : "Inbox"}</Link>
      </p>
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
          <ol class="messages" aria-label="Messages">
            {data.messages.map((m) => (
              <MessageItem key={m.id} message={m} />
            ))}
          </ol>
          {canSend(me.user.role) && firstInbox && (
            <ReplyComposer thread={data} inboxId={firstInbox.id} onSent={thread.reload} />
          )}
        </>
      )}
    </>
  );
}

function MessageItem({ message: m }: { message: MessageView }) {
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
          </div>
          <time class="message-time muted" dateTime={isoDate(at)}>
            {formatDateTime(at)}
          </time>
        </header>
        {/* Text only: a message's HTML is untrusted and is never put into the page. */}
        <div class="message-text">{text || (m.hasHtml ? "(This message has only an HTML version.)" : "")}</div>
        {files.length > 0 && (
          <div class="message-attachments">
            <p class="subheading">Attachments</p>
            <ul class="attachment-list">
              {files.map((a) => (
                <li key={a.id} class="attachment break">
                  {a.filename || "Unnamed file"}
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
}: {
  thread: ThreadView;
  inboxId: string;
  onSent: () => Promise<void>;
}) {
  const announce = useAnnounce();
  const last = thread.messages[thread.messages.length - 1];
  const [to, setTo] = useState(() => defaultRecipients(thread, last));
  const [cc, setCc] = useState("");
  const [text, setText] = useState("");
  const [errors, setErrors] = useState<{ to?: string; cc?: string; text?: string }>({});
  const [formError, setFormError] = useState<{ message: string; cannotSend: boolean } | null>(null);
  const [busy, setBusy] = useState(false);
  const toRef = useRef<HTMLInputElement>(null);
  const ccRef = useRef<HTMLInputElement>(null);
  const textRef = useRef<HTMLTextAreaElement>(null);
  const from = thread.inboxes.find((i) => i.id === inboxId)?.address ?? "";

  const submit = async (e: Event) => {
    e.preventDefault();
    setFormError(null);
    const toList = parseAddresses(to);
    const ccList = parseAddresses(cc);
    const next = {
      to: toList.list.length === 0 ? "Enter at least one recipient." : (toList.problem ?? undefined),
      cc: ccList.problem ?? undefined,
      text: text.trim() ? undefined : "Write a message before sending.",
    };
    setErrors(next);
    if (next.to) return toRef.current?.focus();
    if (next.cc) return ccRef.current?.focus();
    if (next.text) return textRef.current?.focus();
    setBusy(true);
    try {
      await api.reply(thread.id, { inboxId, to: toList.list, cc: ccList.list, text });
      setText("");
      announce(`Reply sent from ${from}.`);
      await onSent();
    } catch (err) {
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
          Reply
        </h2>
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
              onInput={(e) => setText(e.currentTarget.value)}
              aria-describedby={describedBy}
              aria-invalid={invalid}
            />
          )}
        </Field>
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
            {busy ? "Sending…" : "Send reply"}
          </button>
        </div>
      </form>
    </section>
  );
}
