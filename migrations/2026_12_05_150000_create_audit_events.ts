import { sql, type Kysely } from 'kysely';

// Frozen migration: written against Kysely<any>, never edited once landed.
//
// Audit events (src/audit/): who did what, to what, from where, with which
// outcome. Rows are only ever inserted (in batches, outside any request's
// transaction) and deleted by age (LATCHKEY_AUDIT_RETENTION_DAYS). No
// column holds a secret, token, code, password or digest.
//
// Indexes:
// - (realm, occurred_at desc, id desc): the admin endpoint reads a realm's
//   events newest first and pages on (occurred_at, id); its filters (type,
//   client, user, outcome) are checked on the rows this index yields.
// - (occurred_at): the retention delete of every realm's old rows.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('audit_events')
    .addColumn('id', 'uuid', (col) => col.primaryKey())
    .addColumn('occurred_at', 'timestamptz', (col) => col.notNull())
    .addColumn('realm', 'text', (col) => col.notNull())
    .addColumn('type', 'text', (col) => col.notNull())
    .addColumn('outcome', 'text', (col) => col.notNull().check(sql`outcome in ('success', 'failure')`))
    .addColumn('actor', 'text')
    .addColumn('client_id', 'text')
    .addColumn('subject', 'text')
    .addColumn('address', 'text')
    .addColumn('request_id', 'text')
    .addColumn('details', 'jsonb', (col) => col.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute();
  await db.schema.createIndex('audit_events_realm_time').on('audit_events')
    .columns(['realm', 'occurred_at desc', 'id desc']).execute();
  await db.schema.createIndex('audit_events_time').on('audit_events').column('occurred_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('audit_events').execute();
}
