import type { Logger } from 'pino';
import type { Db } from '../store/database.ts';
import { forgetExpiredPreviousSecrets } from '../store/client.repository.ts';
import { countExpiredPayloads, sweepExpiredPayloads } from '../store/oidc-payload.repository.ts';

const BATCH = 5_000;
/**
 * A run keeps deleting while batches come back full, for at most this long,
 * so the sweeper keeps up with any issue rate the server can sustain (a fixed
 * batch count per run fell behind at ~2k tokens/s) without holding a
 * connection for long.
 */
const MAX_RUN_MS = 20_000;

/** Hears of each run (the metrics: src/metrics/latchkey-metrics.ts). */
export interface SweepObserver {
  swept(report: { deleted: number; seconds: number; remaining: number }): void;
  failed(): void;
}

/**
 * Deletes expired oidc-provider rows (and client secrets whose rotation
 * overlap has ended) in the background. Small batches with
 * SKIP LOCKED never block requests, and expired rows are already invisible
 * to lookups, so sweeping is about space, not correctness. A database
 * outage only skips a run.
 */
export function startSweeper(db: Db, logger: Logger, intervalSeconds: number, observer?: SweepObserver): { stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  const sweep = async () => {
    try {
      const started = performance.now();
      let total = 0;
      let caughtUp = false;
      const deadline = Date.now() + Math.min(MAX_RUN_MS, intervalSeconds * 1000);
      while (Date.now() < deadline) {
        const deleted = await sweepExpiredPayloads(db, BATCH);
        total += deleted;
        if (deleted < BATCH) {
          caughtUp = true;
          break;
        }
      }
      if (total > 0) logger.debug({ deleted: total }, 'swept expired oidc rows');
      if (observer) {
        const seconds = (performance.now() - started) / 1000;
        // Counted only when the run stopped at its time limit: the backlog it left, the one figure that says it falls behind.
        observer.swept({ deleted: total, seconds, remaining: caughtUp ? 0 : await countExpiredPayloads(db) });
      }
      // A rotated-out client secret is refused once its overlap ends; this removes its stored form too.
      await forgetExpiredPreviousSecrets(db);
    } catch (error) {
      observer?.failed();
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
