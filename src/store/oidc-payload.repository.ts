import { sql } from 'kysely';
import type { Db } from './database.ts';
import type { Statement } from './statements.ts';
import type { NewOidcPayloadRow, OidcPayloadRow } from './oidc-payload.table.ts';

// Repository for oidc-provider's models. Every function is a single
// statement, atomic on its own; inside a request they join its unit of work
// (src/store/unit-of-work.ts), as their `effect` says.

type Found = Pick<OidcPayloadRow, 'payload' | 'consumed_at'>;

const UPSERT: Statement = {
  name: 'latchkey_payload_upsert',
  effect: 'write',
  text: `insert into oidc_payloads (realm, model, id, payload, grant_id, account_id, uid, user_code, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         on conflict (realm, model, id) do update set
           payload = excluded.payload, grant_id = excluded.grant_id, account_id = excluded.account_id,
           uid = excluded.uid, user_code = excluded.user_code, expires_at = excluded.expires_at`,
};

export async function upsertPayload(db: Db, row: NewOidcPayloadRow): Promise<void> {
  await db.run(UPSERT, [
    row.realm, row.model, row.id, row.payload, row.grant_id ?? null, row.account_id ?? null,
    row.uid ?? null, row.user_code ?? null, row.expires_at ?? null,
  ]);
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

/** A row found by id, with the Grant and Session it belongs to (read in the same statement). */
export type FoundWithGrant = Found & {
  model: string;
  grant_id: string | null;
  grant_payload: Record<string, unknown> | null;
  /** Digest of the Session's uid, when the Session was found. */
  session_uid: string | null;
  session_payload: Record<string, unknown> | null;
};

/** SHA-256 base64url in SQL, exactly as src/oidc/payload-adapter.ts digests ids and uids. */
export const digestOf = (expression: string) => `translate(rtrim(encode(sha256(convert_to(${expression}, 'UTF8')), 'base64'), '='), '+/', '-_')`;

/**
 * One primary-key lookup of a row of model `$n`, joined to the live Grant and
 * Session it belongs to: oidc-provider looks both up right after a user's
 * token (introspection, userinfo, refresh), and this saves those round
 * trips. Both joins use the primary key or the uid index.
 */
function lookUpWithGrant(modelParameter: string): string {
  return `select p.model, p.payload, p.consumed_at, p.grant_id, g.payload as grant_payload, s.uid as session_uid, s.payload as session_payload
    from oidc_payloads p
    left join oidc_payloads g
      on p.grant_id is not null and p.model <> 'Grant'
     and g.realm = p.realm and g.model = 'Grant' and g.id = ${digestOf('p.grant_id')}
     and (g.expires_at is null or g.expires_at > now())
    left join oidc_payloads s
      on p.payload ? 'sessionUid' and p.model <> 'Session'
     and s.realm = p.realm and s.model = 'Session' and s.uid = ${digestOf("p.payload->>'sessionUid'")}
     and (s.expires_at is null or s.expires_at > now())
    where p.realm = $1 and p.model = ${modelParameter} and p.id = $2 and (p.expires_at is null or p.expires_at > now())`;
}

const FIND: Statement = { name: 'latchkey_payload_find', text: lookUpWithGrant('$3') };

export async function findPayload(db: Db, realm: string, model: string, id: string): Promise<FoundWithGrant | undefined> {
  return (await db.run<FoundWithGrant>(FIND, [realm, id, model])).rows[0];
}

/**
 * One id looked up as several models at once (introspection asks for a
 * token as AccessToken, ClientCredentials and RefreshToken in parallel).
 * A UNION ALL of exact primary-key lookups: `model in (…)` or `= any(…)` let
 * the planner use only (realm) as the index condition and scan every row of
 * the realm, which it does when statistics are stale.
 */
const findAcrossModels = new Map<number, Statement>();

export async function findPayloadAcrossModels(db: Db, realm: string, models: readonly string[], id: string): Promise<FoundWithGrant[]> {
  let statement = findAcrossModels.get(models.length);
  if (!statement) {
    statement = {
      name: `latchkey_payload_find_${models.length}`,
      text: models.map((_, i) => lookUpWithGrant(`$${i + 3}`)).join(' union all '),
    };
    findAcrossModels.set(models.length, statement);
  }
  return (await db.run<FoundWithGrant>(statement, [realm, id, ...models])).rows;
}

const FIND_BY_UID: Statement = {
  name: 'latchkey_payload_find_by_uid',
  text: 'select payload, consumed_at from oidc_payloads where realm = $1 and model = $2 and uid = $3 and (expires_at is null or expires_at > now())',
};

export async function findPayloadByUid(db: Db, realm: string, model: string, uid: string): Promise<Found | undefined> {
  return (await db.run<Found>(FIND_BY_UID, [realm, model, uid])).rows[0];
}

export async function findPayloadByUserCode(db: Db, realm: string, model: string, userCode: string): Promise<Found | undefined> {
  return live(db, realm, model).where('user_code', '=', userCode).executeTakeFirst();
}

/**
 * Changing rows of a grant (consuming a code or refresh token, deleting a
 * token or the whole grant) takes the grant's lock first (a transaction-level
 * advisory lock on realm and grant id), then the rows. Whatever deletes
 * rows of one grant (one token, or the whole grant when a code or refresh
 * token is replayed) thus queues on one lock instead of locking the grant's
 * rows in different orders: the engine answers a replayed refresh token by
 * deleting that token and then its grant, while the requests that lost the
 * race to consume it delete the grant, and on PostgreSQL those deadlocked
 * with each other and with the consumes still waiting (found by racing six
 * refreshes of one token). Rows inserted for a grant (new tokens) are seen
 * by nobody else until their unit commits, so they need no lock. The lock is taken in the
 * statement, before any row is: the uncorrelated sub-select runs once, as
 * the scan evaluates its first row, before that row is locked.
 */
const grantLock = (grantId: string) => `pg_advisory_xact_lock(hashtextextended($1 || ' ' || ${grantId}, 0))`;

/**
 * Marks a row consumed, under the grant's lock (grantLock). Atomic: of two
 * concurrent calls for the same row exactly one returns true; the other (and
 * any later call) returns false. Inside a unit of work the loser waits until
 * the winner's unit settles: if the winner rolls back, the loser wins.
 */
const CONSUME: Statement = {
  name: 'latchkey_payload_consume',
  effect: 'claim',
  text: `with grant_lock as (
           select ${grantLock('grant_id')} from oidc_payloads
            where realm = $1 and model = $2 and id = $3 and grant_id is not null
         )
         update oidc_payloads set consumed_at = now()
          where realm = $1 and model = $2 and id = $3 and consumed_at is null and (select count(*) from grant_lock) >= 0`,
};

export async function consumePayload(db: Db, realm: string, model: string, id: string): Promise<boolean> {
  return (await db.run(CONSUME, [realm, model, id])).rowCount === 1;
}

const DESTROY: Statement = {
  name: 'latchkey_payload_destroy',
  effect: 'write',
  text: `with grant_lock as (
           select ${grantLock('grant_id')} from oidc_payloads
            where realm = $1 and model = $2 and id = $3 and grant_id is not null
         )
         delete from oidc_payloads where realm = $1 and model = $2 and id = $3 and (select count(*) from grant_lock) >= 0`,
};

export async function destroyPayload(db: Db, realm: string, model: string, id: string): Promise<void> {
  await db.run(DESTROY, [realm, model, id]);
}

/**
 * Deletes a row and says whether this call deleted it. Atomic like
 * consumePayload: of concurrent calls exactly one returns true.
 */
const TAKE: Statement = {
  name: 'latchkey_payload_take',
  effect: 'claim',
  text: 'delete from oidc_payloads where realm = $1 and model = $2 and id = $3',
};

export async function takePayload(db: Db, realm: string, model: string, id: string): Promise<boolean> {
  return (await db.run(TAKE, [realm, model, id])).rowCount === 1;
}

/** Deletes every row of a grant (tokens, codes and the Grant itself), under the grant's lock (grantLock). */
const DELETE_GRANT: Statement = {
  name: 'latchkey_payload_delete_grant',
  effect: 'write',
  text: `with grant_lock as (select ${grantLock('$2')})
         delete from oidc_payloads where realm = $1 and grant_id = $2 and (select count(*) from grant_lock) = 1`,
};

export async function deleteGrant(db: Db, realm: string, grantId: string): Promise<void> {
  await db.run(DELETE_GRANT, [realm, grantId]);
}

/** Deletes the whole grant that the given row belongs to, in one statement, under the grant's lock (grantLock). */
const DELETE_GRANT_OF: Statement = {
  name: 'latchkey_payload_delete_grant_of',
  effect: 'write',
  text: `with target as (select grant_id from oidc_payloads where realm = $1 and model = $2 and id = $3 and grant_id is not null),
         grant_lock as (select ${grantLock('grant_id')} from target)
         delete from oidc_payloads
          where realm = $1 and grant_id = (select grant_id from target) and (select count(*) from grant_lock) >= 0`,
};

export async function deleteGrantOf(db: Db, realm: string, model: string, id: string): Promise<void> {
  await db.run(DELETE_GRANT_OF, [realm, model, id]);
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

/** Expired rows not yet swept (the partial index on expires_at serves it). */
export async function countExpiredPayloads(db: Db): Promise<number> {
  const row = await db
    .selectFrom('oidc_payloads')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('expires_at', '<', sql<Date>`now()`)
    .executeTakeFirstOrThrow();
  return Number(row.n);
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
    .where(sql<boolean>`payload ? 'clientId'`) // the condition of oidc_payloads_client_idx
    .where(sql`payload->>'clientId'`, '=', clientId)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
