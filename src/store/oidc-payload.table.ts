import type { ColumnType, Insertable, Selectable } from 'kysely';

export interface OidcPayloadTable {
  realm: string;
  model: string;
  /** SHA-256 digest (base64url) of the model id oidc-provider uses. */
  id: string;
  payload: ColumnType<Record<string, unknown>, string, string>;
  grant_id: string | null;
  account_id: string | null;
  /** SHA-256 digest of the interaction/session uid. */
  uid: string | null;
  /** SHA-256 digest of the device-flow user code. */
  user_code: string | null;
  expires_at: Date | null;
  consumed_at: Date | null;
}

export type OidcPayloadRow = Selectable<OidcPayloadTable>;
export type NewOidcPayloadRow = Insertable<OidcPayloadTable>;
