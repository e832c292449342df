import { CompiledQuery } from 'kysely';
import type { Db } from './database.ts';

/**
 * The hot path's SQL (token lookups, writes and consumption) as fixed
 * statements with stable names. On a PostgreSQL server they run as named
 * prepared statements, parsed and planned once per connection; elsewhere
 * (PGlite) they go through kysely as plain parameterised queries. Both paths
 * see the same rows, types and errors.
 */
export interface Statement {
  readonly name: string;
  readonly text: string;
}

export interface StatementResult<R> {
  rows: R[];
  /** Rows written by INSERT/UPDATE/DELETE. */
  rowCount: number;
}

export interface StatementRunner {
  run<R>(statement: Statement, values: readonly unknown[]): Promise<StatementResult<R>>;
}

const runners = new WeakMap<Db, StatementRunner>();

/** Called by openDatabase for a connection pool that can prepare statements. */
export function registerStatementRunner(db: Db, runner: StatementRunner): void {
  runners.set(db, runner);
}

export async function runStatement<R>(db: Db, statement: Statement, values: readonly unknown[]): Promise<StatementResult<R>> {
  const runner = runners.get(db);
  if (runner) return runner.run<R>(statement, values);
  const result = await db.executeQuery<R>(CompiledQuery.raw(statement.text, [...values]));
  return { rows: result.rows, rowCount: Number(result.numAffectedRows ?? 0n) };
}
