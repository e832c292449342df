import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

export interface ClientTable {
  realm: string;
  client_id: string;
  /** OAuth client metadata (RFC 7591 names) without any secret. */
  metadata: ColumnType<Record<string, unknown>, string, string>;
  /** argon2id PHC string or keyed digest; never the secret itself. */
  secret_hash: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export type ClientRow = Selectable<ClientTable>;
export type NewClientRow = Insertable<ClientTable>;
