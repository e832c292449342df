import { sql, type RawBuilder } from 'kysely';
import type { Db } from './database.ts';
import { digestOf } from './oidc-payload.repository.ts';

/**
 * What the admin API lists and revokes of oidc-provider's rows: tokens,
 * grants (a user's consent to a client) and sessions, by client or user.
 * Rows are named by model and id (the digest the adapter stores); the
 * admin layer seals those into opaque handles (src/tokens/admin-handles.ts)
 * and never shows them.
 *
 * "Live" means what introspection would say: not expired, not consumed,
 * and, for a row of a grant, its Grant still there and not expired (the
 * engine answers inactive for a token whose Grant is gone, which is what
 * revoking a grant leaves behind of a token written concurrently).
 *
 * Bulk revocation runs in two statements in the caller's transaction:
 * first the grants' locks (the lock the engine's consumes and deletes take,
 * src/store/oidc-payload.repository.ts grantLock), in grant order so that
 * two bulk revocations cannot deadlock, then the delete. A refresh or code
 * exchange in flight on one of the grants holds its lock: the delete waits
 * for it to commit and, being a later statement with a later snapshot,
 * sees and deletes the tokens it wrote. One that starts afterwards waits
 * for the revocation and then finds its token gone (invalid_grant).
 */
export const TOKEN_MODELS = ['AccessToken', 'ClientCredentials', 'RefreshToken', 'AuthorizationCode'] as const;
export type TokenModel = (typeof TOKEN_MODELS)[number];

export interface IssuedRow {
  model: string;
  id: string;
  payload: Record<string, unknown>;
  expires_at: Date | null;
  username: string | null;
}

export interface IssuedFilter {
  models: readonly string[];
  clientId?: string | undefined;
  accountId?: string | undefined;
  /** The rows of one grant (by the grant id the engine knows, as rows carry it). */
  grantId?: string | undefined;
}

const liveRow = sql<boolean>`(p.expires_at is null or p.expires_at > now()) and p.consumed_at is null`;
const liveGrant = sql<boolean>`(p.grant_id is null or p.model = 'Grant' or exists (
  select 1 from oidc_payloads g
   where g.realm = p.realm and g.model = 'Grant' and g.id = ${sql.raw(digestOf('p.grant_id'))}
     and (g.expires_at is null or g.expires_at > now())))`;

function issuedConditions(realm: string, filter: IssuedFilter): RawBuilder<boolean>[] {
  const conditions = [sql<boolean>`p.realm = ${realm}`, sql<boolean>`p.model in (${sql.join(filter.models)})`];
  // `payload ? 'clientId'` is the condition of the partial index oidc_payloads_client_idx.
  if (filter.clientId !== undefined) conditions.push(sql<boolean>`p.payload ? 'clientId' and p.payload->>'clientId' = ${filter.clientId}`);
  if (filter.accountId !== undefined) conditions.push(sql<boolean>`p.account_id = ${filter.accountId}`);
  if (filter.grantId !== undefined) conditions.push(sql<boolean>`p.grant_id = ${filter.grantId}`);
  return conditions;
}

/**
 * A page of live rows of the given models, in (id, model) order after
 * `after` (keyset pagination: stable while rows come and go), with the
 * username of the account each belongs to.
 */
export async function listIssued(
  db: Db,
  realm: string,
  filter: IssuedFilter,
  { after, limit }: { after?: { id: string; model: string } | undefined; limit: number },
): Promise<IssuedRow[]> {
  const conditions = [...issuedConditions(realm, filter), liveRow, liveGrant];
  if (after) conditions.push(sql<boolean>`(p.id, p.model) > (${after.id}, ${after.model})`);
  const result = await sql<IssuedRow>`
    select p.model, p.id, p.payload, p.expires_at, u.username
      from oidc_payloads p
      left join users u on u.realm = p.realm and u.id = p.account_id
     where ${sql.join(conditions, sql` and `)}
     order by p.id, p.model
     limit ${limit}`.execute(db);
  return result.rows;
}

/** One live row by model and id, or undefined. */
export async function findIssued(db: Db, realm: string, model: string, id: string): Promise<IssuedRow | undefined> {
  const result = await sql<IssuedRow>`
    select p.model, p.id, p.payload, p.expires_at, u.username
      from oidc_payloads p
      left join users u on u.realm = p.realm and u.id = p.account_id
     where p.realm = ${realm} and p.model = ${model} and p.id = ${id} and ${liveRow} and ${liveGrant}`.execute(db);
  return result.rows[0];
}

/** The lock of a grant, the very one grantLock (src/store/oidc-payload.repository.ts) takes: the same key, hashed the same way. */
const grantLockOf = (realm: string, grantId: RawBuilder<unknown>) => sql`pg_advisory_xact_lock(hashtextextended(${realm}::text || ' ' || ${grantId}, 0))`;

/** Takes the locks of the grants the filter's rows belong to, in grant order; they are held until the transaction ends. */
async function lockGrantsOf(db: Db, realm: string, filter: IssuedFilter): Promise<void> {
  await sql`
    select ${grantLockOf(realm, sql.ref('g.grant_id'))}
      from (select distinct p.grant_id from oidc_payloads p
             where ${sql.join(issuedConditions(realm, filter), sql` and `)} and p.grant_id is not null
             order by p.grant_id) g`.execute(db);
}

/**
 * Deletes every row of the given models matching the filter, and with it
 * every row of their grants (a grant's tokens die with it), after taking
 * the grants' locks. Must run in a transaction (the locks are
 * transaction-level). Returns how many of the deleted rows were live rows
 * of `counted` models.
 */
export async function deleteIssued(db: Db, realm: string, filter: IssuedFilter, counted: readonly string[]): Promise<number> {
  await lockGrantsOf(db, realm, filter);
  const result = await sql<{ n: string }>`
    with targets as (
      select p.grant_id, p.model, p.id from oidc_payloads p where ${sql.join(issuedConditions(realm, filter), sql` and `)}
    ), deleted as (
      delete from oidc_payloads p
       where p.realm = ${realm}
         and ((p.model, p.id) in (select model, id from targets)
              or p.grant_id in (select grant_id from targets where grant_id is not null))
      returning p.model, p.expires_at, p.consumed_at
    )
    select count(*) filter (where ${counted.length ? sql`model in (${sql.join(counted)})` : sql`false`} and (expires_at is null or expires_at > now()) and consumed_at is null) as n
      from deleted`.execute(db);
  return Number(result.rows[0]?.n ?? 0);
}

/** Deletes one row, and its whole grant when `wholeGrant`, under the grant's lock. Returns whether the row was there. */
export async function deleteOneIssued(db: Db, realm: string, model: string, id: string, { wholeGrant }: { wholeGrant: boolean }): Promise<boolean> {
  await sql`select ${grantLockOf(realm, sql.ref('grant_id'))} from oidc_payloads where realm = ${realm} and model = ${model} and id = ${id} and grant_id is not null`
    .execute(db);
  const result = wholeGrant
    ? await sql<{ model: string }>`
        with target as (select grant_id from oidc_payloads where realm = ${realm} and model = ${model} and id = ${id})
        delete from oidc_payloads p
         where p.realm = ${realm}
           and ((p.model = ${model} and p.id = ${id}) or p.grant_id = (select grant_id from target))
        returning p.model, p.id`.execute(db)
    : await sql<{ model: string }>`delete from oidc_payloads where realm = ${realm} and model = ${model} and id = ${id} returning model, id`.execute(db);
  return result.rows.some((row) => row.model === model);
}
