import { randomBytes } from 'node:crypto';
import os from 'node:os';
import pg from 'pg';
import { createLogger } from '../src/log/logger.ts';
import { openDatabase } from '../src/store/database.ts';
import { migrateToLatest } from '../src/store/migrator.ts';

/**
 * A fresh, migrated database `latchkey_bench_<random>` on the PostgreSQL
 * server for one benchmark run, dropped at the end. Each database carries a
 * comment naming the host and pid of the benchmark that made it, so that a
 * later run can drop the ones whose benchmark was killed before it could
 * clean up (and never those of a benchmark still running).
 */
export const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? process.env.CI_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const OWNER = `latchkey bench host=${os.hostname()} pid=`;

export interface BenchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

async function withAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function createBenchDatabase(): Promise<BenchDatabase> {
  const name = `latchkey_bench_${randomBytes(6).toString('hex')}`;
  await withAdmin(async (admin) => {
    await dropOrphans(admin);
    await admin.query(`create database ${name}`);
    await admin.query(`comment on database ${name} is '${OWNER}${process.pid}'`);
  });
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  let dropped: Promise<void> | undefined;
  const database: BenchDatabase = {
    name,
    url: url.toString(),
    drop: () => {
      dropped ??= withAdmin(async (admin) => { await admin.query(`drop database if exists ${name} with (force)`); });
      return dropped;
    },
  };
  try {
    const opened = await openDatabase({ databaseUrl: database.url, logger: createLogger('silent') });
    try {
      await migrateToLatest(opened.db);
    } finally {
      await opened.close();
    }
  } catch (error) {
    await database.drop();
    throw error;
  }
  return database;
}

/** Drops bench databases left by a benchmark on this host whose process is gone. */
async function dropOrphans(admin: pg.Client): Promise<void> {
  const { rows } = await admin.query<{ datname: string; note: string | null }>(
    `select datname, shobj_description(oid, 'pg_database') as note from pg_database where datname like 'latchkey\\_bench\\_%'`,
  );
  for (const { datname, note } of rows) {
    if (!note?.startsWith(OWNER) || !/^latchkey_bench_[0-9a-f]+$/.test(datname)) continue;
    const pid = Number(note.slice(OWNER.length));
    if (pid && !isAlive(pid)) {
      await admin.query(`drop database if exists ${datname} with (force)`);
      process.stderr.write(`dropped ${datname}, left behind by benchmark pid ${pid}\n`);
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
