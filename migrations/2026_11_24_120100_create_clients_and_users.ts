import { sql, type Kysely } from 'kysely';

// Frozen migration: written against Kysely<any>, never edited once landed.
//
// Clients keep their OAuth metadata as jsonb (it is what oidc-provider
// validates) and the secret only as a hash, outside the metadata. Users are
// looked up case-insensitively by username and by e-mail at login.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('clients')
    .addColumn('realm', 'text', (col) => col.notNull())
    .addColumn('client_id', 'text', (col) => col.notNull())
    .addColumn('metadata', 'jsonb', (col) => col.notNull())
    .addColumn('secret_hash', 'text')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('clients_pkey', ['realm', 'client_id'])
    .execute();

  await db.schema
    .createTable('users')
    .addColumn('realm', 'text', (col) => col.notNull())
    .addColumn('id', 'text', (col) => col.notNull())
    .addColumn('username', 'text', (col) => col.notNull())
    .addColumn('email', 'text')
    .addColumn('email_verified', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('password_hash', 'text', (col) => col.notNull())
    .addColumn('claims', 'jsonb', (col) => col.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('disabled', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('password_changed_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('users_pkey', ['realm', 'id'])
    .execute();

  await db.schema
    .createIndex('users_username_idx')
    .unique()
    .on('users')
    .expression(sql`realm, lower(username)`)
    .execute();
  await db.schema
    .createIndex('users_email_idx')
    .on('users')
    .expression(sql`realm, lower(email)`)
    .where(sql.ref('email'), 'is not', null)
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('users').execute();
  await db.schema.dropTable('clients').execute();
}
