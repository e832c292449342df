import { sql } from 'kysely';
import type { Db } from './database.ts';
import type { NewOidcPayloadRow, OidcPayloadRow } from './oidc-payload.table.ts';

// Repository for oidc-provider's models. Every function is a single
// statement, so each is atomic without an explicit transaction.

type Found = Pick<OidcPayloadRow, 'payload' | 'consumed_at'>;

export async function upsertPayload(db: Db, row: NewOidcPayloadRow): Promise<void> {
  await db
    .insertInto('oidc_payloads')
    .values(row)
    .onConflict((oc) => oc.columns(['realm', 'model', 'id']).doUpdateSet({
      payload: (eb) => eb.ref('excluded.payload'),
      grant_id: (eb) => eb.ref('excluded.grant_id'),
      account_id: (eb) => eb.ref('excluded.account_id'),
      uid: (eb) => eb.ref('excluded.uid'),
      user_code: (eb) => eb.ref('excluded.user_code'),
      expires_at: (eb) => eb.ref('excluded.expires_at'),
    }))
    .execute();
}

/** Expired rows are invisible even before the sweeper deletes them. */
function live(db: Db, realm: string, model: string) {
  return db
    .selectFrom('oidc_payloads')
    .select(['payload', 'consumed_at'])
    .where('realm', '=', realm)
    .where('model', '=', model)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', sql<Date>`now()`)]));
}

export async function findPayload(db: Db, realm: string, model: string, id: string): Promise<Found | undefined> {
  return live(db, realm, model).where('id', '=', id).executeTakeFirst();
}

export async function findPayloadByUid(db: Db, realm: string, model: string, uid: string): Promise<Found | undefined> {
  return live(db, realm, model).where('uid', '=', uid).executeTakeFirst();
}

export async function findPayloadByUserCode(db: Db, realm: string, model: string, userCode: string): Promise<Found | undefined> {
  return live(db, realm, model).where('user_code', '=', userCode).executeTakeFirst();
}

/**
 * Marks a row consumed. Atomic: of two concurrent calls for the same row
 * exactly one returns true; the other (and any later call) returns false.
 */
export async function consumePayload(db: Db, realm: string, model: string, id: string): Promise<boolean> {
  const result = await db
    .updateTable('oidc_payloads')
    .set({ consumed_at: sql<Date>`now()` })
    .where('realm', '=', realm)
    .where('model', '=', model)
    .where('id', '=', id)
    .where('consumed_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

export async function destroyPayload(db: Db, realm: string, model: string, id: string): Promise<void> {
  await db
    .deleteFrom('oidc_payloads')
    .where('realm', '=', realm)
    .where('model', '=', model)
    .where('id', '=', id)
    .execute();
}

/** Deletes every row of a grant (tokens, codes and the Grant itself). */
export async function deleteGrant(db: Db, realm: string, grantId: string): Promise<number> {
  const result = await db
    .deleteFrom('oidc_payloads')
    .where('realm', '=', realm)
    .where('grant_id', '=', grantId)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Deletes the whole grant that the given row belongs to, in one statement. */
export async function deleteGrantOf(db: Db, realm: string, model: string, id: string): Promise<number> {
  const result = await db
    .deleteFrom('oidc_payloads')
    .where('realm', '=', realm)
    .where('grant_id', '=', (eb) => eb
      .selectFrom('oidc_payloads')
      .select('grant_id')
      .where('realm', '=', realm)
      .where('model', '=', model)
      .where('id', '=', id))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Deletes everything issued to an account: sessions, grants, tokens. */
export async function deleteAccountPayloads(db: Db, realm: string, accountId: string): Promise<number> {
  const result = await db
    .deleteFrom('oidc_payloads')
    .where('realm', '=', realm)
    .where('account_id', '=', accountId)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/**
 * Deletes up to `limit` expired rows. SKIP LOCKED lets several instances
 * sweep at once without waiting on each other or on live requests.
 */
export async function sweepExpiredPayloads(db: Db, limit: number): Promise<number> {
  const result = await sql`
    delete from oidc_payloads where ctid in (
      select ctid from oidc_payloads
      where expires_at < now()
      limit ${limit}
      for update skip locked
    )`.execute(db);
  return Number(result.numAffectedRows ?? 0n);
}

export async function countPayloads(db: Db, realm: string): Promise<number> {
  const row = await db
    .selectFrom('oidc_payloads')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('realm', '=', realm)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Deletes everything issued to a client (used when the client is removed). */
export async function deleteGrantsOfClient(db: Db, realm: string, clientId: string): Promise<number> {
  const result = await db
    .deleteFrom('oidc_payloads')
    .where('realm', '=', realm)
    .where(sql`payload->>'clientId'`, '=', clientId)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
