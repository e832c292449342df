import type { Test } from 'tap';
import { migrate } from './latchkey-under-test.ts';
import { postgresReachable, TcpProxy } from './tcp-proxy.ts';
import { createTestDatabase } from './test-database.ts';

export interface ProxiedDatabase {
  /** The migrated database, reached directly (for the test's own look at it). */
  databaseUrl: string;
  /** The same database through the proxy (for the server under test). */
  viaProxy: string;
  proxy: TcpProxy;
}

/**
 * A fresh, migrated database on the PostgreSQL server, behind a TcpProxy the
 * test can break; dropped when `t` ends. Fault tests need a server even in
 * the embedded run of the suite, so the local one is used when DATABASE_URL
 * is unset; undefined when no server is reachable.
 */
export async function proxiedDatabase(t: Test): Promise<ProxiedDatabase | undefined> {
  const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  if (!(await postgresReachable(serverUrl))) return undefined;
  process.env.DATABASE_URL ??= serverUrl;
  const database = await createTestDatabase();
  t.teardown(() => database.drop());
  await migrate(database.databaseUrl!);
  const real = new URL(database.databaseUrl!);
  const proxy = new TcpProxy({ host: real.hostname, port: Number(real.port || 5432) });
  await proxy.start();
  t.teardown(() => proxy.close());
  const viaProxy = new URL(real);
  viaProxy.port = String(proxy.port);
  return { databaseUrl: database.databaseUrl!, viaProxy: viaProxy.toString(), proxy };
}
