import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { Me } from "../../../worker/contracts";

export interface Session {
  me: Me;
  /** Fetches /api/me again, after something that changes who or where the person is. */
  reloadMe: () => Promise<void>;
}

export const SessionContext = createContext<Session | null>(null);

/** The signed-in person; only screens rendered inside the app shell may call this. */
export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession() used outside the signed-in app");
  return session;
}
