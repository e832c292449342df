import { type Kysely } from 'kysely';

// Frozen migration: written against Kysely<any>, never edited once landed.
//
// A setup file (or a Keycloak realm export) may give a user's password as a
// hash made elsewhere (Keycloak's PBKDF2 or argon2); Latchkey keeps it and
// replaces it with its own argon2id at the user's first sign-in. This column
// remembers which declared hash the stored password comes from (a SHA-256
// digest of it, never the hash itself), so that applying the same file
// again after that replacement recognises the password as unchanged instead
// of putting the old hash back and revoking the user's tokens. NULL when
// the password was set any other way (a plain password, `users passwd`).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').addColumn('declared_hash_digest', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').dropColumn('declared_hash_digest').execute();
}
