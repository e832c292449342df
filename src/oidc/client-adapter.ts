import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { ClientChanges } from '../clients/client-changes.ts';
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
 * Changes made by this process (src/clients/client-changes.ts) take effect
 * here at once. A disabled client is an unknown one.
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
  readonly #cache = new Map<string, { expires: number; generation: number; metadata: AdapterPayload }>();
  readonly #unknown = new Map<string, { expires: number; generation: number }>();
  readonly #changes: ClientChanges | undefined;
  static readonly MAX_CACHED = 5_000;
  static readonly MAX_UNKNOWN = 10_000;

  readonly #onLoad: (metadata: Record<string, unknown>) => void;
  readonly #writes: ClientWrites | undefined;

  constructor(db: Db, realm: string, { ttlMs = 5_000, now = Date.now, onLoad = () => {}, changes, writes }: {
    ttlMs?: number;
    now?: () => number;
    changes?: ClientChanges | undefined;
    /** Sees every client's metadata before oidc-provider validates it. */
    onLoad?: (metadata: Record<string, unknown>) => void;
    /** Registration's store and removal of clients; without it, writes are refused. */
    writes?: ClientWrites | undefined;
  } = {}) {
    this.#onLoad = onLoad;
    this.#changes = changes;
    this.#writes = writes;
    this.#db = db;
    this.#realm = realm;
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    if (typeof id !== 'string' || id.length === 0 || id.length > 256 || id.includes('\0')) return undefined;
    const generation = this.#changes?.generationOf(this.#realm, id) ?? 0;
    const cached = this.#cache.get(id);
    if (cached && cached.expires > this.#now() && cached.generation === generation) return cached.metadata;
    const unknown = this.#unknown.get(id);
    if (unknown && unknown.expires > this.#now() && unknown.generation === generation) return undefined;

    let row;
    try {
      row = await findClient(this.#db, this.#realm, id);
    } catch (error) {
      throw outageAsProtocolError(error);
    }
    if (!row || row.disabled_at) {
      this.#cache.delete(id);
      this.#unknown.delete(id);
      if (this.#unknown.size >= ClientAdapter.MAX_UNKNOWN) this.#unknown.delete(this.#unknown.keys().next().value!);
      this.#unknown.set(id, { expires: this.#now() + this.#ttlMs, generation });
      return undefined;
    }
    this.#unknown.delete(id);
    const metadata = providerMetadata(row, new Date(this.#now())) as AdapterPayload;
    this.#onLoad(metadata);
    if (this.#cache.size >= ClientAdapter.MAX_CACHED) this.#cache.delete(this.#cache.keys().next().value!);
    // A previous secret is in the metadata until its overlap ends: not a moment longer.
    const previousUntil = row.previous_secret_expires_at?.getTime() ?? Infinity;
    this.#cache.set(id, { expires: Math.min(this.#now() + this.#ttlMs, previousUntil), generation, metadata });
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
