import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { jwtVerify, type JWSHeaderParameters } from 'jose';
import { algorithmsServedBy } from '../keys/algorithms.ts';
import type { KeySet } from '../keys/signing-keys.ts';

/**
 * Verifies the JWT access tokens presented at introspection and revocation
 * (step 3 of src/oidc/structured-access-tokens.ts), and remembers what a
 * verification proved.
 *
 * Why remember: a resource server introspects the same token on many of its
 * own requests, and the engine asks both access-token models (AccessToken,
 * ClientCredentials) about every token it is given. Verifying the signature
 * each time (twice per request) cost more than the rest of the request.
 *
 * What is remembered, and its staleness bound:
 * - Only what the signature proves, the token's `jti` and `exp`, under a
 *   SHA-256 digest of the whole compact JWT: any other string (a changed
 *   header, claim or signature) is another key, verified in full.
 * - Never whether the token is live: its record is read from the database
 *   on every request, so a revocation takes effect at once, on every instance.
 * - An entry answers only while `exp` is ahead of the clock, the very test
 *   jwtVerify makes (clockTolerance 0); then it is dropped.
 * - One verifier per provider: the keys change only by building a new
 *   provider (key rotation, src/latchkey.ts), whose verifier starts empty.
 * - Failures are never remembered: a token that failed is verified in full
 *   again the next time it comes.
 * - At most `maxEntries` (the most recently used): a flood of distinct valid
 *   tokens costs bounded memory, and an evicted token is merely verified again.
 * Concurrent verifications of the same JWT (the engine's two lookups arrive
 * in the same tick) share one.
 */
export class JwtVerifier {
  static readonly MAX_ENTRIES = 5_000;
  readonly #keys: RealmVerificationKeys;
  readonly #now: () => number;
  readonly #maxEntries: number;
  /** Digest of the JWT → what its verification proved; a Map kept in order of last use. */
  readonly #verified = new Map<string, Verified>();
  readonly #inFlight = new Map<string, Promise<Verified | undefined>>();

  constructor(keys: RealmVerificationKeys, { now = Date.now, maxEntries = JwtVerifier.MAX_ENTRIES }: {
    now?: () => number;
    maxEntries?: number;
  } = {}) {
    this.#keys = keys;
    this.#now = now;
    this.#maxEntries = maxEntries;
  }

  /** The `jti` of a JWT access token this realm issued, unexpired; undefined for anything else. */
  async verifiedJti(jwt: string): Promise<string | undefined> {
    const digest = createHash('sha256').update(jwt).digest('base64url');
    const known = this.#fresh(digest);
    if (known) return known.jti;
    let verification = this.#inFlight.get(digest);
    if (!verification) {
      verification = this.#verifyInFull(jwt).then((verified) => {
        this.#inFlight.delete(digest);
        if (verified) this.#remember(digest, verified);
        return verified;
      });
      this.#inFlight.set(digest, verification);
    }
    return (await verification)?.jti;
  }

  /** How many verified tokens are remembered. */
  get size(): number {
    return this.#verified.size;
  }

  #fresh(digest: string): Verified | undefined {
    const entry = this.#verified.get(digest);
    if (!entry) return undefined;
    this.#verified.delete(digest);
    if (!this.#unexpired(entry.exp)) return undefined;
    this.#verified.set(digest, entry);
    return entry;
  }

  #remember(digest: string, verified: Verified): void {
    if (this.#verified.size >= this.#maxEntries) this.#verified.delete(this.#verified.keys().next().value!);
    this.#verified.set(digest, verified);
  }

  /** jose's own test: expired once `exp` ≤ now in whole seconds. */
  #unexpired(exp: number): boolean {
    return exp > Math.floor(this.#now() / 1000);
  }

  async #verifyInFull(jwt: string): Promise<Verified | undefined> {
    const { issuer, keys, algorithms } = this.#keys;
    try {
      const { payload } = await jwtVerify(jwt, (header: JWSHeaderParameters) => {
        // Only a key this realm publishes, chosen by kid, for an algorithm it serves; jku, x5u and jwk are never followed.
        const entry = header.kid === undefined ? undefined : keys.get(header.kid);
        if (!entry || !entry.algorithms.includes(header.alg ?? '')) throw new Error('no such key');
        return entry.key;
      }, { issuer, typ: 'at+jwt', algorithms, requiredClaims: ['jti', 'exp'], clockTolerance: 0, currentDate: new Date(this.#now()) });
      if (typeof payload.jti !== 'string' || typeof payload.exp !== 'number') return undefined;
      return { jti: payload.jti, exp: payload.exp };
    } catch {
      return undefined;
    }
  }
}

interface Verified {
  jti: string;
  /** Seconds since the epoch, from the verified token. */
  exp: number;
}

/** The realm's published keys, as public keys by kid, with the algorithms each may verify. */
export interface RealmVerificationKeys {
  issuer: string;
  keys: Map<string, { key: KeyObject; algorithms: string[] }>;
  algorithms: string[];
}

export function verificationKeysOf(issuer: string, keySet: KeySet): RealmVerificationKeys {
  const keys = new Map<string, { key: KeyObject; algorithms: string[] }>();
  for (const published of keySet.published) {
    const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = published.jwk as Record<string, unknown>;
    keys.set(published.kid, { key: createPublicKey({ key: publicJwk as never, format: 'jwk' }), algorithms: algorithmsServedBy(published.alg) });
  }
  return { issuer, keys, algorithms: [...new Set([...keys.values()].flatMap((k) => k.algorithms))] };
}
