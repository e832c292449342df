import type { ColumnType, Generated, Selectable } from 'kysely';

export interface ResourceServerTable {
  realm: string;
  /** The RFC 8707 resource indicator, which is the access token's `aud`. */
  identifier: string;
  /** The scopes the API accepts (scope tokens). */
  scopes: ColumnType<string[], string, string>;
  token_format: 'jwt' | 'opaque';
  /** Access-token lifetime in seconds; null: the realm's access-token lifetime. */
  token_lifetime: number | null;
  /** JWS algorithm of its JWT access tokens. */
  signing_alg: string;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export type ResourceServerRow = Selectable<ResourceServerTable>;
