import { sql } from 'kysely';
import type { Db } from './database.ts';
import type { ResourceServerRow } from './resource-server.table.ts';

export type StoredResourceServer = Omit<ResourceServerRow, 'realm'>;

export interface ResourceServerFields {
  scopes: string[];
  token_format: 'jwt' | 'opaque';
  token_lifetime: number | null;
  signing_alg: string;
}

const COLUMNS = ['identifier', 'scopes', 'token_format', 'token_lifetime', 'signing_alg', 'created_at', 'updated_at'] as const;

export async function listResourceServers(db: Db, realm: string): Promise<StoredResourceServer[]> {
  return db.selectFrom('resource_servers').select(COLUMNS).where('realm', '=', realm).orderBy('identifier').execute();
}

export async function findResourceServer(db: Db, realm: string, identifier: string): Promise<StoredResourceServer | undefined> {
  return db.selectFrom('resource_servers').select(COLUMNS).where('realm', '=', realm).where('identifier', '=', identifier).executeTakeFirst();
}

/** Inserts or replaces a resource server; returns true when it was newly created. */
export async function upsertResourceServer(db: Db, realm: string, identifier: string, fields: ResourceServerFields): Promise<boolean> {
  const row = await db
    .insertInto('resource_servers')
    .values({ realm, identifier, ...fields, scopes: JSON.stringify(fields.scopes) })
    .onConflict((oc) => oc.columns(['realm', 'identifier']).doUpdateSet((eb) => ({
      scopes: eb.ref('excluded.scopes'),
      token_format: eb.ref('excluded.token_format'),
      token_lifetime: eb.ref('excluded.token_lifetime'),
      signing_alg: eb.ref('excluded.signing_alg'),
      updated_at: new Date(),
    })))
    .returning(sql<boolean>`xmax = 0`.as('created')) // xmax is 0 only for a freshly inserted row
    .executeTakeFirstOrThrow();
  return Boolean(row.created);
}

export async function deleteResourceServer(db: Db, realm: string, identifier: string): Promise<boolean> {
  const result = await db.deleteFrom('resource_servers').where('realm', '=', realm).where('identifier', '=', identifier).executeTakeFirst();
  return result.numDeletedRows === 1n;
}
