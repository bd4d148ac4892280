/**
 * Starts the provider emulator (sandbox mode) in the test runner's Node process for the Worker
 * tests, on the port vitest.config.ts chose and handed to the Worker's bindings.
 */
import type { TestProject } from "vitest/node";
import { startEmulator } from "../../emulator/index";
import { startPushRelay } from "./push-relay";

/** The audience the emulator puts in push tokens, and the Worker tests expect (vitest.config.ts). */
export const TEST_PUSH_AUDIENCE = "http://127.0.0.1:8787/webhooks/google";

export default async function setup(_project: TestProject) {
  const port = Number(process.env.POSTROOM_TEST_EMULATOR_PORT);
  if (!port) throw new Error("POSTROOM_TEST_EMULATOR_PORT is not set (vitest.config.ts sets it)");
  const relayPort = Number(process.env.POSTROOM_TEST_RELAY_PORT);
  const relay = await startPushRelay(relayPort);
  // Empty mailboxes: each test delivers exactly the mail it needs, so counts are exact and runs are quick.
  const emulator = await startEmulator({
    port,
    seed: 7,
    world: "empty",
    gmailPushEndpoint: `http://127.0.0.1:${relayPort}/webhooks/google`,
    pushAudience: TEST_PUSH_AUDIENCE,
  });
  return async () => {
    await emulator.close();
    await relay.close();
  };
}
