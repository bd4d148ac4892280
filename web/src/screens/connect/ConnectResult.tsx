/**
 * Where the provider sends the invitee back (/connect/result?outcome=…). Every outcome is told in
 * plain words with the next step, because the person reading it usually has no Postroom account and
 * nobody to ask but the admin who invited them.
 */
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { BRAND_LABELS, scopeWords } from "../../lib/connections";
import { usePageTitle } from "../../lib/hooks";
import type { AppLocation } from "../../lib/router";
import { AuthLayout } from "../../components/Layout";
import { StatusIcon } from "../../components/StatusIcon";
import { forgetConnect, recallConnect, type PendingConnect } from "./memory";

interface Explained {
  tone: "success" | "warning" | "error";
  title: string;
  body: ComponentChildren;
  /** The steps that get the mailbox connected after all; none after a success. */
  next?: ComponentChildren;
}

const Addr = ({ children }: { children: string }) => <strong class="break">{children}</strong>;

/** "Try again" needs the token, which only the emailed link carries. */
const REOPEN = "Open the invitation email again and select its link. It still works: nothing was used up.";

function explain(outcome: string, detail: string, address: string | null, pending: PendingConnect | null): Explained {
  const target = address ?? pending?.address ?? null;
  const mailbox = target ? <Addr>{target}</Addr> : "the invited mailbox";
  const brand = pending ? BRAND_LABELS[pending.provider] : "Google or Microsoft";
  const nothingKept = "Nothing was connected, and Postroom kept no access to your account.";
  switch (outcome) {
    case "connected":
    case "reconnected":
      return {
        tone: "success",
        title: outcome === "connected" ? "Mailbox connected" : "Mailbox reconnected",
        body: (
          <>
            <p class="lede-strong">
              {outcome === "connected"
                ? "Postroom can now read and send mail for "
                : "Postroom can again read and send mail for "}
              {mailbox}
              {pending?.accountName ? `, for the team at ${pending.accountName}.` : "."}
            </p>
            <p>There is nothing more to do: you can close this page. You do not need a Postroom account for this.</p>
            <p class="fine-print">
              To stop it later, ask an admin of the team to disconnect the mailbox, or remove Postroom from your {brand}{" "}
              account’s security settings.
            </p>
          </>
        ),
      };
    case "wrong_account": {
      const signedIn = detail ? <Addr>{detail}</Addr> : "a different account";
      return {
        tone: "warning",
        title: "Signed in with a different account",
        body: (
          <>
            <p class="lede-strong">
              You signed in as {signedIn}, but this invitation is for {mailbox}. Sign in with {mailbox} itself.
            </p>
            <p>
              If {mailbox} is an alias or a group that delivers to {signedIn}, it cannot be connected on its own: ask
              your admin to invite {signedIn} instead.
            </p>
            <p class="fine-print">{nothingKept}</p>
          </>
        ),
        next: (
          <>
            <li>{REOPEN}</li>
            <li>
              On the {brand} page, choose {mailbox}. If it signs you straight in as {signedIn}, sign out there first or
              use a private window.
            </li>
          </>
        ),
      };
    }
    case "no_delegate_access": {
      const delegate = detail ? <Addr>{detail}</Addr> : "the account you used";
      return {
        tone: "warning",
        title: "No Full Access to the shared mailbox",
        body: (
          <>
            <p class="lede-strong">
              You signed in as {delegate}, which does not have Full Access to the shared mailbox {mailbox}.
            </p>
            <p class="fine-print">{nothingKept}</p>
          </>
        ),
        next: (
          <>
            <li>
              Ask your Microsoft 365 administrator to give {delegate} Full Access and Send As on {mailbox}. It can take
              up to an hour to apply.
            </li>
            <li>{REOPEN} Or sign in as someone who already has Full Access.</li>
          </>
        ),
      };
    }
    case "missing_scope": {
      const words = scopeWords(detail);
      return {
        tone: "warning",
        title: "Some permissions were not given",
        body: (
          <>
            <p class="lede-strong">
              Postroom needs every permission it asks for, and these were left out on the {brand} page:
            </p>
            {words.length > 0 && (
              <ul class="missing-scopes">
                {words.map((w) => (
                  <li key={w}>{w}</li>
                ))}
              </ul>
            )}
            <p class="fine-print">{nothingKept}</p>
          </>
        ),
        next: (
          <>
            <li>{REOPEN}</li>
            <li>On the {brand} page, leave every box ticked before you continue.</li>
          </>
        ),
      };
    }
    case "declined":
      return {
        tone: "warning",
        title: "Connection cancelled",
        body: (
          <>
            <p class="lede-strong">You cancelled on the {brand} page, so the mailbox was not connected.</p>
            <p>If you would rather not connect it, let the admin who invited you know.</p>
          </>
        ),
        next: (
          <>
            <li>If it was a mistake: {REOPEN}</li>
            <li>Then choose Allow on the {brand} page.</li>
          </>
        ),
      };
    case "invalid_state":
    case "invalid_callback":
    case "wrong_provider":
      return {
        tone: "error",
        title: "This sign-in could not be matched to this browser",
        body: (
          <>
            <p class="lede-strong">
              Postroom could not tell that this sign-in was started from this browser, so it connected nothing.
            </p>
            <p>
              This happens when the sign-in page was opened in another browser, left open for more than 10 minutes, or
              used twice.
            </p>
          </>
        ),
        next: (
          <>
            <li>{REOPEN}</li>
            <li>Finish signing in within a few minutes, in the same browser window.</li>
          </>
        ),
      };
    case "invite_unusable":
      return {
        tone: "error",
        title: "The invitation stopped working",
        body: (
          <>
            <p class="lede-strong">
              The invitation was withdrawn or expired while you were signing in, so the mailbox was not connected.
            </p>
            <p class="fine-print">{nothingKept}</p>
          </>
        ),
        next: <li>Ask the admin who invited you to send a new invitation, then use the link in the new email.</li>,
      };
    case "exchange_failed":
      return {
        tone: "error",
        title: "The sign-in could not be completed",
        body: (
          <p class="lede-strong">
            {brand} did not hand over access after you signed in. The sign-in code may have expired or already been
            used. Nothing was connected.
          </p>
        ),
        next: (
          <>
            <li>{REOPEN}</li>
            <li>If it happens again, tell the admin who invited you.</li>
          </>
        ),
      };
    case "identity_unverified":
      return {
        tone: "error",
        title: "Your account could not be confirmed",
        body: (
          <p class="lede-strong">
            Postroom could not confirm which account you signed in with, so it connected nothing. The account needs a
            verified email address at {brand}.
          </p>
        ),
        next: (
          <>
            <li>{REOPEN}</li>
            <li>If it happens again, tell the admin who invited you.</li>
          </>
        ),
      };
    case "provider_error":
      return {
        tone: "error",
        title: `${brand} reported a problem`,
        body: (
          <p class="lede-strong">
            The sign-in stopped on the {brand} side, so nothing was connected. This is often temporary, or your
            organisation may require an administrator to approve Postroom first.
          </p>
        ),
        next: (
          <>
            <li>Wait a few minutes, then: {REOPEN}</li>
            <li>
              If {brand} said an administrator must approve the app, ask your IT administrator to approve Postroom.
            </li>
          </>
        ),
      };
    case "no_offline_access":
      return {
        tone: "error",
        title: "Postroom was not given lasting access",
        body: (
          <>
            <p class="lede-strong">
              Postroom needs to keep working when you are signed out, and {brand} did not allow that this time.
            </p>
            <p class="fine-print">{nothingKept}</p>
          </>
        ),
        next: (
          <>
            <li>Remove Postroom from your {brand} account’s connected apps, if it is listed there.</li>
            <li>Then: {REOPEN}</li>
          </>
        ),
      };
    case "mailbox_unreachable":
      return {
        tone: "error",
        title: "The mailbox could not be opened",
        body: (
          <>
            <p class="lede-strong">
              You signed in, but Postroom could not open a mailbox for that account. Email may be turned off for it, or
              it may have no mailbox licence.
            </p>
            <p class="fine-print">{nothingKept}</p>
          </>
        ),
        next: (
          <>
            <li>Ask your IT administrator to check that the account has a working mailbox.</li>
            <li>Then: {REOPEN}</li>
          </>
        ),
      };
    default:
      return {
        tone: "error",
        title: "Something went wrong",
        body: (
          <p class="lede-strong">
            The mailbox was not connected, for a reason this page does not know
            {outcome ? (
              <>
                {" "}
                (<code>{outcome}</code>)
              </>
            ) : null}
            .
          </p>
        ),
        next: (
          <>
            <li>{REOPEN}</li>
            <li>If it happens again, tell the admin who invited you{outcome ? " and mention the code above" : ""}.</li>
          </>
        ),
      };
  }
}

export function ConnectResult({ loc }: { loc: AppLocation }) {
  const outcome = loc.search.get("outcome") ?? "";
  const detail = loc.search.get("detail") ?? "";
  const address = loc.search.get("address");
  const [pending] = useState(recallConnect);
  const result = explain(outcome, detail, address, pending);
  usePageTitle(result.title);

  useEffect(() => {
    if (result.tone === "success") forgetConnect();
  }, [result.tone]);

  return (
    <AuthLayout wide>
      <StatusIcon tone={result.tone} />
      <h1 tabIndex={-1}>{result.title}</h1>
      {result.body}
      {result.next && (
        <section class="next-steps" aria-labelledby="next-title">
          <h2 id="next-title" class="subheading">
            {outcome === "invite_unusable" ? "What to do" : "To try again"}
          </h2>
          <ol>{result.next}</ol>
        </section>
      )}
    </AuthLayout>
  );
}
