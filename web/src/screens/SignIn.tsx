import { useEffect, useRef, useState } from "preact/hooks";
import type { ConnectProvider } from "../../../worker/contracts";
import { ApiError, api, messageOf } from "../lib/api";
import { BRAND_LABELS } from "../lib/connections";
import { formatDuration } from "../lib/format";
import { usePageTitle } from "../lib/hooks";
import { takeFlash } from "../lib/router";
import { emailProblem } from "../lib/validate";
import { Field, TextInput } from "../components/Field";
import { AuthLayout } from "../components/Layout";
import { Notice } from "../components/Notice";
import { ProviderLogo } from "../components/ProviderLogo";

type Mode = "signin" | "signup";

interface Sent {
  email: string;
  message: string;
  mode: Mode;
}

interface FormError {
  code: string;
  title?: string;
  message: string;
}

function describeError(err: unknown, mode: Mode): FormError {
  if (!(err instanceof ApiError)) return { code: "unknown", title: "Something went wrong", message: messageOf(err) };
  const code = err.code;
  switch (code) {
    // The server's own sentence says it all for these; a heading would only repeat it.
    case "signup_disabled":
    case "signup_domain_not_allowed":
      return { code, message: err.message };
    case "rate_limited": {
      const wait = err.retryAfterSeconds;
      return {
        code,
        title: "Too many attempts",
        message: wait ? `Please wait ${formatDuration(wait)} before asking for another link.` : err.message,
      };
    }
    case "network_error":
      return { code, title: "You seem to be offline", message: err.message };
    default:
      return {
        code,
        title: mode === "signup" ? "Could not create the workspace" : "Could not send the link",
        message: err.message,
      };
  }
}

/** Why signing in with Google or Microsoft sent the person back here (`/signin?error=<code>`). */
function providerSignInError(code: string): FormError {
  switch (code) {
    case "no_account":
      return {
        code,
        title: "No Postroom account for that address",
        message:
          "There is no Postroom user with the address you signed in with. Sign in with the address you were invited with, or ask an admin of your team to invite you.",
      };
    case "invalid_state":
      return {
        code,
        title: "Sign-in could not be matched to this browser",
        message: "It was started in another browser or took more than 10 minutes. Try again.",
      };
    case "declined":
      return {
        code,
        title: "Sign-in cancelled",
        message: "You cancelled on the provider’s page, so you are not signed in.",
      };
    case "identity_unverified":
      return {
        code,
        title: "Your address could not be confirmed",
        message:
          "The provider did not confirm your email address, so Postroom cannot tell who you are. Use an account with a verified address, or get a sign-in link by email.",
      };
    case "exchange_failed":
      return {
        code,
        title: "Sign-in did not finish",
        message: "The provider did not complete the sign-in. Try again, or get a sign-in link by email.",
      };
    default:
      return {
        code,
        title: "Sign-in did not work",
        message: "Signing in with that provider failed. Try again, or get a sign-in link by email.",
      };
  }
}

/** Reads the provider's error code once and drops it from the address, so a reload starts clean. */
function takeProviderError(): FormError | null {
  const code = new URLSearchParams(location.search).get("error");
  if (!code) return null;
  history.replaceState(history.state, "", location.pathname);
  return providerSignInError(code);
}

