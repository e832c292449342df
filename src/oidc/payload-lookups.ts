import { createHash } from 'node:crypto';
import type { Db } from '../store/database.ts';
import { findPayload, findPayloadAcrossModels, type FoundWithGrant } from '../store/oidc-payload.repository.ts';
import { UnitOfWork } from '../store/unit-of-work.ts';

type Found = Pick<FoundWithGrant, 'payload' | 'consumed_at'> | undefined;

interface Waiting {
  models: Map<string, ((found: Found) => void)[]>;
  failures: ((error: unknown) => void)[];
}

/**
 * How long a Grant read together with its token may stand in for the Grant
 * lookup oidc-provider makes right after (same request, a millisecond
 * later). Short, so that a grant revoked meanwhile is seen as revoked by the
 * next request anyway; revocation deletes the row, never "un-revokes".
 */
const PREFETCHED_GRANT_MS = 250;
const PREFETCHED_GRANT_LIMIT = 10_000;

/**
 * Saves round trips on the hot path, with the same answers as one lookup
 * per call:
 * - oidc-provider looks an opaque token up as AccessToken, ClientCredentials
 *   and RefreshToken in parallel (introspection, revocation, userinfo); those
 *   calls arrive in the same tick, so they are gathered until the microtask
 *   queue drains and sent as one statement.
 * - Each token is read together with its Grant and Session (see
 *   findPayload), which answer the engine's lookups that follow.
 * A request that has written something reads through its own transaction
 * instead (src/store/unit-of-work.ts): gathered lookups serve many requests
 * and run outside all of them.
 */
export class PayloadLookups {
  readonly #db: Db;
  readonly #realm: string;
  #pending = new Map<string, Waiting>();
  readonly #grants = new Map<string, { found: Found; until: number }>();
  readonly #sessions = new Map<string, { found: Found; until: number }>();

  /** One per realm's provider, shared by its adapters (what one model reads, another's lookup may prefetch). */
  constructor(db: Db, realm: string) {
    this.#db = db;
    this.#realm = realm;
  }

  find(model: string, id: string): Promise<Found> {
    if (this.#db.readsJoinUnit()) return findPayload(this.#db, this.#realm, model, id);
    if (model === 'Grant') {
      const prefetched = takeFresh(this.#grants, id);
      if (prefetched) return prefetched;
    }
    return new Promise((resolve, reject) => {
      if (this.#pending.size === 0) queueMicrotask(() => UnitOfWork.outside(() => this.#flush()));
      let waiting = this.#pending.get(id);
      if (!waiting) this.#pending.set(id, waiting = { models: new Map(), failures: [] });
      const resolvers = waiting.models.get(model);
      if (resolvers) resolvers.push(resolve);
      else waiting.models.set(model, [resolve]);
      waiting.failures.push(reject);
    });
  }

  /** A Session by the digest of its uid: from a prefetch when one was just read with a token. */
  findSessionByUid(uid: string, lookUp: () => Promise<Found>): Promise<Found> {
    if (this.#db.readsJoinUnit()) return lookUp();
    return takeFresh(this.#sessions, uid) ?? lookUp();
  }

  forgetSession(uid: string): void {
    this.#sessions.delete(uid);
  }

  forgetAllSessions(): void {
    this.#sessions.clear();
  }

  /** A Grant deleted or rewritten by this process is never answered from a prefetch. */
  forgetGrant(id: string): void {
    this.#grants.delete(id);
  }

  forgetAllGrants(): void {
    this.#grants.clear();
  }

  #flush(): void {
    const pending = this.#pending;
    this.#pending = new Map();
    for (const [id, waiting] of pending) void this.#lookUp(id, waiting);
  }

  async #lookUp(id: string, { models, failures }: Waiting): Promise<void> {
    try {
      const names = [...models.keys()];
      const rows = names.length === 1
        ? [await findPayload(this.#db, this.#realm, names[0]!, id)].filter((r) => r !== undefined)
        : await findPayloadAcrossModels(this.#db, this.#realm, names, id);
      for (const row of rows) this.#keepGrant(row);
      for (const [model, resolvers] of models) {
        const row = rows.find((r) => r.model === model);
        const found = row && { payload: row.payload, consumed_at: row.consumed_at };
        for (const resolve of resolvers) resolve(found);
      }
    } catch (error) {
      for (const reject of failures) reject(error);
    }
  }

  #keepGrant(row: FoundWithGrant): void {
    const until = Date.now() + PREFETCHED_GRANT_MS;
    if (row.grant_id && row.grant_payload) {
      const id = createHash('sha256').update(row.grant_id).digest('base64url');
      keep(this.#grants, id, { found: { payload: row.grant_payload, consumed_at: null }, until });
    }
    if (row.session_uid && row.session_payload) {
      keep(this.#sessions, row.session_uid, { found: { payload: row.session_payload, consumed_at: null }, until });
    }
  }
}

function keep(map: Map<string, { found: Found; until: number }>, key: string, entry: { found: Found; until: number }): void {
  if (map.size >= PREFETCHED_GRANT_LIMIT) map.delete(map.keys().next().value!);
  map.set(key, entry);
}

/** A prefetched answer is used once, and only while fresh. */
function takeFresh(map: Map<string, { found: Found; until: number }>, key: string): Promise<Found> | undefined {
  const entry = map.get(key);
  if (!entry) return undefined;
  map.delete(key);
  return entry.until > Date.now() ? Promise.resolve(entry.found) : undefined;
}
