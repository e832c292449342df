import type { Db } from './database.ts';
import type { InitialAccessTokenRow } from './initial-access-token.table.ts';
import type { Statement } from './statements.ts';

export type StoredInitialAccessToken = Omit<InitialAccessTokenRow, 'value_digest'>;

const SHOWN = ['realm', 'id', 'uses_allowed', 'uses_left', 'description', 'expires_at', 'created_at'] as const;

export async function insertInitialAccessToken(db: Db, row: Omit<InitialAccessTokenRow, 'created_at'>): Promise<StoredInitialAccessToken> {
  return db.insertInto('initial_access_tokens').values(row).returning(SHOWN).executeTakeFirstOrThrow();
}

/** A page of a realm's tokens in id order after `after` (keyset pagination, as the admin lists do). */
export async function listInitialAccessTokens(db: Db, realm: string, { after, limit }: { after?: string | undefined; limit: number }): Promise<StoredInitialAccessToken[]> {
  let query = db.selectFrom('initial_access_tokens').select(SHOWN).where('realm', '=', realm);
  if (after !== undefined) query = query.where('id', '>', after);
  return query.orderBy('id').limit(limit).execute();
}

export async function deleteInitialAccessToken(db: Db, realm: string, id: string): Promise<boolean> {
  const result = await db.deleteFrom('initial_access_tokens').where('realm', '=', realm).where('id', '=', id).executeTakeFirst();
  return result.numDeletedRows === 1n;
}

/** Drops a realm's tokens that expired before `before`: they can register nothing, and listing them forever helps nobody. */
export async function deleteExpiredInitialAccessTokens(db: Db, realm: string, before: Date): Promise<void> {
  await db.deleteFrom('initial_access_tokens').where('realm', '=', realm).where('expires_at', '<', before).execute();
}

/** The token whose value has this digest, if it can still register a client at `now`. */
export async function findUsableInitialAccessToken(db: Db, realm: string, valueDigest: string, now: Date): Promise<StoredInitialAccessToken | undefined> {
  return db.selectFrom('initial_access_tokens').select(SHOWN)
    .where('realm', '=', realm)
    .where('value_digest', '=', valueDigest)
    .where('uses_left', '>', 0)
    .where('expires_at', '>', now)
    .executeTakeFirst();
}

/**
 * Spends one use. A claim (src/store/unit-of-work.ts): it runs at once in
 * the request's transaction and holds the row's lock until the commit, so
 * a concurrent spend of the same token waits, then re-reads `uses_left`
 * (PostgreSQL re-checks an updated row's WHERE under READ COMMITTED): of N
 * concurrent spends of a token with k uses left, exactly k succeed. A
 * rolled-back registration gives its use back.
 */
const SPEND_USE: Statement = {
  name: 'latchkey_initial_access_token_spend',
  effect: 'claim',
  text: `update initial_access_tokens set uses_left = uses_left - 1
          where realm = $1 and value_digest = $2 and uses_left > 0 and expires_at > $3`,
};

export async function spendInitialAccessTokenUse(db: Db, realm: string, valueDigest: string, now: Date): Promise<boolean> {
  return (await db.run(SPEND_USE, [realm, valueDigest, now])).rowCount === 1;
}
