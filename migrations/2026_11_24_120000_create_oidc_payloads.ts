import { sql, type Kysely } from 'kysely';

// Frozen migration: written against Kysely<any>, never edited once landed.
//
// One table holds every oidc-provider model (tokens, codes, sessions, grants,
// interactions). `id`, `uid` and `user_code` hold SHA-256 digests of the
// values oidc-provider hands the adapter, so a database dump yields nothing a
// client or browser could present. The lookup columns the adapter contract
// needs are real, indexed columns rather than jsonb paths.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('oidc_payloads')
    .addColumn('realm', 'text', (col) => col.notNull())
    .addColumn('model', 'text', (col) => col.notNull())
    .addColumn('id', 'text', (col) => col.notNull())
    .addColumn('payload', 'jsonb', (col) => col.notNull())
    .addColumn('grant_id', 'text')
    .addColumn('account_id', 'text')
    .addColumn('uid', 'text')
    .addColumn('user_code', 'text')
    .addColumn('expires_at', 'timestamptz')
    .addColumn('consumed_at', 'timestamptz')
    .addPrimaryKeyConstraint('oidc_payloads_pkey', ['realm', 'model', 'id'])
    .execute();

  // revokeByGrantId and replay detection delete a whole grant at once.
  await db.schema
    .createIndex('oidc_payloads_grant_idx')
    .on('oidc_payloads')
    .columns(['realm', 'grant_id'])
    .where(sql.ref('grant_id'), 'is not', null)
    .execute();
  // Disabling a user or changing a password revokes everything issued to them.
  await db.schema
    .createIndex('oidc_payloads_account_idx')
    .on('oidc_payloads')
    .columns(['realm', 'account_id'])
    .where(sql.ref('account_id'), 'is not', null)
    .execute();
  await db.schema
    .createIndex('oidc_payloads_uid_idx')
    .on('oidc_payloads')
    .columns(['realm', 'model', 'uid'])
    .where(sql.ref('uid'), 'is not', null)
    .execute();
  await db.schema
    .createIndex('oidc_payloads_user_code_idx')
    .on('oidc_payloads')
    .columns(['realm', 'model', 'user_code'])
    .where(sql.ref('user_code'), 'is not', null)
    .execute();
  // The sweeper walks this index to delete expired rows in small batches.
  await db.schema
    .createIndex('oidc_payloads_expires_idx')
    .on('oidc_payloads')
    .column('expires_at')
    .where(sql.ref('expires_at'), 'is not', null)
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('oidc_payloads').execute();
}
