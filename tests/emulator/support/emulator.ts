import { type EmulatorOptions, type RunningEmulator, startEmulator } from "../../../emulator/index";

/** Every test file runs its own emulator on an ephemeral loopback port, with no mail unless it asks. */
export function startTestEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  return startEmulator({ port: 0, world: "empty", corpusDir: null, ...options });
}

/** A fixed clock that tests move with `admin.advanceClock`. */
export const FIXED_NOW = Date.UTC(2026, 4, 15, 12, 0, 0);

export async function json<T = Record<string, unknown>>(res: Response): Promise<T> {
  const text = await res.text();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`expected JSON (status ${res.status}), got: ${text.slice(0, 300)}`);
  }
}
