import type { Logger } from 'pino';
import type { Db } from '../store/database.ts';
import { deleteAuditEventsBefore } from '../store/audit-event.repository.ts';
import { UnitOfWork } from '../store/unit-of-work.ts';

const BATCH = 5_000;
const DAY_MS = 86_400_000;
/** As the expired-row sweeper (src/oidc/expired-payload-sweeper.ts): keep deleting full batches, for at most this long a run. */
const MAX_RUN_MS = 20_000;

/**
 * Deletes audit events older than the retention (LATCHKEY_AUDIT_RETENTION_DAYS)
 * every `intervalSeconds`, in small batches, beside the sweeper of expired
 * oidc rows and on its interval. A database outage only skips a run.
 */
export function startAuditRetention(db: Db, logger: Logger, { retentionDays, intervalSeconds, now = () => Date.now() }: {
  retentionDays: number;
  intervalSeconds: number;
  now?: () => number;
}): { stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  const sweep = async () => {
    try {
      const before = new Date(now() - retentionDays * DAY_MS);
      const deadline = Date.now() + Math.min(MAX_RUN_MS, intervalSeconds * 1000);
      let total = 0;
      while (Date.now() < deadline) {
        const deleted = await UnitOfWork.outside(() => deleteAuditEventsBefore(db, before, BATCH));
        total += deleted;
        if (deleted < BATCH) break;
      }
      if (total > 0) logger.debug({ deleted: total, before }, 'deleted audit events past their retention');
    } catch (error) {
      logger.warn({ err: { message: (error as Error).message } }, 'deleting old audit events failed; will retry');
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
