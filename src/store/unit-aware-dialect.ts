import type {
  DatabaseConnection, DatabaseIntrospector, Dialect, DialectAdapter, Driver, Kysely, QueryCompiler, TransactionSettings,
} from 'kysely';
import { UnitOfWork } from './unit-of-work.ts';

/**
 * Routes kysely's queries into the current request's unit of work once it
 * has written something, so that every query of a request that writes (the
 * engine's account lookups included) sees the request's own writes, and, on
 * PGlite, which has a single connection, does not wait for the transaction
 * it is part of. Everything else goes to the pool as before.
 */
export class UnitAwareDialect implements Dialect {
  readonly #inner: Dialect;
  readonly #owner: object;
  #driver: Driver | undefined;

  constructor(inner: Dialect, owner: object) {
    this.#inner = inner;
    this.#owner = owner;
  }

  /** The pool's own driver, for units that reserve a connection of their own. */
  get innerDriver(): Driver {
    this.#driver ??= this.#inner.createDriver();
    return this.#driver;
  }

  createDriver(): Driver {
    return new UnitAwareDriver(this.innerDriver, this.#owner);
  }

  createQueryCompiler(): QueryCompiler { return this.#inner.createQueryCompiler(); }
  /**
   * Says the driver takes several connections, even PGlite's: kysely's own
   * mutex for a single-connection dialect would be taken by a unit's next
   * query too, behind a request that waits for the connection the unit
   * holds, and both would wait forever. The serial driver
   * (src/store/pglite-dialect.ts) already hands PGlite's one connection to
   * one caller at a time, and a unit's queries use the connection it holds.
   */
  createAdapter(): DialectAdapter {
    const adapter = this.#inner.createAdapter();
    return new Proxy(adapter, {
      get: (target, property, receiver) => (property === 'supportsMultipleConnections' ? true : Reflect.get(target, property, receiver)),
    });
  }
  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector { return this.#inner.createIntrospector(db); }
}

class UnitAwareDriver implements Driver {
  readonly #inner: Driver;
  readonly #owner: object;
  readonly #lent = new WeakSet<DatabaseConnection>();

  constructor(inner: Driver, owner: object) {
    this.#inner = inner;
    this.#owner = owner;
  }

  init(): Promise<void> { return this.#inner.init(); }

  async acquireConnection(): Promise<DatabaseConnection> {
    const unit = UnitOfWork.active(this.#owner);
    if (unit?.writing) {
      const connection = await unit.transaction();
      this.#lent.add(connection);
      return connection;
    }
    return this.#inner.acquireConnection();
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    if (this.#lent.has(connection)) return; // the unit releases it when it settles
    return this.#inner.releaseConnection(connection);
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    if (this.#lent.has(connection)) throw new Error('a kysely transaction cannot be nested in a unit of work');
    return this.#inner.beginTransaction(connection, settings);
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> { return this.#inner.commitTransaction(connection); }
  rollbackTransaction(connection: DatabaseConnection): Promise<void> { return this.#inner.rollbackTransaction(connection); }

  destroy(): Promise<void> { return this.#inner.destroy(); }
}
