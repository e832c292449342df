import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { CompiledQuery, Kysely, PostgresDialect, sql, type Dialect, type QueryResult } from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import { isDatabaseUnavailable } from '../errors/index.ts';
import type { DatabaseSchema } from './database-schema.ts';
import { acquireEmbeddedLock, type EmbeddedLock } from './embedded-lock.ts';
import type { InMemoryDatabases } from './in-memory-databases.ts';
import { SerialPGliteDialect, type SerialDriver } from './pglite-dialect.ts';
import type { Statement, StatementResult } from './statements.ts';
import { UnitAwareDialect } from './unit-aware-dialect.ts';
import { inTransaction, UnitOfWork, type ReservedConnection, type UnitBackend } from './unit-of-work.ts';

/**
 * The query builder for the schema, plus what only the opened database
 * knows: how to run the hot path's fixed statements (src/store/statements.ts)
 * and how to give a request its unit of work (src/store/unit-of-work.ts).
 */
export class Db extends Kysely<DatabaseSchema> {
  readonly #backend: UnitBackend;

  constructor(dialect: Dialect, backend: UnitBackend) {
    super({ dialect });
    this.#backend = backend;
  }

  /** Runs a fixed statement: inside the current request's unit of work when there is one, else alone on the pool. */
  async run<R>(statement: Statement, values: readonly unknown[]): Promise<StatementResult<R>> {
    const unit = UnitOfWork.active(this.#backend.owner);
    if (unit) return unit.execute<R>(statement, values, statement.effect ?? 'read');
    return this.#backend.runAlone<R>(statement, values);
  }

  /** Whether reads of the current request must go through its transaction (they would miss its writes otherwise). */
  readsJoinUnit(): boolean {
    return UnitOfWork.active(this.#backend.owner)?.writing === true;
  }

  /** Runs `effect` after the current request's unit of work commits, or now outside one. */
  afterCommit(effect: () => void): void {
    const unit = UnitOfWork.active(this.#backend.owner);
    if (unit) unit.afterCommit(effect);
    else effect();
  }

  /**
   * Runs statements that must commit together: in the current request's
   * unit of work when there is one (its commit covers them), else in a
   * transaction of their own (the CLI, a timer), rolled back when `work`
   * throws. A service with more than one write per change goes through it,
   * so the change is whole whoever calls it.
   */
  async atomically<T>(work: () => Promise<T>): Promise<T> {
    if (UnitOfWork.active(this.#backend.owner)) return work();
    return inTransaction(this.unitOfWork(), work);
  }

  /** A new unit of work for one request on this database. */
  unitOfWork(): UnitOfWork {
    return new UnitOfWork(this.#backend);
  }
}

export interface DatabaseOptions {
  /** A PostgreSQL server; when absent the embedded PGlite database is used. */
  databaseUrl?: string | undefined;
  /** PGlite data directory; `undefined` keeps the embedded database in memory (tests). */
  dataDir?: string | undefined;
  /**
   * For an in-memory embedded database: a data directory made earlier by
   * `emptyEmbeddedImage()` to start from, instead of running initdb again
   * (about 2.5 s of CPU each time; loading the image takes a third of that).
   */
  embeddedImage?: Blob | undefined;
  /**
   * For an in-memory embedded database: where to take it from, and give it
   * back to on close, instead of opening and closing one (src/store/in-memory-databases.ts).
   */
  inMemoryDatabases?: InMemoryDatabases | undefined;
  poolMax?: number;
  /** How long a request waits for a connection before failing with 503 (pg's default waits forever). */
  connectTimeoutMs?: number;
  /**
   * How long one statement may take before it counts as an outage (default:
   * the connect timeout). A partitioned network leaves a query unanswered
   * forever; this bounds what a request can wait. 0 turns it off, for
   * migrations, which may legitimately run long.
   */
  queryTimeoutMs?: number;
  /** Who holds the embedded database's lock, as the refusal names it: `server` or the CLI command. */
  role?: string;
  logger: Logger;
}

export interface Database {
  readonly db: Db;
  readonly kind: 'postgres' | 'pglite';
  /** A unit of work for one request (src/store/unit-of-work.ts). */
  unitOfWork(): UnitOfWork;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  /** Its connections now, and its errors so far (read by the metrics at each scrape). */
  usage(): ConnectionUsage;
  close(): Promise<void>;
}

export interface ConnectionUsage {
  kind: 'postgres' | 'pglite';
  inUse: number;
  idle: number;
  /** Requests waiting for a connection (PGlite: statements waiting for its single connection). */
  waiting: number;
  /** Connections lost, and statements that failed because the database was unreachable, since it was opened. */
  errors: number;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  return options.databaseUrl ? openPostgres(options.databaseUrl, options) : openPglite(options);
}

function openPostgres(connectionString: string, options: DatabaseOptions): Database {
  const connectTimeoutMs = options.connectTimeoutMs ?? 3000;
  const queryTimeoutMs = options.queryTimeoutMs ?? connectTimeoutMs;
  const pool = new pg.Pool({
    connectionString,
    max: options.poolMax ?? 10,
    connectionTimeoutMillis: connectTimeoutMs,
    idleTimeoutMillis: 10_000,
    // Client side: a query on a connection that went silent (partition) ends.
    // Server side: the same bound frees the backend of a statement stuck on a lock.
    ...(queryTimeoutMs > 0 ? { query_timeout: queryTimeoutMs, statement_timeout: queryTimeoutMs } : {}),
    keepAlive: true,
    application_name: 'latchkey',
  });
  let errors = 0;
  const warn = (what: string) => (error: Error) => {
    errors += 1;
    options.logger.warn({ err: { message: error.message, code: (error as { code?: string }).code } }, what);
  };
  /** Counts an outage seen by a statement or a connect, for the metrics; the error goes on as it was. */
  const counted = (error: unknown): never => {
    if (isDatabaseUnavailable(error)) errors += 1;
    throw error;
  };
  // Without a listener an 'error' event ends the process. pg-pool listens on
  // idle connections only; a connection in use (by a request, a transaction)
  // whose backend is terminated emits 'error' too, so every connection gets one.
  pool.on('error', warn('idle database connection failed; the pool will reconnect'));
  pool.on('connect', (client) => { client.on('error', warn('database connection failed; it will be discarded')); });

  const owner = {};
  const runAlone = async <R>(statement: Statement, values: readonly unknown[]): Promise<StatementResult<R>> => {
    // pool.query discards the connection when the query fails.
    const result = await pool.query({ name: statement.name, text: statement.text, values: [...values] }).catch(counted);
    return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
  };
  const backend: UnitBackend = {
    owner,
    runAlone,
    async reserve() {
      return reservedPgConnection(await pool.connect().catch(counted), counted);
    },
  };
  const db = new Db(new UnitAwareDialect(new PostgresDialect({ pool: discardingFailedConnections(pool, counted) }), owner), backend);
  return {
    db,
    kind: 'postgres',
    unitOfWork: () => db.unitOfWork(),
    ping: async () => { await UnitOfWork.outside(() => sql`select 1`.execute(db)); },
    usage: () => ({ kind: 'postgres', inUse: pool.totalCount - pool.idleCount, idle: pool.idleCount, waiting: pool.waitingCount, errors }),
    close: () => db.destroy(),
  };
}

/**
 * kysely hands a connection back to the pool as it is, even after its query
 * timed out on a silent network; reusing it would queue the next request
 * behind the lost answer. A connection that saw an outage is discarded.
 */
function discardingFailedConnections(pool: pg.Pool, counted: (error: unknown) => never) {
  return {
    async connect() {
      const client = await pool.connect().catch(counted);
      let failed: Error | undefined;
      return {
        query: ((...args: Parameters<pg.PoolClient['query']>) => {
          const pending = (client.query as (...a: unknown[]) => unknown)(...args);
          if (pending instanceof Promise) {
            return pending.catch((error: Error) => {
              if (isDatabaseUnavailable(error)) failed = error;
              return counted(error);
            });
          }
          return pending;
        }) as pg.PoolClient['query'],
        release: (discard?: boolean) => client.release(discard || failed ? (failed ?? true) : undefined),
      };
    },
    end: () => pool.end(),
    options: pool.options,
  };
}

function reservedPgConnection(client: pg.PoolClient, counted: (error: unknown) => never): ReservedConnection {
  let failed = false;
  // The engine writes in parallel at times (Promise.all); one connection runs one query at a time.
  let tail: Promise<unknown> = Promise.resolve();
  const query = (config: pg.QueryConfig) => {
    const run = tail.then(async () => {
      try {
        return await client.query(config);
      } catch (error) {
        if (isDatabaseUnavailable(error)) failed = true;
        return counted(error);
      }
    });
    tail = run.catch(() => {});
    return run;
  };
  return {
    async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
      const result = await query({ text: compiled.sql, values: [...compiled.parameters] });
      if (result.command === 'COMMIT' || result.command === 'ROLLBACK') return { rows: [{ command: result.command }] as R[] };
      const writes = ['INSERT', 'UPDATE', 'DELETE', 'MERGE'].includes(result.command);
      return { rows: result.rows as R[], ...(writes ? { numAffectedRows: BigInt(result.rowCount ?? 0) } : {}) };
    },
    // eslint-disable-next-line require-yield
    async *streamQuery() {
      throw new Error('streaming is not used inside a unit of work');
    },
    async run<R>(statement: Statement, values: readonly unknown[]): Promise<StatementResult<R>> {
      const result = await query({ name: statement.name, text: statement.text, values: [...values] });
      return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
    },
    async release(discard) {
      client.release(discard || failed ? true : undefined);
    },
  };
}

/**
 * A freshly initialised, empty embedded database as a tar image (PGlite's
 * own dump format), for `embeddedImage`: what initdb leaves, nothing more, so
 * a database started from it is migrated like any new one.
 */
export async function emptyEmbeddedImage(): Promise<Blob> {
  const pglite = await PGlite.create();
  try {
    return await pglite.dumpDataDir('none');
  } finally {
    await pglite.close();
  }
}

async function openPglite(options: DatabaseOptions): Promise<Database> {
  // PGlite does not guard its directory against a second process: the lock does (src/store/embedded-lock.ts).
  let lock: EmbeddedLock | undefined;
  if (options.dataDir) {
    lock = await acquireEmbeddedLock(path.dirname(options.dataDir), options.role ?? 'server');
  }
  try {
    if (options.dataDir) await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
    const lender = options.dataDir ? undefined : options.inMemoryDatabases;
    const pglite = lender
      ? await lender.take()
      : options.dataDir || !options.embeddedImage
        ? await PGlite.create(options.dataDir)
        : await PGlite.create({ loadDataDir: options.embeddedImage });
    const owner = {};
    const dialect = new UnitAwareDialect(new SerialPGliteDialect({ pglite }), owner);
    const raw = async <R>(connection: { executeQuery: (q: CompiledQuery) => Promise<QueryResult<unknown>> }, statement: Statement, values: readonly unknown[]): Promise<StatementResult<R>> => {
      const result = await connection.executeQuery(CompiledQuery.raw(statement.text, [...values]));
      return { rows: result.rows as R[], rowCount: Number(result.numAffectedRows ?? 0n) };
    };
    const backend: UnitBackend = {
      owner,
      runAlone: (statement, values) => raw(db, statement, values),
      async reserve() {
        const driver = dialect.innerDriver;
        const connection = await driver.acquireConnection();
        return {
          executeQuery: (compiled) => connection.executeQuery(compiled),
          streamQuery: (compiled, chunkSize) => connection.streamQuery(compiled, chunkSize),
          run: (statement, values) => raw(connection, statement, values),
          release: () => driver.releaseConnection(connection),
        };
      },
    };
    const db = new Db(dialect, backend);
    const serial = dialect.innerDriver as SerialDriver;
    return {
      db,
      kind: 'pglite',
      unitOfWork: () => db.unitOfWork(),
      ping: async () => { await UnitOfWork.outside(() => sql`select 1`.execute(db)); },
      usage() {
        // One connection, in this process: no connection is lost, and a failed statement is no outage of a server.
        const { waiting, inUse } = serial.usage;
        return { kind: 'pglite', inUse: inUse ? 1 : 0, idle: inUse ? 0 : 1, waiting, errors: 0 };
      },
      async close() {
        try {
          // A lent database goes back whole: kysely's destroy() would close it.
          await (lender ? lender.giveBack(pglite) : db.destroy());
        } finally {
          await lock?.release();
        }
      },
    };
  } catch (error) {
    await lock?.release();
    throw error;
  }
}
