/**
 * What the Worker's cron triggers run (wrangler.toml [triggers]): upkeep that no request waits for.
 */
import { log } from "../lib/log";
import { mergeSearchIndex } from "../search/index-maintenance";

export async function handleScheduled(controller: ScheduledController, env: Env): Promise<void> {
  const report = await mergeSearchIndex(env.DB);
  if (report.steps > 0) log.info("search_index_merged", { cron: controller.cron, ...report });
}
