import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import type { DatabaseSchema } from './database-schema.ts';
import { SerialPGliteDialect } from './pglite-dialect.ts';
import { registerStatementRunner } from './statements.ts';

export type Db = Kysely<DatabaseSchema>;

export interface DatabaseOptions {
  /** A PostgreSQL server; when absent the embedded PGlite database is used. */
  databaseUrl?: string | undefined;
  /** PGlite data directory; `undefined` keeps the embedded database in memory (tests). */
  dataDir?: string | undefined;
  poolMax?: number;
  /** How long a request waits for a connection before failing with 503 (pg's default waits forever). */
  connectTimeoutMs?: number;
  logger: Logger;
}

export interface Database {
  readonly db: Db;
  readonly kind: 'postgres' | 'pglite';
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  return options.databaseUrl ? openPostgres(options.databaseUrl, options) : openPglite(options);
}

function openPostgres(connectionString: string, options: DatabaseOptions): Database {
  const pool = new pg.Pool({
    connectionString,
    max: options.poolMax ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 3000,
    idleTimeoutMillis: 10_000,
    // A query stuck behind a dead server must end, not hang the request.
    query_timeout: 15_000,
    keepAlive: true,
    application_name: 'latchkey',
  });
  // Without this listener an idle client's error (server restart) crashes the process.
  pool.on('error', (error) => {
    options.logger.warn({ err: { message: error.message, code: (error as { code?: string }).code } }, 'idle database connection failed; the pool will reconnect');
  });
  const db = new Kysely<DatabaseSchema>({ dialect: new PostgresDialect({ pool }) });
  registerStatementRunner(db, {
    async run(statement, values) {
      const result = await pool.query({ name: statement.name, text: statement.text, values: [...values] });
      return { rows: result.rows, rowCount: result.rowCount ?? 0 };
    },
  });
  return {
    db,
    kind: 'postgres',
    ping: async () => { await sql`select 1`.execute(db); },
    close: () => db.destroy(),
  };
}

async function openPglite(options: DatabaseOptions): Promise<Database> {
  if (options.dataDir) await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const pglite = await PGlite.create(options.dataDir);
  const db = new Kysely<DatabaseSchema>({ dialect: new SerialPGliteDialect({ pglite }) });
  return {
    db,
    kind: 'pglite',
    ping: async () => { await sql`select 1`.execute(db); },
    close: () => db.destroy(),
  };
}
