import type { Db } from './database.ts';
import type { Statement } from './statements.ts';
import type { AuditEventRow } from './audit-event.table.ts';

export type NewAuditEvent = Omit<AuditEventRow, 'details'> & { details: Record<string, unknown> };

/** What a page of a realm's events may be narrowed to; all given conditions hold. */
export interface AuditEventFilter {
  /** An exact type, or a prefix when it ends in `.` or names a family (`sign_in` matches `sign_in.failed`). */
  type?: string | undefined;
  clientId?: string | undefined;
  user?: string | undefined;
  outcome?: 'success' | 'failure' | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
}

/** The position of an event in newest-first order: (occurred_at, id). */
export interface AuditEventKey {
  occurredAt: Date;
  id: string;
}

/**
 * One INSERT for a batch of events, as one fixed statement over one JSON
 * parameter: planned once per connection however many events a batch
 * holds, and serialized by JSON.stringify in one native call, where a
 * parameter per column (arrays) had the driver escape every element in
 * JavaScript, on the event loop the requests share. Idempotent: a batch
 * whose answer was lost in an outage (written, yet reported failed) is sent
 * again and its events, known by their ids, are not stored twice.
 */
const INSERT_EVENTS: Statement = {
  name: 'latchkey_audit_insert',
  effect: 'write',
  text: `insert into audit_events (id, occurred_at, realm, type, outcome, actor, client_id, subject, address, request_id, details)
         select id, occurred_at, realm, type, outcome, actor, client_id, subject, address, request_id, coalesce(details, '{}'::jsonb)
         from json_to_recordset($1::json) as event(id uuid, occurred_at timestamptz, realm text, type text, outcome text, actor text,
                                                   client_id text, subject text, address text, request_id text, details jsonb)
         on conflict (id) do nothing`,
};

export async function insertAuditEvents(db: Db, events: readonly NewAuditEvent[]): Promise<void> {
  if (events.length > 0) await insertAuditRows(db, JSON.stringify(events));
}

/** The same for rows already serialized as a JSON array (src/audit/audit-trail.ts keeps them so). */
export async function insertAuditRows(db: Db, rows: string): Promise<void> {
  await db.run(INSERT_EVENTS, [rows]);
}

/** Up to `limit` events of a realm, newest first, after `after` in that order (index audit_events_realm_time). */
export async function listAuditEvents(db: Db, realm: string, filter: AuditEventFilter, { after, limit }: { after: AuditEventKey | undefined; limit: number }): Promise<AuditEventRow[]> {
  let query = db.selectFrom('audit_events').selectAll().where('realm', '=', realm);
  if (filter.type !== undefined) {
    // A family name matches itself and what it prefixes at a dot; LIKE's wildcards in it are taken literally.
    const family = filter.type.replace(/\.$/, '');
    const escaped = family.replace(/[\\%_]/g, (c) => `\\${c}`);
    query = query.where((eb) => eb.or([eb('type', '=', family), eb('type', 'like', `${escaped}.%`)]));
  }
  if (filter.clientId !== undefined) query = query.where('client_id', '=', filter.clientId);
  if (filter.user !== undefined) query = query.where('subject', '=', filter.user);
  if (filter.outcome !== undefined) query = query.where('outcome', '=', filter.outcome);
  if (filter.since !== undefined) query = query.where('occurred_at', '>=', filter.since);
  if (filter.until !== undefined) query = query.where('occurred_at', '<', filter.until);
  if (after) query = query.where((eb) => eb(eb.refTuple('occurred_at', 'id'), '<', eb.tuple(after.occurredAt, after.id)));
  return query.orderBy('occurred_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
}

/** Deletes up to `batch` events older than `before`; returns how many. */
export async function deleteAuditEventsBefore(db: Db, before: Date, batch: number): Promise<number> {
  const result = await db.deleteFrom('audit_events')
    .where('id', 'in', (eb) => eb.selectFrom('audit_events').select('id').where('occurred_at', '<', before).limit(batch))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
