import type { ColumnType, Selectable } from 'kysely';

/** One audit event (src/audit/audit-event.ts); rows are inserted and deleted by age, never updated. */
export interface AuditEventTable {
  /** A random UUID, made when the event is recorded. */
  id: string;
  occurred_at: Date;
  realm: string;
  /** Dotted, e.g. sign_in.failed, admin.createClient. */
  type: string;
  outcome: 'success' | 'failure';
  /** Who acted: an account id, a client id, or an admin client. */
  actor: string | null;
  client_id: string | null;
  /** The user concerned: an account id, or the login as typed when none matched. The API calls it `user`. */
  subject: string | null;
  address: string | null;
  request_id: string | null;
  details: ColumnType<Record<string, unknown>, string, string>;
}

export type AuditEventRow = Selectable<AuditEventTable>;
