/**
 * The page a connect invitation opens (/connect#token=…). The invitee has no Postroom account: the
 * page says what connecting grants and to whom before sending them to Google or Microsoft. As with
 * the other emailed links, nothing is spent on load, so a mail scanner opening the link is harmless.
 */
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import type { ConnectDescription, ConnectProvider } from "../../../../worker/contracts";
import { ApiError, api, messageOf } from "../../lib/api";
import { BRAND_LABELS } from "../../lib/connections";
import { formatDuration } from "../../lib/format";
import { usePageTitle } from "../../lib/hooks";
import { takeTokenFromHash } from "../../lib/link-token";
import { AuthLayout, Loading } from "../../components/Layout";
import { Notice } from "../../components/Notice";
import { ProviderLogo } from "../../components/ProviderLogo";
import { StatusIcon } from "../../components/StatusIcon";
import { rememberConnect } from "./memory";

interface DeadLink {
  title: string;
  message: string;
}

/** The answers that mean this link will never work, with what the invitee can do about it. */
function deadLink(code: string): DeadLink | null {
  switch (code) {
    case "invalid_link":
      return {
        title: "This link does not work",
        message:
          "The address may be cut short, or it comes from an older email: each new invitation replaces the link before it. Open the newest invitation email, or ask the admin who invited you for a new link.",
      };
    case "link_used":
      return {
        title: "This link was already used",
        message:
          "The mailbox was connected with this link, so there is nothing more to do here. If it needs connecting again, ask your admin to send a reconnect link.",
      };
    case "link_expired":
      return {
        title: "This link has expired",
        message:
          "Connect links work for 7 days. Ask the admin who invited you to resend the invitation; the new email has a fresh link.",
      };
    case "invite_revoked":
      return {
        title: "This invitation was withdrawn",
        message:
          "An admin withdrew the invitation, so the link no longer works. If the mailbox should still be connected, ask them for a new invitation.",
      };
    default:
      return null;
  }
}

type State =
  | { status: "loading" }
  | { status: "ready"; description: ConnectDescription }
  | { status: "dead"; dead: DeadLink }
  | { status: "error"; error: unknown };

const PROVIDERS: ConnectProvider[] = ["google", "microsoft"];

export function ConnectPage() {
  const [token] = useState(takeTokenFromHash);
  const [state, setState] = useState<State>({ status: "loading" });

  const describe = useCallback(async () => {
    if (!token) return;
    setState({ status: "loading" });
    try {
      setState({ status: "ready", description: await api.describeConnect(token) });
    } catch (err) {
      const dead = err instanceof ApiError ? deadLink(err.code) : null;
      setState(dead ? { status: "dead", dead } : { status: "error", error: err });
    }
  }, [token]);

  useEffect(() => {
    void describe();
  }, [describe]);

  const title =
    state.status === "dead"
      ? state.dead.title
      : state.status === "ready" && state.description.reconnect
        ? "Reconnect a mailbox"
        : "Connect a mailbox";
  usePageTitle(token ? title : "This link is incomplete");

  if (!token) {
    return (
      <AuthLayout>
        <h1 tabIndex={-1}>This link is incomplete</h1>
        <p class="lede">
          The address is missing its code. Open the link from the invitation email again, or copy the whole address into
          the browser.
        </p>
      </AuthLayout>
    );
  }

  if (state.status === "loading") {
    return (
      <AuthLayout>
        <Loading label="Opening the invitation…" />
      </AuthLayout>
    );
  }

  if (state.status === "dead") {
    return <DeadLinkPage dead={state.dead} />;
  }

  if (state.status === "error") {
    return (
      <AuthLayout>
        <h1 tabIndex={-1}>The invitation could not be opened</h1>
        <Notice tone="error">
          <p>{messageOf(state.error)}</p>
        </Notice>
        <button type="button" class="button button-primary button-block" onClick={() => void describe()}>
          Try again
        </button>
      </AuthLayout>
    );
  }

  return <ConnectForm token={token} description={state.description} />;
}

/** `focus` when the page replaces a form the person was using, so they hear why it changed. */
function DeadLinkPage({ dead, focus = false }: { dead: DeadLink; focus?: boolean }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (focus) heading.current?.focus();
  }, [focus]);
  return (
    <AuthLayout>
      <StatusIcon tone="error" />
      <h1 ref={heading} tabIndex={-1}>
        {dead.title}
      </h1>
      <p class="lede-strong">{dead.message}</p>
      <p class="fine-print">Nothing was connected. You can close this page.</p>
    </AuthLayout>
  );
}

