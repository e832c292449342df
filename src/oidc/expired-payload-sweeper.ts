import type { Logger } from 'pino';
import type { Db } from '../store/database.ts';
import { forgetExpiredPreviousSecrets } from '../store/client.repository.ts';
import { sweepExpiredPayloads } from '../store/oidc-payload.repository.ts';

const BATCH = 5_000;
/**
 * A run keeps deleting while batches come back full, for at most this long,
 * so the sweeper keeps up with any issue rate the server can sustain (a fixed
 * batch count per run fell behind at ~2k tokens/s) without holding a
 * connection for long.
 */
const MAX_RUN_MS = 20_000;

/**
 * Deletes expired oidc-provider rows (and client secrets whose rotation
 * overlap has ended) in the background. Small batches with
 * SKIP LOCKED never block requests, and expired rows are already invisible
 * to lookups, so sweeping is about space, not correctness. A database
 * outage only skips a run.
 */
export function startSweeper(db: Db, logger: Logger, intervalSeconds: number): { stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  const sweep = async () => {
    try {
      let total = 0;
      const deadline = Date.now() + Math.min(MAX_RUN_MS, intervalSeconds * 1000);
      while (Date.now() < deadline) {
        const deleted = await sweepExpiredPayloads(db, BATCH);
        total += deleted;
        if (deleted < BATCH) break;
      }
      if (total > 0) logger.debug({ deleted: total }, 'swept expired oidc rows');
      // A rotated-out client secret is refused once its overlap ends; this removes its stored form too.
      await forgetExpiredPreviousSecrets(db);
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
