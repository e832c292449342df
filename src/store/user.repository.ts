import { sql } from 'kysely';
import type { Db } from './database.ts';
import type { UserRow } from './user.table.ts';

export type StoredUser = UserRow;

export interface UserFields {
  username: string;
  email: string | null;
  email_verified: boolean;
  password_hash: string;
  /** Set with a declared hash (src/accounts/declared-accounts.ts); any other password change clears it. */
  declared_hash_digest?: string | null;
  claims: Record<string, unknown>;
  disabled: boolean;
  roles: string[];
  groups: string[];
}

export async function findUserById(db: Db, realm: string, id: string): Promise<StoredUser | undefined> {
  return db.selectFrom('users').selectAll().where('realm', '=', realm).where('id', '=', id).executeTakeFirst();
}

/** Login accepts the username or the e-mail address, both case-insensitively. */
export async function findUserByLogin(db: Db, realm: string, login: string): Promise<StoredUser | undefined> {
  const lowered = login.toLowerCase();
  return db
    .selectFrom('users')
    .selectAll()
    .where('realm', '=', realm)
    .where((eb) => eb.or([
      eb(sql`lower(username)`, '=', lowered),
      eb(sql`lower(email)`, '=', lowered),
    ]))
    // A username match wins over someone else's e-mail address.
    .orderBy(sql`lower(username) = ${lowered}`, 'desc')
    .limit(1)
    .executeTakeFirst();
}

export async function findUserByUsername(db: Db, realm: string, username: string): Promise<StoredUser | undefined> {
  return db
    .selectFrom('users')
    .selectAll()
    .where('realm', '=', realm)
    .where(sql`lower(username)`, '=', username.toLowerCase())
    .executeTakeFirst();
}

/** How many accounts the realm has (on the primary key's (realm, id) index). */
export async function countUsers(db: Db, realm: string): Promise<number> {
  const row = await db.selectFrom('users').select((eb) => eb.fn.countAll<string>().as('count')).where('realm', '=', realm).executeTakeFirstOrThrow();
  return Number(row.count);
}

export async function listUsers(db: Db, realm: string): Promise<StoredUser[]> {
  return db.selectFrom('users').selectAll().where('realm', '=', realm).orderBy('username').execute();
}

/**
 * A page of users in username order after `after` (exclusive): keyset
 * pagination on the (realm, username) order, which stays stable while users
 * are added or removed between pages, unlike an offset.
 */
export async function listUsersPage(db: Db, realm: string, { after, limit }: { after?: string | undefined; limit: number }): Promise<StoredUser[]> {
  let query = db.selectFrom('users').selectAll().where('realm', '=', realm);
  if (after !== undefined) query = query.where('username', '>', after);
  return query.orderBy('username').limit(limit).execute();
}

export async function insertUser(db: Db, realm: string, id: string, fields: UserFields): Promise<void> {
  await insertUsers(db, realm, [{ id, ...fields }]);
}

/**
 * Rows per INSERT when many users are added at once (an import): one
 * statement carries 11 parameters per row, well under PostgreSQL's 65,535,
 * and a thousand rows keep a statement's size around a megabyte.
 */
const INSERT_CHUNK = 1000;

/** Adds users, a thousand rows per statement: an import of 10,000 is ten statements, not 10,000. */
export async function insertUsers(db: Db, realm: string, users: ReadonlyArray<UserFields & { id: string }>): Promise<void> {
  for (let start = 0; start < users.length; start += INSERT_CHUNK) {
    const rows = users.slice(start, start + INSERT_CHUNK).map(({ claims, roles, groups, ...fields }) => ({
      realm, ...fields, claims: JSON.stringify(claims), roles: JSON.stringify(roles), groups: JSON.stringify(groups),
    }));
    await db.insertInto('users').values(rows).execute();
  }
}

/**
 * Swaps a user's password hash for another form of the same password (a
 * kept hash for Latchkey's argon2id at the first sign-in): only if the
 * stored hash is still `expected`, so that of two concurrent sign-ins one
 * replaces it and the other changes nothing, and a password changed in the
 * meantime is never overwritten. Not a password change: password_changed_at,
 * updated_at (the `updated_at` claim) and the declared hash's digest stay.
 * Returns whether this call replaced it.
 */
export async function replacePasswordHash(db: Db, realm: string, id: string, expected: string, replacement: string): Promise<boolean> {
  const result = await db
    .updateTable('users')
    .set({ password_hash: replacement })
    .where('realm', '=', realm)
    .where('id', '=', id)
    .where('password_hash', '=', expected)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

export async function updateUser(db: Db, realm: string, id: string, fields: Partial<UserFields>): Promise<void> {
  const { claims, roles, groups, ...rest } = fields;
  await db
    .updateTable('users')
    .set({
      ...rest,
      ...(claims ? { claims: JSON.stringify(claims) } : {}),
      ...(roles ? { roles: JSON.stringify(roles) } : {}),
      ...(groups ? { groups: JSON.stringify(groups) } : {}),
      ...(fields.password_hash ? { password_changed_at: sql<Date>`now()`, declared_hash_digest: fields.declared_hash_digest ?? null } : {}),
      updated_at: sql<Date>`now()`,
    })
    .where('realm', '=', realm)
    .where('id', '=', id)
    .execute();
}

export async function deleteUser(db: Db, realm: string, id: string): Promise<boolean> {
  const result = await db.deleteFrom('users').where('realm', '=', realm).where('id', '=', id).executeTakeFirst();
  return result.numDeletedRows === 1n;
}
