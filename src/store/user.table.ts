import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

export interface UserTable {
  realm: string;
  /** The OIDC `sub`: a random UUID, stable for the life of the account. */
  id: string;
  username: string;
  email: string | null;
  email_verified: Generated<boolean>;
  /**
   * Latchkey's argon2id (PHC string); a hash kept from another system until
   * the user's first sign-in (src/config/kept-password-hashes.ts); or
   * NO_PASSWORD (src/accounts/password-hasher.ts), which nothing verifies.
   */
  password_hash: string;
  /** SHA-256 of the declared hash the password comes from (see its migration); null otherwise. */
  declared_hash_digest: string | null;
  /** Extra claims released per scope (name, given_name, …). */
  claims: ColumnType<Record<string, unknown>, string | undefined, string>;
  disabled: Generated<boolean>;
  /** Role names, released as the `roles` claim with the `roles` scope. */
  roles: ColumnType<string[], string | undefined, string>;
  /** Group names, released as the `groups` claim with the `groups` scope. */
  groups: ColumnType<string[], string | undefined, string>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  password_changed_at: Generated<Date>;
}

export type UserRow = Selectable<UserTable>;
export type NewUserRow = Insertable<UserTable>;
