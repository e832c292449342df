import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

export interface UserTable {
  realm: string;
  /** The OIDC `sub`: a random UUID, stable for the life of the account. */
  id: string;
  username: string;
  email: string | null;
  email_verified: Generated<boolean>;
  /** argon2id PHC string. */
  password_hash: string;
  /** Extra claims released per scope (name, given_name, …). */
  claims: ColumnType<Record<string, unknown>, string | undefined, string>;
  disabled: Generated<boolean>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  password_changed_at: Generated<Date>;
}

export type UserRow = Selectable<UserTable>;
export type NewUserRow = Insertable<UserTable>;
