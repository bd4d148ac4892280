import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { type JWK } from "jose";
import { type AuthState } from "../auth/store";
import { type SubscriptionState } from "../microsoft/graph-subscriptions";
import { type MailboxesState } from "../world/world";

export interface PersistedWorld {
  version: 1;
  seed: number;
  world: "demo" | "empty";
  createdAt: number;
  mailboxes: MailboxesState;
  auth: AuthState;
  subscriptions: Record<string, SubscriptionState>;
  keys: { google: JWK; microsoft: JWK };
}

export function loadWorld(file: string): PersistedWorld | undefined {
  if (!existsSync(file)) return undefined;
  const data = JSON.parse(readFileSync(file, "utf8")) as PersistedWorld;
  return data.version === 1 ? data : undefined;
}

/** Writes atomically (temp file + rename) so a crash mid-write never leaves a torn state file. */
export function saveWorld(file: string, world: PersistedWorld): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(world));
  renameSync(tmp, file);
}

/** Coalesces bursts of changes into one write. */
export function debounced(fn: () => void, ms: number): { schedule(): void; flush(): void } {
  let timer: NodeJS.Timeout | undefined;
  return {
    schedule() {
      if (timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        fn();
      }, ms);
      timer.unref();
    },
    flush() {
      if (timer) {
        clearTimeout(timer);
        timer = undefined;
      }
      fn();
    },
  };
}
