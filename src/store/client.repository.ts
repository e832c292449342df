import { sql } from 'kysely';
import type { Db } from './database.ts';
import type { ClientRow } from './client.table.ts';

export type StoredClient = Pick<ClientRow,
  'client_id' | 'metadata' | 'secret_hash' | 'disabled_at' | 'previous_secret_hash' | 'previous_secret_expires_at' | 'created_at' | 'updated_at'>;

const COLUMNS = [
  'client_id', 'metadata', 'secret_hash', 'disabled_at', 'previous_secret_hash', 'previous_secret_expires_at', 'created_at', 'updated_at',
] as const;

export async function findClient(db: Db, realm: string, clientId: string): Promise<StoredClient | undefined> {
  return db
    .selectFrom('clients')
    .select(COLUMNS)
    .where('realm', '=', realm)
    .where('client_id', '=', clientId)
    .executeTakeFirst();
}

/** How many clients the realm has. */
export async function countClients(db: Db, realm: string): Promise<number> {
  const row = await db.selectFrom('clients').select((eb) => eb.fn.countAll<string>().as('count')).where('realm', '=', realm).executeTakeFirstOrThrow();
  return Number(row.count);
}

export async function listClients(db: Db, realm: string): Promise<StoredClient[]> {
  return db
    .selectFrom('clients')
    .select(COLUMNS)
    .where('realm', '=', realm)
    .orderBy('client_id')
    .execute();
}

/**
 * A page of clients in client_id order after `after` (exclusive): keyset
 * pagination on the primary key's order, stable while clients are added or
 * removed between pages, unlike an offset.
 */
export async function listClientsPage(db: Db, realm: string, { after, limit }: { after?: string | undefined; limit: number }): Promise<StoredClient[]> {
  let query = db
    .selectFrom('clients')
    .select(COLUMNS)
    .where('realm', '=', realm);
  if (after !== undefined) query = query.where('client_id', '>', after);
  return query.orderBy('client_id').limit(limit).execute();
}

/** Whether any client of the realm lists the grant type (for discovery, which lists opt-in grants only where used). */
export async function someClientHasGrantType(db: Db, realm: string, grantType: string): Promise<boolean> {
  const row = await db
    .selectFrom('clients')
    .select(sql<number>`1`.as('one'))
    .where('realm', '=', realm)
    .where(sql<boolean>`metadata->'grant_types' @> ${JSON.stringify([grantType])}::jsonb`)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** Inserts or replaces a client; returns true when it was newly created. */
export async function upsertClient(
  db: Db,
  realm: string,
  clientId: string,
  metadata: Record<string, unknown>,
  secretHash: string | null,
): Promise<boolean> {
  const row = await db
    .insertInto('clients')
    .values({ realm, client_id: clientId, metadata: JSON.stringify(metadata), secret_hash: secretHash })
    .onConflict((oc) => oc.columns(['realm', 'client_id']).doUpdateSet((eb) => ({
      metadata: eb.ref('excluded.metadata'),
      secret_hash: eb.ref('excluded.secret_hash'),
      updated_at: new Date(),
    })))
    .returning(sql<boolean>`xmax = 0`.as('created')) // xmax is 0 only for a freshly inserted row
    .executeTakeFirstOrThrow();
  return Boolean(row.created);
}

/**
 * Adds a client unless one with its id exists; returns whether it was added.
 * Atomic: of two concurrent inserts of one id exactly one adds it.
 */
export async function insertClient(
  db: Db,
  realm: string,
  clientId: string,
  metadata: Record<string, unknown>,
  secretHash: string | null,
): Promise<boolean> {
  const rows = await db
    .insertInto('clients')
    .values({ realm, client_id: clientId, metadata: JSON.stringify(metadata), secret_hash: secretHash })
    .onConflict((oc) => oc.columns(['realm', 'client_id']).doNothing())
    .returning('client_id')
    .execute();
  return rows.length === 1;
}

/** Replaces an existing client's metadata and secret hash; returns whether the client existed. */
export async function updateClient(
  db: Db,
  realm: string,
  clientId: string,
  metadata: Record<string, unknown>,
  secretHash: string | null,
): Promise<boolean> {
  const result = await db
    .updateTable('clients')
    .set({
      metadata: JSON.stringify(metadata),
      secret_hash: secretHash,
      // A client that no longer takes a secret keeps no previous one either.
      ...(secretHash === null ? { previous_secret_hash: null, previous_secret_expires_at: null } : {}),
      updated_at: new Date(),
    })
    .where('realm', '=', realm)
    .where('client_id', '=', clientId)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

export async function deleteClient(db: Db, realm: string, clientId: string): Promise<boolean> {
  const result = await db
    .deleteFrom('clients')
    .where('realm', '=', realm)
    .where('client_id', '=', clientId)
    .executeTakeFirst();
  return result.numDeletedRows === 1n;
}

/** Disables (now) or enables a client; returns whether it exists. */
export async function setClientDisabled(db: Db, realm: string, clientId: string, disabled: boolean): Promise<boolean> {
  const result = await db
    .updateTable('clients')
    .set((eb) => ({
      // Disabling a disabled client keeps the time it was first disabled.
      disabled_at: disabled ? eb.fn.coalesce('disabled_at', sql<Date>`now()`) : null,
      updated_at: new Date(),
    }))
    .where('realm', '=', realm)
    .where('client_id', '=', clientId)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/**
 * Replaces a client's secret with `secretHash`, keeping the one it had as
 * the previous secret until `overlapSeconds` from now (0: gone at once).
 * One statement, so concurrent rotations queue on the row: each keeps the
 * secret the one before it set. Returns the client, or undefined when it
 * has no secret to rotate (or does not exist).
 */
export async function rotateClientSecret(
  db: Db,
  realm: string,
  clientId: string,
  secretHash: string,
  overlapSeconds: number,
): Promise<StoredClient | undefined> {
  return db
    .updateTable('clients')
    .set((eb) => ({
      previous_secret_hash: overlapSeconds > 0 ? eb.ref('secret_hash') : null,
      previous_secret_expires_at: overlapSeconds > 0 ? sql<Date>`now() + make_interval(secs => ${overlapSeconds})` : null,
      secret_hash: secretHash,
      updated_at: new Date(),
    }))
    .where('realm', '=', realm)
    .where('client_id', '=', clientId)
    .where('secret_hash', 'is not', null)
    .returning(COLUMNS)
    .executeTakeFirst();
}

/** Forgets previous secrets whose overlap has ended; returns how many. */
export async function forgetExpiredPreviousSecrets(db: Db): Promise<number> {
  const result = await db
    .updateTable('clients')
    .set({ previous_secret_hash: null, previous_secret_expires_at: null })
    .where('previous_secret_expires_at', '<=', sql<Date>`now()`)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}
