import { createHmac, createPublicKey, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import { decodeProtectedHeader, jwtVerify, type JWSHeaderParameters } from 'jose';
import type Provider from 'oidc-provider';
import type { Adapter, AdapterPayload, Configuration } from 'oidc-provider';
import { algorithmsServedBy } from '../keys/algorithms.ts';
import type { KeySet } from '../keys/signing-keys.ts';

/**
 * JWT access tokens (RFC 9068) that stay under the server's control.
 *
 * oidc-provider issues a JWT access token without storing anything, and its
 * introspection and revocation endpoints refuse one (unsupported_token_type).
 * A resource server or gateway that introspects or revokes the very tokens
 * it was given (Kong, webMethods with Okta) would get nothing. Latchkey keeps
 * them like every other token:
 *
 * 1. `recordJwtAccessTokens`: each JWT access token is saved, under a digest
 *    of its `jti` like any token at rest, with exactly the record an opaque
 *    token would have, marked `format: jwt`. oidc-provider's own format check
 *    refuses such a record to every opaque lookup, so a JWT's `jti` (in plain
 *    sight in the token) is never usable as an opaque token. Because the
 *    record carries the grant, revoking a grant (code replay, refresh-token
 *    reuse, user or client removal) deletes its JWT access tokens too.
 * 2. `admitJwtsAtIntrospectionAndRevocation`: at those two endpoints, and
 *    nowhere else, a token that is a compact JWS is replaced by an internal
 *    handle (MACed with a key that never leaves this process), which the
 *    engine's "no structured tokens" step lets through.
 * 3. `JwtAwareAdapter.find(handle)`: checks the MAC, then verifies the JWT
 *    (a key the realm publishes, asymmetric algorithms only, `typ: at+jwt`,
 *    `iss` the realm's issuer; never a key named by the token) and returns
 *    its record as an opaque one. From there the engine answers exactly as
 *    for an opaque token: same policy, same fields, `active: false` when it
 *    is expired, revoked or anything fails.
 */

const HANDLE_PREFIX = '~jwt~';
const MAX_TOKEN_LENGTH = 16 * 1024;

type ModelClass = { prototype: { getValueAndPayload(): Promise<{ value: string; payload?: AdapterPayload }> } };
type IssuingToken = { format?: string | undefined; iat?: number | undefined; exp?: number | undefined };

/** Step 1: JWT access tokens are recorded like opaque ones, marked `format: jwt`. */
export function recordJwtAccessTokens(provider: Provider): void {
  for (const model of [provider.AccessToken, provider.ClientCredentials] as unknown as ModelClass[]) {
    const issue = model.prototype.getValueAndPayload;
    model.prototype.getValueAndPayload = async function recordedIssue(this: IssuingToken) {
      if (this.format !== 'jwt') return issue.call(this);
      // The record is what the engine would store for the same token if it were opaque…
      this.format = 'opaque';
      let record: AdapterPayload | undefined;
      try {
        ({ payload: record } = await issue.call(this));
      } finally {
        this.format = 'jwt';
      }
      if (!record) throw new Error('no record for a JWT access token');
      // …and the JWT says exactly what the record says (same iat and exp).
      this.iat = record.iat;
      this.exp = record.exp;
      const { value } = await issue.call(this);
      return { value, payload: { ...record, format: 'jwt' } };
    };
  }
}

/** Internal handles for JWTs presented at introspection and revocation; valid in this process only. */
export class JwtHandles {
  readonly #key = randomBytes(32);

  wrap(jwt: string): string {
    return `${HANDLE_PREFIX}${jwt}~${this.#mac(jwt)}`;
  }

  /** The JWT inside a handle this process made, or undefined for anything else. */
  unwrap(value: string): string | undefined {
    if (!value.startsWith(HANDLE_PREFIX)) return undefined;
    const end = value.lastIndexOf('~');
    if (end <= HANDLE_PREFIX.length) return undefined;
    const jwt = value.slice(HANDLE_PREFIX.length, end);
    const given = Buffer.from(value.slice(end + 1));
    const expected = Buffer.from(this.#mac(jwt));
    return given.length === expected.length && timingSafeEqual(given, expected) ? jwt : undefined;
  }

  #mac(jwt: string): string {
    return createHmac('sha256', this.#key).update(jwt).digest('base64url');
  }
}

const ADMITTING_ROUTES = new Set(['introspection', 'revocation']);
const BODY = Symbol('latchkey.oidc.body');

/**
 * Step 2: the engine parses a request's form into `ctx.oidc.body`; at the
 * introspection and revocation endpoints a `token` that is a compact JWS is
 * replaced by its handle as it is stored there. Installed once per provider
 * on its context class, like the other steps (src/oidc/engine-steps.ts).
 */
export function admitJwtsAtIntrospectionAndRevocation(provider: Provider, handles: JwtHandles): void {
  const prototype = (provider as unknown as { OIDCContext: { prototype: object } }).OIDCContext.prototype;
  Object.defineProperty(prototype, 'body', {
    configurable: true,
    get(this: Record<symbol, unknown>) {
      return this[BODY];
    },
    set(this: Record<symbol, unknown> & { route?: string }, body: unknown) {
      if (ADMITTING_ROUTES.has(this.route ?? '') && body && typeof body === 'object') {
        const form = body as Record<string, unknown>;
        const token = form['token'];
        if (typeof token === 'string' && token.length <= MAX_TOKEN_LENGTH && isStructured(token)) form['token'] = handles.wrap(token);
      }
      this[BODY] = body;
    },
  });
}

/**
 * The engine's own test for a structured token (its rejectStructuredTokens):
 * whatever has a decodable JOSE header, signed, unsigned or encrypted, so
 * that none of them reaches the engine's unsupported_token_type.
 */
function isStructured(token: string): boolean {
  try {
    return Boolean(decodeProtectedHeader(token));
  } catch {
    return false;
  }
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

/**
 * Step 3, the storage side: for AccessToken and ClientCredentials, a handle
 * made by step 2 finds the record of the JWT inside it once the JWT is
 * verified; every other id behaves exactly as with the inner adapter.
 */
export class JwtAwareAdapter implements Adapter {
  readonly #inner: Adapter;
  readonly #handles: JwtHandles;
  readonly #keys: () => RealmVerificationKeys;

  constructor(inner: Adapter, handles: JwtHandles, keys: () => RealmVerificationKeys) {
    this.#inner = inner;
    this.#handles = handles;
    this.#keys = keys;
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    const jwt = this.#handles.unwrap(id);
    if (jwt === undefined) return (await this.#inner.find(id)) ?? undefined;
    const jti = await this.#verifiedJti(jwt);
    if (jti === undefined) return undefined;
    const record = (await this.#inner.find(jti)) ?? undefined;
    if (record?.['format'] !== 'jwt' || record.jti !== jti) return undefined;
    // Reached through its verified JWT: the engine may treat it as the opaque record it is.
    const { format: _format, ...opaque } = record as AdapterPayload & { format?: string };
    return opaque;
  }

  async #verifiedJti(jwt: string): Promise<string | undefined> {
    const { issuer, keys, algorithms } = this.#keys();
    try {
      const { payload } = await jwtVerify(jwt, (header: JWSHeaderParameters) => {
        // Only a key this realm publishes, chosen by kid, for an algorithm it serves; jku, x5u and jwk are never followed.
        const entry = header.kid === undefined ? undefined : keys.get(header.kid);
        if (!entry || !entry.algorithms.includes(header.alg ?? '')) throw new Error('no such key');
        return entry.key;
      }, { issuer, typ: 'at+jwt', algorithms, clockTolerance: 0 });
      return typeof payload.jti === 'string' ? payload.jti : undefined;
    } catch {
      return undefined;
    }
  }

  upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
    return this.#inner.upsert(id, payload, expiresIn) as Promise<void>;
  }

  findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.#inner.findByUid(uid) as Promise<AdapterPayload | undefined>;
  }

  findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.#inner.findByUserCode(userCode) as Promise<AdapterPayload | undefined>;
  }

  consume(id: string): Promise<void> {
    return this.#inner.consume(id) as Promise<void>;
  }

  destroy(id: string): Promise<void> {
    return this.#inner.destroy(id) as Promise<void>;
  }

  revokeByGrantId(grantId: string): Promise<void> {
    return this.#inner.revokeByGrantId(grantId) as Promise<void>;
  }
}

type Exchanged = { authTime?: number; acr?: string; sid?: string };
type JwtFormatCustomizer = NonNullable<NonNullable<NonNullable<Configuration['formats']>['customizers']>['jwt']>;

/**
 * RFC 9068 §2.2: `auth_time`, `acr` and `sid` where the token comes from a
 * user's authentication, taken from the code or refresh token being
 * exchanged (what the engine recorded at sign-in), never from the request.
 */
export const authenticationClaims: JwtFormatCustomizer = (ctx, token, jwt) => {
  if ((token as { kind?: string }).kind !== 'AccessToken') return;
  const entities = (ctx as unknown as { oidc?: { entities?: { AuthorizationCode?: Exchanged; RefreshToken?: Exchanged } } }).oidc?.entities;
  const source = entities?.AuthorizationCode ?? entities?.RefreshToken;
  if (!source) return;
  const payload = jwt.payload as Record<string, unknown>;
  if (typeof source.authTime === 'number') payload['auth_time'] = source.authTime;
  if (typeof source.acr === 'string') payload['acr'] = source.acr;
  const sid = (token as { sid?: string }).sid ?? source.sid;
  if (typeof sid === 'string') payload['sid'] = sid;
};
