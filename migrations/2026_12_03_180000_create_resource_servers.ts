import { sql, type Kysely } from 'kysely';

// Frozen migration: written against Kysely<any>, never edited once landed.
//
// Resource servers (RFC 8707): the APIs of a realm that access tokens are
// issued for. The identifier is the token's audience; scopes are the ones
// the API accepts; the access-token policy (format, lifetime, signing
// algorithm) is the API's, not the client's.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('resource_servers')
    .addColumn('realm', 'text', (col) => col.notNull())
    .addColumn('identifier', 'text', (col) => col.notNull())
    .addColumn('scopes', 'jsonb', (col) => col.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('token_format', 'text', (col) => col.notNull().check(sql`token_format in ('jwt', 'opaque')`))
    .addColumn('token_lifetime', 'integer')
    .addColumn('signing_alg', 'text', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('resource_servers_pkey', ['realm', 'identifier'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('resource_servers').execute();
}
