import { createHash } from 'node:crypto';
import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import { outageAsProtocolError } from '../errors/index.ts';
import { PayloadLookups } from './payload-lookups.ts';
import type { Db } from '../store/database.ts';
import {
  consumePayload, deleteGrant, deleteGrantOf, destroyPayload,
  findPayloadByUid, findPayloadByUserCode, takePayload, upsertPayload,
} from '../store/oidc-payload.repository.ts';

/**
 * oidc-provider's storage contract (see its example/my_adapter.js) on the
 * `oidc_payloads` table, for every model except Client.
 *
 * - Ids, uids and user codes are stored as SHA-256 digests and `jti` is not
 *   stored at all: a database dump yields no token, code or session cookie.
 * - consume is atomic. When a code or refresh token is presented twice at
 *   once, exactly one consume wins; the loser deletes the whole grant (tokens,
 *   codes and the Grant row, which introspection and userinfo check, so even
 *   tokens the winner writes a moment later are dead) and fails with
 *   invalid_grant, as RFC 6749 §4.1.2 and RFC 9700 §4.14 ask for replays.
 * - An interaction is resumed once: the engine destroys it when it resumes,
 *   and of concurrent resumes only the one whose delete took the row goes on
 *   to issue a code; the others fail with session_not_found.
 * - A database that cannot be reached surfaces as 503 temporarily_unavailable,
 *   never as a 500 or a hang. Inside a request every call joins the
 *   request's unit of work (src/store/unit-of-work.ts), so a failed request
 *   leaves nothing half-written.
 */
export function digest(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}

/** The engine renders what its adapters throw: an outage must reach it as the 503 (src/errors/error-mapping.ts). */
async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw outageAsProtocolError(error);
  }
}

export class PayloadAdapter implements Adapter {
  readonly #db: Db;
  readonly #realm: string;
  readonly #model: string;
  readonly #now: () => number;
  readonly #lookups: PayloadLookups;

  /**
   * `lookups` coalesces reads and keeps prefetched Grants and Sessions; a
   * realm's adapters share one (src/oidc/provider-factory.ts), and one made
   * here serves this adapter alone.
   */
  constructor(db: Db, realm: string, model: string, { lookups = new PayloadLookups(db, realm), now = Date.now }: {
    lookups?: PayloadLookups | undefined;
    now?: (() => number) | undefined;
  } = {}) {
    this.#db = db;
    this.#lookups = lookups;
    this.#realm = realm;
    this.#model = model;
    this.#now = now;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
    const { jti: _jti, ...stored } = payload;
    if (this.#model === 'Interaction' && stored.session) {
      const { cookie: _cookie, ...session } = stored.session as Record<string, unknown>;
      stored.session = session as AdapterPayload['session'];
    }
    const json = JSON.stringify(stored);
    // PostgreSQL's jsonb cannot hold NUL or lone surrogates; they can only come
    // from request parameters (state, nonce, …), so the request is at fault.
    if (UNSTORABLE_JSON.test(json)) throw new errors.InvalidRequest('request parameters must not contain NUL characters or invalid Unicode');
    // A Grant is its own grant: revoking by grant id must delete the Grant row too.
    const grantId = this.#model === 'Grant' ? id : payload.grantId;
    if (this.#model === 'Grant') this.#lookups.forgetGrant(digest(id));
    if (this.#model === 'Session' && payload.uid) this.#lookups.forgetSession(digest(payload.uid));
    await guarded(() => upsertPayload(this.#db, {
      realm: this.#realm,
      model: this.#model,
      id: digest(id),
      payload: json,
      grant_id: grantId ?? null,
      account_id: payload.accountId ?? null,
      uid: payload.uid ? digest(payload.uid) : null,
      user_code: payload.userCode ? digest(payload.userCode) : null,
      expires_at: expiresIn ? new Date(this.#now() + expiresIn * 1000) : null,
    }));
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    if (!isPlausibleId(id)) return undefined;
    const row = await guarded(() => this.#lookups.find(this.#model, digest(id)));
    return row && restore(row, id);
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    if (!isPlausibleId(uid)) return undefined;
    const uidDigest = digest(uid);
    const lookUp = () => findPayloadByUid(this.#db, this.#realm, this.#model, uidDigest);
    const row = await guarded(() => (this.#model === 'Session' ? this.#lookups.findSessionByUid(uidDigest, lookUp) : lookUp()));
    // Without `jti`: a Session's id is its cookie value, which is not stored.
    // oidc-provider uses sessions found by uid only for read-only binding checks.
    return row && restore(row);
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    if (!isPlausibleId(userCode)) return undefined;
    const row = await guarded(() => findPayloadByUserCode(this.#db, this.#realm, this.#model, digest(userCode)));
    return row && restore(row);
  }

  async consume(id: string): Promise<void> {
    const idDigest = digest(id);
    const won = await guarded(() => consumePayload(this.#db, this.#realm, this.#model, idDigest));
    if (!won) {
      this.#lookups.forgetAllGrants();
      this.#lookups.forgetAllSessions();
      await guarded(() => deleteGrantOf(this.#db, this.#realm, this.#model, idDigest));
      throw new errors.InvalidGrant('grant request is invalid (already redeemed)');
    }
  }

  async destroy(id: string): Promise<void> {
    if (this.#model === 'Grant') this.#lookups.forgetGrant(digest(id));
    if (this.#model === 'Session') this.#lookups.forgetAllSessions(); // its uid is in the payload, not the id
    if (this.#model === 'Interaction') {
      // The engine destroys an Interaction only when it resumes it (lib/actions/authorization/resume.js).
      const taken = await guarded(() => takePayload(this.#db, this.#realm, this.#model, digest(id)));
      if (!taken) throw new errors.SessionNotFound('interaction was already completed');
      return;
    }
    await guarded(() => destroyPayload(this.#db, this.#realm, this.#model, digest(id)));
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    this.#lookups.forgetGrant(digest(grantId));
    await guarded(() => deleteGrant(this.#db, this.#realm, grantId));
  }
}

/** JSON.stringify escapes NUL as \u0000 and only lone surrogates as \udXXX. */
const UNSTORABLE_JSON = /\\u0000|\\ud[89a-f][0-9a-f]{2}/i;

/** Postgres text cannot hold NUL; absurd lengths are not ids either. Such values find nothing. */
function isPlausibleId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= 512 && !value.includes('\0');
}

function restore(row: { payload: Record<string, unknown>; consumed_at: Date | null }, jti?: string): AdapterPayload {
  const payload = { ...row.payload } as AdapterPayload;
  if (jti !== undefined) payload.jti = jti;
  if (row.consumed_at) payload.consumed = Math.floor(row.consumed_at.getTime() / 1000);
  return payload;
}