export function SignIn() {
  const [mode, setMode] = useState<Mode>("signin");
  const [email, setEmail] = useState("");
  const [accountName, setAccountName] = useState("");
  const [fieldErrors, setFieldErrors] = useState<{ email?: string; accountName?: string }>({});
  const [formError, setFormError] = useState<FormError | null>(takeProviderError);
  const [providerBusy, setProviderBusy] = useState<ConnectProvider | null>(null);
  const [busy, setBusy] = useState(false);
  const [sent, setSent] = useState<Sent | null>(null);
  const [blockedUntil, setBlockedUntil] = useState<number | null>(null);
  const [outbox, setOutbox] = useState(false);
  const [flash] = useState(takeFlash);
  const emailRef = useRef<HTMLInputElement>(null);
  const nameRef = useRef<HTMLInputElement>(null);
  const headingRef = useRef<HTMLHeadingElement>(null);

  const sentTitle = sent?.mode === "signup" ? "Confirm your email" : "Check your email";
  usePageTitle(sent ? sentTitle : mode === "signup" ? "Create a workspace" : "Sign in");

  useEffect(() => {
    let live = true;
    void api.devOutboxAvailable().then((ok) => live && setOutbox(ok));
    return () => {
      live = false;
    };
  }, []);

  useEffect(() => {
    if (blockedUntil === null) return;
    const timer = setTimeout(() => setBlockedUntil(null), Math.max(0, blockedUntil - Date.now()));
    return () => clearTimeout(timer);
  }, [blockedUntil]);

  // After switching modes or leaving the "sent" state the heading changes; move focus there so
  // keyboard and screen-reader users start from the top of the new form.
  const focusHeading = () => requestAnimationFrame(() => headingRef.current?.focus());

  const switchMode = (next: Mode) => {
    setMode(next);
    setFormError(null);
    setFieldErrors({});
    focusHeading();
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    const errors: { email?: string; accountName?: string } = {};
    const emailErr = emailProblem(email);
    if (emailErr) errors.email = emailErr;
    if (mode === "signup" && !accountName.trim()) errors.accountName = "Enter a name for the workspace.";
    else if (mode === "signup" && accountName.trim().length > 80) errors.accountName = "Use 80 characters or fewer.";
    setFieldErrors(errors);
    setFormError(null);
    if (errors.email) return emailRef.current?.focus();
    if (errors.accountName) return nameRef.current?.focus();

    setBusy(true);
    try {
      const res =
        mode === "signup" ? await api.signUp(email.trim(), accountName.trim()) : await api.signIn(email.trim());
      setSent({ email: email.trim().toLowerCase(), message: res.message, mode });
      focusHeading();
    } catch (err) {
      if (err instanceof ApiError && err.code === "invalid_request") {
        const fe = err.fieldErrors;
        setFieldErrors({ email: fe.email, accountName: fe.accountName });
      }
      if (err instanceof ApiError && err.retryAfterSeconds) {
        setBlockedUntil(Date.now() + err.retryAfterSeconds * 1000);
      }
      setFormError(describeError(err, mode));
    } finally {
      setBusy(false);
    }
  };

  const continueWith = async (provider: ConnectProvider) => {
    setFormError(null);
    setProviderBusy(provider);
    try {
      const { authorizeUrl } = await api.oauthSignIn(provider);
      // Stays busy: the browser is leaving for the provider's sign-in page.
      location.assign(authorizeUrl);
    } catch (err) {
      setProviderBusy(null);
      setFormError(
        err instanceof ApiError && err.status === 404
          ? {
              code: err.code,
              title: `Signing in with ${BRAND_LABELS[provider]} is not available here`,
              message: "Get a sign-in link by email instead.",
            }
          : { ...describeError(err, "signin"), title: `Could not continue with ${BRAND_LABELS[provider]}` },
      );
    }
  };

  const outboxLink = outbox && (
    <p class="dev-note">
      Running in development: sent mail is in the <a href="/dev/outbox">development outbox</a>.
    </p>
  );

  if (sent) {
    return (
      <AuthLayout>
        <h1 ref={headingRef} tabIndex={-1}>
          {sentTitle}
        </h1>
        <p class="lede">{sent.message}</p>
        <p class="sent-to">
          <span class="muted">Sent to</span> <strong class="break">{sent.email}</strong>
        </p>
        <p>The link works once, for 15 minutes. Open it in this browser to continue.</p>
        {outboxLink}
        <div class="auth-footer">
          <button
            type="button"
            class="link-button"
            onClick={() => {
              setSent(null);
              focusHeading();
            }}
          >
            Use a different address
          </button>
        </div>
      </AuthLayout>
    );
  }

  const signup = mode === "signup";
  return (
    <AuthLayout>
      <h1 ref={headingRef} tabIndex={-1}>
        {signup ? "Create a workspace" : "Sign in to Postroom"}
      </h1>
      <p class="lede">
        {signup
          ? "Start a shared inbox for your team. We will email you a link to confirm your address."
          : "We will email you a link that signs you in. No password needed."}
      </p>
      {flash && <Notice tone="info">{flash}</Notice>}
      {formError && (
        <Notice tone="error" title={formError.title}>
          <p>{formError.message}</p>
          {formError.code.startsWith("signup_") && (
            <p>
              Already a member?{" "}
              <button type="button" class="link-button" onClick={() => switchMode("signin")}>
                Sign in instead
              </button>
            </p>
          )}
        </Notice>
      )}
      <form class="stack" onSubmit={submit} noValidate aria-label={signup ? "Create a workspace" : "Sign in"}>
        <Field id="email" label="Work email" error={fieldErrors.email}>
          {(describedBy, invalid) => (
            <TextInput
              id="email"
              name="email"
              type="email"
              autocomplete="email"
              inputMode="email"
              spellcheck={false}
              required
              value={email}
              inputRef={emailRef}
              aria-describedby={describedBy}
              aria-invalid={invalid}
              onInput={(e) => setEmail(e.currentTarget.value)}
            />
          )}
        </Field>
        {signup && (
          <Field
            id="account-name"
            label="Workspace name"
            hint="Usually your company or team."
            error={fieldErrors.accountName}
          >
            {(describedBy, invalid) => (
              <TextInput
                id="account-name"
                name="accountName"
                autocomplete="organization"
                maxLength={80}
                required
                value={accountName}
                inputRef={nameRef}
                aria-describedby={describedBy}
                aria-invalid={invalid}
                onInput={(e) => setAccountName(e.currentTarget.value)}
              />
            )}
          </Field>
        )}
        <button type="submit" class="button button-primary button-block" disabled={busy || blockedUntil !== null}>
          {busy ? "Sending…" : signup ? "Create workspace" : "Email me a sign-in link"}
        </button>
      </form>
      {!signup && (
        <>
          <p class="or-divider">
            <span>or</span>
          </p>
          <div class="provider-buttons">
            {(["google", "microsoft"] as const).map((p) => (
              <button
                key={p}
                type="button"
                class="button button-block button-provider"
                disabled={providerBusy !== null}
                onClick={() => void continueWith(p)}
              >
                <ProviderLogo provider={p} />
                {providerBusy === p ? `Opening ${BRAND_LABELS[p]}…` : `Continue with ${BRAND_LABELS[p]}`}
              </button>
            ))}
          </div>
        </>
      )}
      {outboxLink}
      <div class="auth-footer">
        {signup ? (
          <p>
            Already have an account?{" "}
            <button type="button" class="link-button" onClick={() => switchMode("signin")}>
              Sign in
            </button>
          </p>
        ) : (
          <p>
            New to Postroom?{" "}
            <button type="button" class="link-button" onClick={() => switchMode("signup")}>
              Create a workspace
            </button>
          </p>
        )}
      </div>
    </AuthLayout>
  );
}
