import type { Db } from '../store/database.ts';
import { findPayload, findPayloadAcrossModels } from '../store/oidc-payload.repository.ts';

type Found = Awaited<ReturnType<typeof findPayload>>;

interface Waiting {
  models: Map<string, ((found: Found) => void)[]>;
  failures: ((error: unknown) => void)[];
}

/**
 * Coalesces lookups of one id as several models. oidc-provider looks an
 * opaque token up as AccessToken, ClientCredentials and RefreshToken in
 * parallel (introspection, revocation, userinfo); those calls arrive in the
 * same tick, so they are gathered until the microtask queue drains and sent
 * as one statement: one round trip instead of three, with the same answer.
 */
export class PayloadLookups {
  static #perDatabase = new WeakMap<Db, Map<string, PayloadLookups>>();

  /** One instance per database and realm, shared by the realm's adapters. */
  static of(db: Db, realm: string): PayloadLookups {
    let realms = PayloadLookups.#perDatabase.get(db);
    if (!realms) PayloadLookups.#perDatabase.set(db, realms = new Map());
    let lookups = realms.get(realm);
    if (!lookups) realms.set(realm, lookups = new PayloadLookups(db, realm));
    return lookups;
  }

  readonly #db: Db;
  readonly #realm: string;
  #pending = new Map<string, Waiting>();

  private constructor(db: Db, realm: string) {
    this.#db = db;
    this.#realm = realm;
  }

  find(model: string, id: string): Promise<Found> {
    return new Promise((resolve, reject) => {
      if (this.#pending.size === 0) queueMicrotask(() => this.#flush());
      let waiting = this.#pending.get(id);
      if (!waiting) this.#pending.set(id, waiting = { models: new Map(), failures: [] });
      const resolvers = waiting.models.get(model);
      if (resolvers) resolvers.push(resolve);
      else waiting.models.set(model, [resolve]);
      waiting.failures.push(reject);
    });
  }

  #flush(): void {
    const pending = this.#pending;
    this.#pending = new Map();
    for (const [id, waiting] of pending) void this.#lookUp(id, waiting);
  }

  async #lookUp(id: string, { models, failures }: Waiting): Promise<void> {
    try {
      const names = [...models.keys()];
      if (names.length === 1) {
        const found = await findPayload(this.#db, this.#realm, names[0]!, id);
        for (const resolve of models.get(names[0]!)!) resolve(found);
        return;
      }
      const rows = await findPayloadAcrossModels(this.#db, this.#realm, names, id);
      for (const [model, resolvers] of models) {
        const row = rows.find((r) => r.model === model);
        const found = row && { payload: row.payload, consumed_at: row.consumed_at };
        for (const resolve of resolvers) resolve(found);
      }
    } catch (error) {
      for (const reject of failures) reject(error);
    }
  }
}
