import type { D1Migration } from "cloudflare:test";

declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      /** An empty database, migrated by the test that uses it. */
      MIGRATION_DB: D1Database;
      TEST_SEED_SQL: string;
      TEST_CHAOS_RUNS: string;
      TEST_CHAOS_MAX_OPS: string;
      TEST_SECURITY_FULL: string;
      TEST_DEPLOYED_ENVIRONMENT: string;
      /** Stalwart's expected body text per sample, empty when ../shared is absent. */
      TEST_CORPUS_ORACLE: { name: string; texts: { text: string; html: boolean }[] }[];
      /** DOMPurify's test vectors (title and payload), empty when ../shared is absent. */
      TEST_SANITIZER_CORPUS: { title: string; payload: string }[];
      /** MIME samples from ../shared/corpora (base64), empty when that folder is absent. */
      TEST_CORPUS: { name: string; b64: string }[];
      /** The provider emulator the tests run against (its admin API is under /__emulator). */
      EMULATOR_URL: string;
      /** The recording relay the emulator pushes to (tests/support/push-relay.ts). */
      TEST_PUSH_RELAY_URL: string;
    }
  }
}
