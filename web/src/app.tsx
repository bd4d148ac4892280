import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { Me } from "../../worker/contracts";
import { ApiError, api, messageOf, setUnauthorizedHandler } from "./lib/api";
import { isManager } from "./lib/roles";
import { navigate, useLocation, type AppLocation } from "./lib/router";
import { SessionContext, type Session } from "./lib/session";
import { StatusContext, type Announce } from "./lib/status";
import { AppFrame, type StatusMessage } from "./components/AppFrame";
import { AuthLayout, Loading } from "./components/Layout";
import { Notice } from "./components/Notice";
import { AuditLog } from "./screens/AuditLog";
import { ConnectPage } from "./screens/connect/ConnectPage";
import { ConnectResult } from "./screens/connect/ConnectResult";
import { ConnectionsPage } from "./screens/connections/ConnectionsPage";
import { EmailLink } from "./screens/EmailLink";
import { Inbox } from "./screens/Inbox";
import { NotAllowed, NotFound } from "./screens/NotFound";
import { Sessions } from "./screens/Sessions";
import { SignIn } from "./screens/SignIn";
import { ThreadPage } from "./screens/ThreadPage";
import { PartnersPage } from "./screens/partners/PartnersPage";
import { Users } from "./screens/users/UsersPage";

export function App() {
  const loc = useLocation();
  switch (loc.path) {
    case "/signin":
      return <SignIn />;
    case "/auth/verify":
      return <EmailLink kind="verify" />;
    case "/auth/invite":
      return <EmailLink kind="invite" />;
    // The connect pages are for a mailbox's owner, who usually has no Postroom account.
    case "/connect":
      return <ConnectPage />;
    case "/connect/result":
      return <ConnectResult loc={loc} />;
    default:
      return <SignedIn loc={loc} />;
  }
}

/** The one dynamic segment of `path`, or null when it does not match (or is not valid percent-encoding). */
function pathParam(path: string, pattern: RegExp): string | null {
  const raw = pattern.exec(path)?.[1];
  if (raw === undefined) return null;
  try {
    return decodeURIComponent(raw);
  } catch {
    return null;
  }
}

function SignedInRoutes({ path, me }: { path: string; me: Me }) {
  const inboxId = pathParam(path, /^\/inbox\/([^/]+)$/);
  if (inboxId !== null) return <Inbox inboxId={inboxId} />;
  const threadId = pathParam(path, /^\/threads\/([^/]+)$/);
  if (threadId !== null) return <ThreadPage key={threadId} threadId={threadId} />;
  switch (path) {
    case "/":
      return <Inbox inboxId={null} />;
    case "/settings":
    case "/settings/users":
      return <Users />;
    case "/settings/connections":
      return isManager(me.user.role) ? <ConnectionsPage /> : <NotAllowed what="inbox connections" />;
    case "/settings/partners":
      return isManager(me.user.role) ? <PartnersPage /> : <NotAllowed what="partner sites" />;
    case "/settings/audit":
      return isManager(me.user.role) ? <AuditLog /> : <NotAllowed what="the audit log" />;
    case "/account/sessions":
      return <Sessions />;
    default:
      return <NotFound />;
  }
}

const STATUS_TIMEOUT_MS = 10_000;

type MeState = { status: "loading" } | { status: "ready"; me: Me } | { status: "error"; error: unknown };

/** Everything behind sign-in: loads /api/me once, then renders the frame and the current screen. */
function SignedIn({ loc }: { loc: AppLocation }) {
  const [state, setState] = useState<MeState>({ status: "loading" });
  const [status, setStatus] = useState<StatusMessage>({ message: null, tone: "success" });

  const loadMe = useCallback(async () => {
    try {
      setState({ status: "ready", me: await api.me() });
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        navigate("/signin", { replace: true });
        return;
      }
      setState({ status: "error", error: err });
    }
  }, []);

  useEffect(() => {
    void loadMe();
    setUnauthorizedHandler(() =>
      navigate("/signin", { replace: true, flash: "Your session has ended. Sign in again to continue." }),
    );
    return () => setUnauthorizedHandler(null);
  }, [loadMe]);

  useEffect(() => {
    if (loc.path === "/settings") navigate("/settings/users", { replace: true });
  }, [loc.path]);

  // A new screen starts without the previous screen's confirmation, and keyboard and screen-reader
  // users land on its heading instead of staying on the link they followed.
  const firstPath = useRef(true);
  useEffect(() => {
    if (firstPath.current) {
      firstPath.current = false;
      return;
    }
    setStatus({ message: null, tone: "success" });
    const heading = document.querySelector<HTMLElement>("main h1");
    heading?.focus();
  }, [loc.path]);

  const announce = useCallback<Announce>((message, tone = "success") => setStatus({ message, tone }), []);
  const dismiss = useCallback(() => setStatus({ message: null, tone: "success" }), []);

  // Confirmations fade after a while; errors stay until dismissed or the next screen.
  useEffect(() => {
    if (!status.message || status.tone === "error") return;
    const timer = setTimeout(dismiss, STATUS_TIMEOUT_MS);
    return () => clearTimeout(timer);
  }, [status, dismiss]);
  const session = useMemo<Session | null>(
    () => (state.status === "ready" ? { me: state.me, reloadMe: loadMe } : null),
    [state, loadMe],
  );

  if (state.status === "loading") {
    return (
      <div class="boot">
        <Loading label="Opening Postroom…" />
      </div>
    );
  }
  if (state.status === "error" || !session) {
    const error = state.status === "error" ? state.error : null;
    return (
      <AuthLayout>
        <h1 tabIndex={-1}>Postroom could not open</h1>
        <Notice tone="error">
          <p>{messageOf(error)}</p>
        </Notice>
        <div class="auth-footer">
          <button type="button" class="button" onClick={() => void loadMe()}>
            Try again
          </button>{" "}
          <a href="/signin" class="button">
            Go to sign in
          </a>
        </div>
      </AuthLayout>
    );
  }

  return (
    <SessionContext value={session}>
      <StatusContext value={announce}>
        <AppFrame path={loc.path} status={status} onDismissStatus={dismiss}>
          {/* Keyed by account so switching accounts throws away every screen's loaded data. */}
          <SignedInRoutes key={session.me.account.id} path={loc.path} me={session.me} />
        </AppFrame>
      </StatusContext>
    </SessionContext>
  );
}
