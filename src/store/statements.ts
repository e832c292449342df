import type { Db } from './database.ts';
import { UnitOfWork, type StatementEffect, type UnitBackend } from './unit-of-work.ts';

/**
 * The hot path's SQL (token lookups, writes and consumption) as fixed
 * statements with stable names. On a PostgreSQL server they run as named
 * prepared statements, parsed and planned once per connection; on PGlite as
 * plain parameterised queries. Both paths see the same rows, types and errors.
 *
 * Each statement says what it does to the data (src/store/unit-of-work.ts):
 * inside a request's unit of work, writes wait for the commit and claims
 * open the transaction.
 */
export interface Statement {
  readonly name: string;
  readonly text: string;
  /** Default `read`. */
  readonly effect?: StatementEffect;
}

export interface StatementResult<R> {
  rows: R[];
  /** Rows written by INSERT/UPDATE/DELETE. */
  rowCount: number;
}

const backends = new WeakMap<Db, UnitBackend>();

/** Called by openDatabase: how statements and units of work reach this database. */
export function registerBackend(db: Db, backend: UnitBackend): void {
  backends.set(db, backend);
}

export function backendOf(db: Db): UnitBackend {
  const backend = backends.get(db);
  if (!backend) throw new Error('database was not opened with openDatabase');
  return backend;
}

export async function runStatement<R>(db: Db, statement: Statement, values: readonly unknown[]): Promise<StatementResult<R>> {
  const backend = backendOf(db);
  const unit = UnitOfWork.active(backend.owner);
  if (unit) return unit.execute<R>(statement, values, statement.effect ?? 'read');
  return backend.runAlone<R>(statement, values);
}

/** Whether reads of the current request must go through its transaction (they would miss its writes otherwise). */
export function readsJoinUnit(db: Db): boolean {
  const backend = backends.get(db);
  return backend !== undefined && UnitOfWork.active(backend.owner)?.writing === true;
}
