import { sql } from 'kysely';
import type { Db } from './database.ts';
import type { UserRow } from './user.table.ts';

export type StoredUser = UserRow;

export interface UserFields {
  username: string;
  email: string | null;
  email_verified: boolean;
  password_hash: string;
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

export async function listUsers(db: Db, realm: string): Promise<StoredUser[]> {
  return db.selectFrom('users').selectAll().where('realm', '=', realm).orderBy('username').execute();
}

export async function insertUser(db: Db, realm: string, id: string, fields: UserFields): Promise<void> {
  await db
    .insertInto('users')
    .values({ realm, id, ...fields, claims: JSON.stringify(fields.claims), roles: JSON.stringify(fields.roles), groups: JSON.stringify(fields.groups) })
    .execute();
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
      ...(fields.password_hash ? { password_changed_at: sql<Date>`now()` } : {}),
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
