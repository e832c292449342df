import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

export interface ClientTable {
  realm: string;
  client_id: string;
  /** OAuth client metadata (RFC 7591 names) without any secret. */
  metadata: ColumnType<Record<string, unknown>, string, string>;
  /** argon2id PHC string or keyed digest; never the secret itself. */
  secret_hash: string | null;
  /** When the client was disabled; null while enabled. The engine sees a disabled client as unknown. */
  disabled_at: Date | null;
  /** The secret's stored form before the last rotation, accepted until previous_secret_expires_at. */
  previous_secret_hash: string | null;
  previous_secret_expires_at: Date | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export type ClientRow = Selectable<ClientTable>;
export type NewClientRow = Insertable<ClientTable>;
