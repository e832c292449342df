import { sql, type Kysely } from 'kysely';

// Frozen migration: written against Kysely<any>, never edited once landed.
//
// Roles and groups of a user, released as the `roles` and `groups` claims
// (RFC 9068 §7.2.1, from SCIM's RFC 7643) when their scopes are granted.
// JSON arrays of names: they are read with the user, never queried by.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('users')
    .addColumn('roles', 'jsonb', (col) => col.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('groups', 'jsonb', (col) => col.notNull().defaultTo(sql`'[]'::jsonb`))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').dropColumn('roles').dropColumn('groups').execute();
}