function ConnectForm({ token, description: d }: { token: string; description: ConnectDescription }) {
  const needsAck = d.kind === "shared" && !d.reconnect;
  const [acknowledged, setAcknowledged] = useState(false);
  const [ackError, setAckError] = useState<string | null>(null);
  const [busy, setBusy] = useState<ConnectProvider | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [dead, setDead] = useState<DeadLink | null>(null);
  const ackRef = useRef<HTMLInputElement>(null);

  const start = async (provider: ConnectProvider) => {
    setError(null);
    if (needsAck && !acknowledged) {
      setAckError("Tick the box to confirm who will see this mailbox.");
      ackRef.current?.focus();
      return;
    }
    setBusy(provider);
    try {
      const { authorizeUrl } = await api.startConnect(token, provider, needsAck && acknowledged);
      rememberConnect({ address: d.address, kind: d.kind, provider, accountName: d.accountName });
      // Stays busy: the browser is leaving for the provider's sign-in page.
      location.assign(authorizeUrl);
    } catch (err) {
      setBusy(null);
      const code = err instanceof ApiError ? err.code : "unknown";
      const final = deadLink(code);
      if (final) return setDead(final);
      if (code === "acknowledgement_required") {
        setAckError(messageOf(err));
        ackRef.current?.focus();
      } else if (err instanceof ApiError && code === "rate_limited" && err.retryAfterSeconds) {
        setError(`Too many attempts for now. Try again in ${formatDuration(err.retryAfterSeconds)}.`);
      } else {
        setError(messageOf(err));
      }
    }
  };

  if (dead) return <DeadLinkPage dead={dead} focus />;

  return (
    <AuthLayout wide>
      <p class="eyebrow">{d.accountName}</p>
      <h1 tabIndex={-1}>{d.reconnect ? "Reconnect a mailbox to Postroom" : "Connect a mailbox to Postroom"}</h1>
      <p class="lede">
        {d.reconnect
          ? `${d.invitedBy} asked you to sign in again, so that ${d.accountName} keeps receiving and answering this mailbox’s mail in Postroom, a shared inbox for teams.`
          : `${d.invitedBy} invited you to connect this mailbox to ${d.accountName} on Postroom, a shared inbox for teams. You do not need a Postroom account.`}
      </p>
      <p class="connect-address">
        <span class="muted">Mailbox</span> <strong class="break">{d.address}</strong>
      </p>

      <section aria-labelledby="grants-title">
        <h2 id="grants-title" class="subheading">
          What connecting allows
        </h2>
        <ul class="grants">
          <li>
            <GrantIcon kind="mail" />
            <span>
              Postroom will {d.reconnect ? "again " : ""}read the mail in <strong class="break">{d.address}</strong> and
              send mail from it.
            </span>
          </li>
          <li>
            <GrantIcon kind="people" />
            <span>{d.audience}</span>
          </li>
          <li>
            <GrantIcon kind="lock" />
            <span>Postroom never sees your password: you sign in on Google’s or Microsoft’s own page.</span>
          </li>
          <li>
            <GrantIcon kind="undo" />
            <span>
              Access can be removed at any time, by an admin of {d.accountName} or from your Google or Microsoft
              account’s security settings.
            </span>
          </li>
        </ul>
      </section>

      {needsAck && (
        <div class={`check-field${ackError ? " field-invalid" : ""}`}>
          <input
            ref={ackRef}
            id="ack-shared"
            type="checkbox"
            class="checkbox"
            checked={acknowledged}
            aria-invalid={ackError ? true : undefined}
            aria-describedby={ackError ? "ack-shared-error" : undefined}
            onChange={(e) => {
              setAcknowledged(e.currentTarget.checked);
              if (e.currentTarget.checked) setAckError(null);
            }}
          />
          <label for="ack-shared">
            I understand that anyone with access on {d.accountName} will be able to read {d.address} and send as it
          </label>
          {ackError && (
            <p id="ack-shared-error" class="field-error">
              {ackError}
            </p>
          )}
        </div>
      )}

      <div class="sign-in-as">
        <p>
          {/* A reconnect link goes to whoever holds the grant, who may be a delegate of the mailbox. */}
          On the next page, sign in as <strong class="break">{d.signInAs}</strong>.
        </p>
        {needsAck && (
          <p class="muted">
            A Microsoft 365 shared mailbox has no sign-in of its own: sign in as a person who has Full Access to it.
          </p>
        )}
      </div>

      {error && (
        <Notice tone="error" title="Could not continue">
          <p>{error}</p>
        </Notice>
      )}

      <div class="provider-buttons">
        {PROVIDERS.map((p) => (
          <button
            key={p}
            type="button"
            class="button button-block button-provider"
            disabled={busy !== null}
            onClick={() => void start(p)}
          >
            <ProviderLogo provider={p} />
            {busy === p ? `Opening ${BRAND_LABELS[p]}…` : `Connect with ${BRAND_LABELS[p]}`}
          </button>
        ))}
      </div>
      <p class="fine-print">
        Not expecting this? Close this page: nothing is connected until you sign in and allow it.
      </p>
    </AuthLayout>
  );
}

const GRANT_ICONS = {
  mail: "M3 5.5h14v9H3v-9Zm0 0 7 5 7-5",
  people:
    "M7.5 9a3 3 0 1 0 0-6 3 3 0 0 0 0 6Zm-5 8c0-2.8 2.2-5 5-5s5 2.2 5 5M13 3.3a3 3 0 0 1 0 5.4M14.5 12.3c1.8.7 3 2.5 3 4.7",
  lock: "M6.5 9V6.5a3.5 3.5 0 0 1 7 0V9M4.5 9h11v8h-11V9Zm5.5 3.2v2",
  undo: "M6 7H13a4 4 0 0 1 0 8H8M6 7l3-3M6 7l3 3",
};

function GrantIcon({ kind }: { kind: keyof typeof GRANT_ICONS }) {
  return (
    <svg class="grant-icon" viewBox="0 0 20 20" aria-hidden="true" focusable="false">
      <path
        d={GRANT_ICONS[kind]}
        fill="none"
        stroke="currentColor"
        stroke-width="1.6"
        stroke-linecap="round"
        stroke-linejoin="round"
      />
    </svg>
  );
}
