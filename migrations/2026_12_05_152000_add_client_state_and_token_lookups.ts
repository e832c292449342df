import { sql, type Kysely } from 'kysely';

// Frozen migration: written against Kysely<any>, never edited once landed.
//
// A client can be disabled (disabled_at), which the engine reads as "no such
// client", and its secret rotated with an overlap: the previous secret's
// stored form (a digest or argon2id hash, never the secret) is accepted
// until previous_secret_expires_at, then forgotten.
//
// The admin API lists and revokes what was issued to a client (Kong's
// /oauth2_tokens use case) and removing a client deletes it all; tokens
// carry their client only in the payload, so without this index each of
// those reads every row of the realm.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('clients')
    .addColumn('disabled_at', 'timestamptz')
    .addColumn('previous_secret_hash', 'text')
    .addColumn('previous_secret_expires_at', 'timestamptz')
    .execute();
  await sql`create index oidc_payloads_client_idx on oidc_payloads (realm, (payload->>'clientId')) where payload ? 'clientId'`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index oidc_payloads_client_idx`.execute(db);
  await db.schema
    .alterTable('clients')
    .dropColumn('disabled_at')
    .dropColumn('previous_secret_hash')
    .dropColumn('previous_secret_expires_at')
    .execute();
}
