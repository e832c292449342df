import type { Generated, Selectable } from 'kysely';

/** Initial access tokens for dynamic client registration (src/registration/initial-access-tokens.ts). */
export interface InitialAccessTokenTable {
  realm: string;
  /** A public handle, for listing and revoking; not the token. */
  id: string;
  /** SHA-256 of the token's value; the value itself is never stored. */
  value_digest: string;
  uses_allowed: number;
  uses_left: number;
  description: string | null;
  expires_at: Date;
  created_at: Generated<Date>;
}

export type InitialAccessTokenRow = Selectable<InitialAccessTokenTable>;
