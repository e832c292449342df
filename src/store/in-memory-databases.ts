import { PGlite } from '@electric-sql/pglite';

/**
 * In-memory embedded databases for the servers one process starts and stops
 * in turn (the library, src/library.ts: a test suite starting a Latchkey per
 * test). Opening PGlite from the initdb image costs about a second of CPU:
 * starting PostgreSQL inside WebAssembly, whatever the image holds. A
 * database given back after its server stopped is emptied instead (every
 * row of every table, identities restarted, the session discarded) and
 * handed to the next server, whose migrations then find nothing to do: the
 * same state a new one would have, in milliseconds.
 *
 * A database is only ever lent to one server at a time; servers running at
 * once each get their own. At most `keep` wait idle; more are closed.
 */
export class InMemoryDatabases {
  readonly #image: () => Promise<Blob>;
  readonly #keep: number;
  readonly #idle: PGlite[] = [];

  constructor(image: () => Promise<Blob>, { keep = 2 }: { keep?: number } = {}) {
    this.#image = image;
    this.#keep = keep;
  }

  async take(): Promise<PGlite> {
    const idle = this.#idle.pop();
    if (idle) return idle;
    const pglite = await PGlite.create({
      loadDataDir: await this.#image(),
      // Startup progress is reported on a repeating timer that PGlite never stops; nothing here reads it.
      startParams: [...PGlite.defaultStartParams, '-c', 'log_startup_progress_interval=0'],
    });
    return lettingTheProcessExit(pglite);
  }

  /**
   * Empties `pglite` for its next server, or closes it when it cannot be
   * made as new (a schema no migration made: something other than Latchkey
   * changed it; a statement that fails) or enough wait already.
   */
  async giveBack(pglite: PGlite): Promise<void> {
    try {
      if (this.#idle.length < this.#keep && await emptied(pglite)) {
        this.#idle.push(pglite);
        return;
      }
    } catch {
      // Not reusable, whatever went wrong: closed below like any extra one.
    }
    await pglite.close();
  }
}

/**
 * PostgreSQL inside PGlite keeps its alarms (statistics flushes, startup
 * progress) as Node timers, armed while a statement runs or when an alarm
 * fires. Closing PGlite clears them; a database waiting idle here must not
 * keep the process alive through them, or a test runner would not exit after
 * its last server stopped. So the timers this database arms are unreferenced:
 * every statement runs synchronously inside execProtocolRawSync, and
 * `setTimeout` is swapped only for that call (no other code runs during it).
 */
function lettingTheProcessExit(pglite: PGlite): PGlite {
  const run = pglite.execProtocolRawSync.bind(pglite);
  pglite.execProtocolRawSync = (message) => withUnreferencedTimers(() => run(message));
  return pglite;
}

function withUnreferencedTimers<T>(work: () => T): T {
  const setTimeout = globalThis.setTimeout;
  globalThis.setTimeout = ((callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    // The alarm's handler re-arms the next alarm: its timers too.
    const timer = setTimeout(() => withUnreferencedTimers(() => callback(...args)), ms);
    timer.unref();
    return timer;
  }) as typeof globalThis.setTimeout;
  try {
    return work();
  } finally {
    globalThis.setTimeout = setTimeout;
  }
}

/** What a server leaves in its database but its tables' rows: temporary tables, prepared statements, settings, advisory locks. */
const DISCARD_SESSION = 'DISCARD ALL';

/** The tables a server fills: every table of `public` but the migrations' own bookkeeping. */
const FILLED_TABLES = `
  SELECT format('%I.%I', schemaname, tablename) AS name
    FROM pg_tables
   WHERE schemaname = 'public' AND tablename NOT IN ('kysely_migration', 'kysely_migration_lock')`;

/** Schemas beyond PostgreSQL's own and `public`: only something other than the migrations makes them. */
const FOREIGN_SCHEMAS = `
  SELECT count(*)::int AS count
    FROM pg_namespace
   WHERE nspname NOT IN ('public', 'information_schema') AND nspname NOT LIKE 'pg\\_%'`;

async function emptied(pglite: PGlite): Promise<boolean> {
  await pglite.exec(DISCARD_SESSION);
  const foreign = await pglite.query<{ count: number }>(FOREIGN_SCHEMAS);
  if (foreign.rows[0]!.count !== 0) return false;
  const tables = (await pglite.query<{ name: string }>(FILLED_TABLES)).rows.map((row) => row.name);
  if (tables.length) await pglite.exec(`TRUNCATE ${tables.join(', ')} RESTART IDENTITY CASCADE`);
  return true;
}
