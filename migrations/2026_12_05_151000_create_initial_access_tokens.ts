import { sql, type Kysely } from 'kysely';

// Frozen migration: written against Kysely<any>, never edited once landed.
//
// Initial access tokens for dynamic client registration (RFC 7591 §3):
// issued by an administrator, each good for a number of registrations
// until it expires. The value is never stored, only its SHA-256 digest
// (unique: a presented value finds its row by it); `id` is a public handle
// for listing and revoking. `uses_left` only goes down, and never below 0.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('initial_access_tokens')
    .addColumn('realm', 'text', (col) => col.notNull())
    .addColumn('id', 'text', (col) => col.notNull())
    .addColumn('value_digest', 'text', (col) => col.notNull().unique())
    .addColumn('uses_allowed', 'integer', (col) => col.notNull().check(sql`uses_allowed > 0`))
    .addColumn('uses_left', 'integer', (col) => col.notNull().check(sql`uses_left >= 0`))
    .addColumn('description', 'text')
    .addColumn('expires_at', 'timestamptz', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('initial_access_tokens_pkey', ['realm', 'id'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('initial_access_tokens').execute();
}
