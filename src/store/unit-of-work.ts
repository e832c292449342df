import { AsyncLocalStorage } from 'node:async_hooks';
import { CompiledQuery, type DatabaseConnection } from 'kysely';
import { TransactionAbortedError } from '../errors/index.ts';
import type { Statement, StatementEffect, StatementResult } from './statements.ts';

/**
 * A unit of work: every write of one request commits together or not at all,
 * so a 503 always means "nothing happened, retry" (DESIGN decision 10). A
 * refresh interrupted by a fault leaves its refresh token unspent; a code
 * redemption leaves its code redeemable; no token is stored that the client
 * never received.
 *
 * The transaction opens lazily, so requests that only read pay nothing and a
 * request with a single write (client_credentials, revocation) sends it
 * alone at commit time, as one statement:
 *
 *   idle ──write──▶ held ──write / claim / read──▶ open ──commit──▶ COMMIT
 *     │                        ▲                    └──rollback──▶ ROLLBACK
 *     └──claim─────────────────┘
 *   held ──commit──▶ the held write alone (autocommit)   held ──rollback──▶ nothing
 *
 * - write: a statement whose result the caller does not need (upsert,
 *   delete); it can wait.
 * - claim: a write whose result decides what happens next (consume a code or
 *   refresh token, destroy the interaction being resumed). It runs at once,
 *   inside the transaction, and holds its row lock until commit: a
 *   concurrent claim of the same row waits and then sees the outcome.
 * - read: runs on the pool while nothing is written yet; afterwards inside
 *   the transaction, so a request reads its own writes.
 *
 * A unit is found through AsyncLocalStorage, so code that runs inside a
 * request (the engine's adapters, the account lookups it triggers) joins the
 * request's transaction without passing it around.
 */

/** A connection taken out of the pool for one unit of work. */
export interface ReservedConnection extends DatabaseConnection {
  run<R>(statement: Statement, values: readonly unknown[]): Promise<StatementResult<R>>;
  /** Back to the pool; `discard` closes it instead (it failed, or its state is unknown). */
  release(discard: boolean): Promise<void>;
}

export interface UnitBackend {
  /** Identifies the database the unit belongs to (one process may open several). */
  readonly owner: object;
  reserve(): Promise<ReservedConnection>;
  /** Runs one statement on the pool, outside any transaction. */
  runAlone<R>(statement: Statement, values: readonly unknown[]): Promise<StatementResult<R>>;
}

const current = new AsyncLocalStorage<UnitOfWork>();
const BEGIN = CompiledQuery.raw('begin');
const COMMIT = CompiledQuery.raw('commit');
const ROLLBACK = CompiledQuery.raw('rollback');

export class UnitOfWork {
  readonly #backend: UnitBackend;
  #held: { statement: Statement; values: readonly unknown[] } | undefined;
  #connection: Promise<ReservedConnection> | undefined;
  #settled = false;
  readonly #afterCommit: (() => void)[] = [];

  constructor(backend: UnitBackend) {
    this.#backend = backend;
  }

  /** The unit of the request this code runs in, for the given database. */
  static active(owner: object): UnitOfWork | undefined {
    const unit = current.getStore();
    return unit && !unit.#settled && unit.#backend.owner === owner ? unit : undefined;
  }

  /** Runs code outside any unit (work shared between requests must not join one of them). */
  static outside<T>(work: () => T): T {
    return current.exit(work);
  }

  run<T>(work: () => Promise<T>): Promise<T> {
    return current.run(this, work);
  }

  /** Runs `effect` once the unit has committed (never when it rolls back): for in-process caches of what it wrote. */
  afterCommit(effect: () => void): void {
    this.#afterCommit.push(effect);
  }

  #committed(): void {
    for (const effect of this.#afterCommit.splice(0)) effect();
  }

  /** Something is written or claimed: reads must see it, so they go through the transaction. */
  get writing(): boolean {
    return this.#held !== undefined || this.#connection !== undefined;
  }

  get hasTransaction(): boolean {
    return this.#connection !== undefined;
  }

  async execute<R>(statement: Statement, values: readonly unknown[], effect: StatementEffect): Promise<StatementResult<R>> {
    if (effect === 'write' && !this.writing) {
      this.#held = { statement, values };
      return { rows: [], rowCount: 0 };
    }
    if (effect === 'read' && !this.writing) return this.#backend.runAlone<R>(statement, values);
    return (await this.transaction()).run<R>(statement, values);
  }

  /** The transaction's connection: BEGIN and the held write, on first need. */
  transaction(): Promise<ReservedConnection> {
    this.#connection ??= this.#begin();
    return this.#connection;
  }

  async #begin(): Promise<ReservedConnection> {
    const connection = await this.#backend.reserve();
    try {
      await connection.executeQuery(BEGIN);
      const held = this.#held;
      this.#held = undefined;
      if (held) await connection.run(held.statement, held.values);
      return connection;
    } catch (error) {
      await connection.release(true);
      throw error;
    }
  }

  /** Makes the unit's writes durable; throws when they are not (then none of them are). */
  async commit(): Promise<void> {
    this.#settled = true;
    const held = this.#held;
    this.#held = undefined;
    if (!this.#connection) {
      if (held) await this.#backend.runAlone(held.statement, held.values);
      this.#committed();
      return;
    }
    const connection = await this.#connection;
    let result;
    try {
      result = await connection.executeQuery(COMMIT);
    } catch (error) {
      await connection.release(true);
      throw error;
    }
    await connection.release(false);
    // PostgreSQL answers COMMIT of a transaction that had a failed statement with ROLLBACK.
    if ((result.rows[0] as { command?: string } | undefined)?.command === 'ROLLBACK') {
      throw new TransactionAbortedError('the transaction was rolled back because one of its statements failed');
    }
    this.#committed();
  }

  /** Undoes everything the unit wrote. Never throws: a broken connection is discarded, which rolls back too. */
  async rollback(): Promise<void> {
    this.#settled = true;
    this.#afterCommit.length = 0;
    this.#held = undefined;
    if (!this.#connection) return;
    let connection;
    try {
      connection = await this.#connection;
    } catch {
      return; // BEGIN itself failed; nothing was written
    }
    try {
      await connection.executeQuery(ROLLBACK);
      await connection.release(false);
    } catch {
      await connection.release(true).catch(() => {});
    }
  }
}

/**
 * `work` on `unit` in a transaction that begins at once, so that every
 * statement of it is inside: committed when `work` returns, rolled back when
 * it throws. `commitFailed` turns a failed commit into what the caller's
 * callers should see (by default the failure itself).
 */
export async function inTransaction<T>(unit: UnitOfWork, work: () => Promise<T>, commitFailed: (error: unknown) => unknown = (error) => error): Promise<T> {
  let result: T;
  try {
    result = await unit.run(async () => {
      await unit.transaction();
      return work();
    });
  } catch (error) {
    await unit.rollback();
    throw error;
  }
  try {
    await unit.commit();
  } catch (error) {
    throw commitFailed(error);
  }
  return result;
}
