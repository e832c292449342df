import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import { providerMetadata } from '../clients/client-metadata.ts';
import { outageAsProtocolError } from '../errors/index.ts';
import type { Db } from '../store/database.ts';
import { findClient } from '../store/client.repository.ts';

/**
 * Read-only adapter for the Client model over the `clients` table.
 *
 * Staleness bound: a client's metadata is cached per process for `ttlMs`
 * (default 5 s), so an edit, a removal or a new client takes effect on every
 * instance within that time. Unknown ids are cached as well, for the same
 * time but in a map of their own (they are attacker-chosen and must not crowd
 * out real clients): otherwise an unknown client would cost a database
 * lookup that a known one does not, and time would tell them apart.
 *
 * Writes come only from dynamic client registration, in realms that enable
 * it (src/oidc/client-registration.ts `clientWrites`); elsewhere they are
 * refused. A write forgets what this process cached of the client at once.
 */
export interface ClientWrites {
  upsert(id: string, metadata: AdapterPayload): Promise<void>;
  destroy(id: string): Promise<void>;
}

export class ClientAdapter implements Adapter {
  readonly #db: Db;
  readonly #realm: string;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #cache = new Map<string, { expires: number; metadata: AdapterPayload }>();
  readonly #unknown = new Map<string, number>(); // id → expiry
  static readonly MAX_CACHED = 5_000;
  static readonly MAX_UNKNOWN = 10_000;

  readonly #onLoad: (metadata: Record<string, unknown>) => void;
  readonly #writes: ClientWrites | undefined;

  constructor(db: Db, realm: string, { ttlMs = 5_000, now = Date.now, onLoad = () => {}, writes }: {
    ttlMs?: number;
    now?: () => number;
    /** Sees every client's metadata before oidc-provider validates it. */
    onLoad?: (metadata: Record<string, unknown>) => void;
    /** Registration's store and removal of clients; without it, writes are refused. */
    writes?: ClientWrites | undefined;
  } = {}) {
    this.#onLoad = onLoad;
    this.#writes = writes;
    this.#db = db;
    this.#realm = realm;
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    if (typeof id !== 'string' || id.length === 0 || id.length > 256 || id.includes('\0')) return undefined;
    const cached = this.#cache.get(id);
    if (cached && cached.expires > this.#now()) return cached.metadata;
    const unknownUntil = this.#unknown.get(id);
    if (unknownUntil !== undefined && unknownUntil > this.#now()) return undefined;

    let row;
    try {
      row = await findClient(this.#db, this.#realm, id);
    } catch (error) {
      throw outageAsProtocolError(error);
    }
    if (!row) {
      this.#cache.delete(id);
      this.#unknown.delete(id);
      if (this.#unknown.size >= ClientAdapter.MAX_UNKNOWN) this.#unknown.delete(this.#unknown.keys().next().value!);
      this.#unknown.set(id, this.#now() + this.#ttlMs);
      return undefined;
    }
    this.#unknown.delete(id);
    const metadata = providerMetadata(row) as AdapterPayload;
    this.#onLoad(metadata);
    if (this.#cache.size >= ClientAdapter.MAX_CACHED) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(id, { expires: this.#now() + this.#ttlMs, metadata });
    return metadata;
  }

  async upsert(id: string, metadata: AdapterPayload): Promise<void> {
    if (!this.#writes) throw new errors.InvalidRequest('client registration is not supported');
    this.#forget(id);
    await this.#writes.upsert(id, metadata);
  }

  async destroy(id: string): Promise<void> {
    if (!this.#writes) throw new errors.InvalidRequest('client registration is not supported');
    this.#forget(id);
    await this.#writes.destroy(id);
  }

  #forget(id: string): void {
    this.#cache.delete(id);
    this.#unknown.delete(id);
  }

  async consume(): Promise<void> { /* clients are never consumed */ }
  async findByUid(): Promise<undefined> { return undefined; }
  async findByUserCode(): Promise<undefined> { return undefined; }
  async revokeByGrantId(): Promise<void> { /* clients belong to no grant */ }
}
