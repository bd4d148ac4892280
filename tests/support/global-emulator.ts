/**
 * Starts the provider emulator (sandbox mode) in the test runner's Node process for the Worker
 * tests, on the port vitest.config.ts chose and handed to the Worker's bindings.
 */
import type { TestProject } from "vitest/node";
import { startEmulator } from "../../emulator/index";

export default async function setup(_project: TestProject) {
  const port = Number(process.env.POSTROOM_TEST_EMULATOR_PORT);
  if (!port) throw new Error("POSTROOM_TEST_EMULATOR_PORT is not set (vitest.config.ts sets it)");
  // Empty mailboxes: each test delivers exactly the mail it needs, so counts are exact and runs are quick.
  const emulator = await startEmulator({ port, seed: 7, world: "empty" });
  return async () => {
    await emulator.close();
  };
}
