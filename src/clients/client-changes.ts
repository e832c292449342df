/**
 * Tells this process's client caches (src/oidc/client-adapter.ts) that a
 * client changed, so that a disabled client, a rotated secret or a new
 * client takes effect at the next request here instead of after the
 * cache's lifetime (other instances still take up to that lifetime).
 *
 * A change bumps the client's generation; a cache entry remembers the
 * generation it was read at and is stale once it differs. No listeners, so
 * providers rebuilt at a key rotation leave nothing subscribed behind.
 * Writers bump once when they write and once more after their transaction
 * commits (Db.afterCommit): a request that read the old row between the
 * two would otherwise cache it under the new generation.
 */
export class ClientChanges {
  readonly #generations = new Map<string, number>();

  generationOf(realm: string, clientId: string): number {
    return this.#generations.get(key(realm, clientId)) ?? 0;
  }

  changed(realm: string, clientId: string): void {
    const k = key(realm, clientId);
    this.#generations.set(k, (this.#generations.get(k) ?? 0) + 1);
  }
}

const key = (realm: string, clientId: string) => `${realm}\0${clientId}`;
