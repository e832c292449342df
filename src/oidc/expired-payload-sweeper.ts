import type { Logger } from 'pino';
import type { Db } from '../store/database.ts';
import { sweepExpiredPayloads } from '../store/oidc-payload.repository.ts';

const BATCH = 5_000;
const MAX_BATCHES_PER_RUN = 20;

/**
 * Deletes expired oidc-provider rows in the background. Small batches with
 * SKIP LOCKED never block requests, and expired rows are already invisible
 * to lookups, so sweeping is about space, not correctness. A database
 * outage only skips a run.
 */
export function startSweeper(db: Db, logger: Logger, intervalSeconds: number): { stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  const sweep = async () => {
    try {
      let total = 0;
      for (let i = 0; i < MAX_BATCHES_PER_RUN; i += 1) {
        const deleted = await sweepExpiredPayloads(db, BATCH);
        total += deleted;
        if (deleted < BATCH) break;
      }
      if (total > 0) logger.debug({ deleted: total }, 'swept expired oidc rows');
    } catch (error) {
      logger.warn({ err: { message: (error as Error).message } }, 'sweeping expired rows failed; will retry');
    }
  };
  const timer = setInterval(() => { running ??= sweep().finally(() => { running = undefined; }); }, intervalSeconds * 1000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
