import { createContext } from "preact";
import { useContext } from "preact/hooks";

export type Announce = (message: string, tone?: "success" | "error") => void;

/** Confirms an action ("Invitation sent") in the app's one live region. */
export const StatusContext = createContext<Announce>(() => {});

export const useAnnounce = (): Announce => useContext(StatusContext);
