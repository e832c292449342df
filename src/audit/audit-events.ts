import type { Logger } from 'pino';
import type { Db } from '../store/database.ts';
import { insertAuditRows, listAuditEvents, type AuditEventFilter, type AuditEventKey } from '../store/audit-event.repository.ts';
export type { AuditEventFilter, AuditEventKey };
import type { AuditEventRow } from '../store/audit-event.table.ts';
import { UnitOfWork } from '../store/unit-of-work.ts';
import type { AuditDraft, AuditEvent } from './audit-event.ts';
import { AuditTrail } from './audit-trail.ts';

/**
 * The audit trail on a database: its batches are written outside any
 * request's unit of work (a failure event must survive the request's
 * rollback, and a request's transaction must not wait for it).
 */
export function createAuditTrail(db: Db, logger: Logger, options: { maxBuffered?: number } = {}): AuditTrail {
  return new AuditTrail({
    logger,
    ...options,
    write: async (rows) => {
      await UnitOfWork.outside(() => insertAuditRows(db, rows));
      return 'written';
    },
  });
}

/**
 * One event written at once, for a command that ends right after (the CLI):
 * the same log line and row as a server's; a database that refuses it is
 * warned about, never the command's failure.
 */
export async function recordAuditEvent(db: Db, logger: Logger, draft: AuditDraft): Promise<void> {
  const trail = createAuditTrail(db, logger);
  trail.record(draft);
  await trail.close();
}

/** A realm's events for the admin API, newest first. */
export function readAuditEvents(db: Db) {
  return async (realm: string, filter: AuditEventFilter, range: { after: AuditEventKey | undefined; limit: number }): Promise<AuditEvent[]> =>
    (await listAuditEvents(db, realm, filter, range)).map(eventOf);
}

export type ReadAuditEvents = ReturnType<typeof readAuditEvents>;

function eventOf({ subject, ...row }: AuditEventRow): AuditEvent {
  return { ...row, user: subject };
}
