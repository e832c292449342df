import { createHmac, createSecretKey, randomBytes, timingSafeEqual } from 'node:crypto';
import { decodeProtectedHeader } from 'jose';
import type Provider from 'oidc-provider';
import type { Adapter, AdapterPayload, Configuration } from 'oidc-provider';
import requestInFlight from 'oidc-provider/lib/helpers/als.js';
import { DelegatingAdapter } from './delegating-adapter.ts';
import { onParsedForm } from './parsed-form.ts';
import type { JwtVerifier } from './jwt-verifier.ts';
import { PASSWORD_SIGN_IN_ENTITY } from './password-grant.ts';

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
 *    `iss` the realm's issuer; never a key named by the token; a verified
 *    token's jti and exp are remembered, src/oidc/jwt-verifier.ts) and
 *    returns its record, read from the database every time, as an opaque
 *    one. From there the engine answers exactly as for an opaque token: same
 *    policy, same fields, `active: false` when it is expired, revoked or
 *    anything fails.
 * 4. `admitLayoutTokensAtUserinfo`: in the Keycloak and Okta layouts
 *    (src/oidc/realm-layouts.ts) a token that names no API is a JWT for the
 *    layout's audience, and, as there, it is also good at userinfo. The
 *    engine refuses any token with an audience there; a JWT presented at
 *    userinfo becomes a handle as in step 2, and a token of the layout's
 *    audience found through one is shown to the endpoint without it. A
 *    token for a declared resource server is still refused.
 *    `findClientCredentials` does steps 2 and 3 for a token presented to
 *    Latchkey itself (the admin API's bearer tokens), without an endpoint.
 * 5. `refuseAccessTokensAsIdTokenHints`: a JWT access token is signed by the
 *    realm's keys like an ID token; where a resource server's identifier is
 *    also a client's id (Entra-style `api://<client-id>`) and their
 *    algorithms match, the engine's id_token_hint check (signature, issuer,
 *    audience; not `typ`) would take it as that client's ID token, at the
 *    authorization endpoint and at logout. `typ: at+jwt` is refused there.
 */

/**
 * Never the start of an opaque token (the engine's are base64url). Its '.'
 * gives a handle 4 or 6 dot-separated parts, never a compact JOSE's 3 or 5:
 * the engine's own structured-token test (rejectStructuredTokens) dismisses
 * it at a glance, as it does an opaque token, instead of decoding a header
 * that fails only after an exception.
 */
const HANDLE_PREFIX = '~jwt.~';
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
  // A KeyObject, not a Buffer: Node prepares a Buffer key anew for every createHmac, several times the cost of the MAC itself.
  readonly #key = createSecretKey(randomBytes(32));

  wrap(jwt: string): string {
    return `${HANDLE_PREFIX}${jwt}~${this.#mac(jwt)}`;
  }

  /** Whether `value` is shaped as a handle, made here or not; such a value is never an opaque token. */
  isHandleShaped(value: string): boolean {
    return value.startsWith(HANDLE_PREFIX);
  }

  /** The JWT inside a handle this process made, or undefined for anything else. */
  unwrap(value: string): string | undefined {
    if (!this.isHandleShaped(value)) return undefined;
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

const ADMITTING_ROUTES = ['introspection', 'revocation'];
/** Each provider's handles, for the lookups made outside its endpoints (findClientCredentials). */
const handlesOf = new WeakMap<Provider, JwtHandles>();

/**
 * Step 2: the engine parses a request's form into `ctx.oidc.body`; at the
 * introspection and revocation endpoints a `token` that is a compact JWS is
 * replaced by its handle as it is stored there. Installed once per provider
 * on its context class, like the other steps (src/oidc/engine-steps.ts).
 */
export function admitJwtsAtIntrospectionAndRevocation(provider: Provider, handles: JwtHandles): void {
  handlesOf.set(provider, handles);
  onParsedForm(provider, ADMITTING_ROUTES, (form) => {
    const token = form['token'];
    if (typeof token === 'string' && token.length <= MAX_TOKEN_LENGTH && isStructured(token)) form['token'] = handles.wrap(token);
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

/**
 * Step 3, the storage side: for AccessToken and ClientCredentials, a handle
 * made by step 2 finds the record of the JWT inside it once the JWT is
 * verified; every other id behaves exactly as with the inner adapter. The
 * engine asks all three token models about a presented token at once, and
 * RefreshToken gets a verifier of `undefined`: it holds no JWTs, so a handle
 * finds nothing there without a database round trip. The two that do
 * share one verifier, so the JWT is verified once, and their lookups of the
 * jti then arrive together and go out as one statement
 * (src/oidc/payload-lookups.ts).
 */
export class JwtAwareAdapter extends DelegatingAdapter {
  readonly #handles: JwtHandles;
  readonly #verifier: JwtVerifier | undefined;

  constructor(inner: Adapter, handles: JwtHandles, verifier: JwtVerifier | undefined) {
    super(inner);
    this.#handles = handles;
    this.#verifier = verifier;
  }

  override async find(id: string): Promise<AdapterPayload | undefined> {
    if (!this.#handles.isHandleShaped(id)) return (await this.inner.find(id)) ?? undefined;
    // Whatever else it is, it is no opaque token: nothing to ask the database unless it is our handle of a JWT that verifies.
    const verifier = this.#verifier;
    const jwt = verifier && this.#handles.unwrap(id);
    if (!verifier || jwt === undefined) return undefined;
    const jti = await verifier.verifiedJti(jwt);
    if (jti === undefined) return undefined;
    const record = (await this.inner.find(jti)) ?? undefined;
    if (record?.['format'] !== 'jwt' || record.jti !== jti) return undefined;
    // Reached through its verified JWT: the engine may treat it as the opaque record it is.
    const { format: _format, ...opaque } = record as AdapterPayload & { format?: string };
    return opaque;
  }
}

/** What a client-credentials token found by findClientCredentials says. */
export interface ClientCredentialsToken {
  clientId: string;
  scopes: ReadonlySet<string>;
  /** Its audience: a resource server's identifier, the layout's audience, or undefined for none. */
  audience: string | undefined;
}

type ClientCredentialsModel = {
  find(value: string): Promise<{ clientId?: string; scope?: string; aud?: unknown } | undefined>;
};

/**
 * A client-credentials token presented to Latchkey itself as a bearer token
 * (the admin API, src/admin/admin-authentication.ts), found as introspection
 * finds it, in-process: through the engine's own model and adapters, so
 * that expiry, revocation and the format check are the engine's, and a JWT
 * is verified and looked up as at introspection (steps 2 and 3). The token
 * is never compared with anything in memory: its digest is the key the
 * database finds the record by. Undefined for anything else.
 */
export async function findClientCredentials(provider: Provider, value: string): Promise<ClientCredentialsToken | undefined> {
  if (value.length === 0 || value.length > MAX_TOKEN_LENGTH) return undefined;
  const handles = handlesOf.get(provider);
  const id = handles && isStructured(value) ? handles.wrap(value) : value;
  const token = await (provider.ClientCredentials as unknown as ClientCredentialsModel).find(id);
  if (!token?.clientId) return undefined;
  const aud = token.aud;
  return {
    clientId: token.clientId,
    scopes: new Set((token.scope ?? '').split(' ').filter(Boolean)),
    audience: typeof aud === 'string' ? aud : Array.isArray(aud) ? aud.join(' ') : undefined,
  };
}

type Exchanged = { authTime?: number; acr?: string; sid?: string };
type JwtFormatCustomizer = NonNullable<NonNullable<NonNullable<Configuration['formats']>['customizers']>['jwt']>;

/**
 * RFC 9068 §2.2: `auth_time`, `acr` and `sid` where the token comes from a
 * user's authentication, taken from the code or refresh token being
 * exchanged (what the engine recorded at sign-in) or from the password
 * grant's sign-in, never from the request.
 */
export const authenticationClaims: JwtFormatCustomizer = (ctx, token, jwt) => {
  if ((token as { kind?: string }).kind !== 'AccessToken') return;
  const entities = (ctx as unknown as { oidc?: { entities?: Record<string, Exchanged | undefined> } }).oidc?.entities;
  const source = entities?.['AuthorizationCode'] ?? entities?.['RefreshToken'] ?? entities?.[PASSWORD_SIGN_IN_ENTITY];
  if (!source) return;
  const payload = jwt.payload as Record<string, unknown>;
  if (typeof source.authTime === 'number') payload['auth_time'] = source.authTime;
  if (typeof source.acr === 'string') payload['acr'] = source.acr;
  const sid = (token as { sid?: string }).sid ?? source.sid;
  if (typeof sid === 'string') payload['sid'] = sid;
};

type AccessTokenModel = {
  find(value: string, options?: object): Promise<{ aud?: unknown } | undefined>;
};
type ContextWithToken = { route?: string; getAccessToken(options?: object): string };

/** Step 4. */
export function admitLayoutTokensAtUserinfo(provider: Provider, handles: JwtHandles, audience: string): void {
  const prototype = (provider as unknown as { OIDCContext: { prototype: ContextWithToken } }).OIDCContext.prototype;
  const getAccessToken = prototype.getAccessToken;
  prototype.getAccessToken = function admittedAccessToken(this: ContextWithToken, options) {
    const value = getAccessToken.call(this, options);
    return this.route === 'userinfo' && value.length <= MAX_TOKEN_LENGTH && isStructured(value) ? handles.wrap(value) : value;
  };
  const AccessToken = provider.AccessToken as unknown as AccessTokenModel;
  const find = AccessToken.find.bind(AccessToken);
  AccessToken.find = async (value, options) => {
    const token = await find(value, options);
    if (token?.aud === audience && handles.isHandleShaped(value) && requestInFlight.getStore()?.oidc?.route === 'userinfo') {
      token.aud = undefined;
    }
    return token;
  };
}

type IdTokenClass = { validate(jwt: string, client: unknown): Promise<unknown> };

/** Step 5: an `at+jwt` is never an ID token hint (RFC 9068 §2.1 `typ`, OIDC Core §3.1.2.1 id_token_hint). */
export function refuseAccessTokensAsIdTokenHints(provider: Provider): void {
  const IdToken = provider.IdToken as unknown as IdTokenClass;
  const validate = IdToken.validate.bind(IdToken);
  IdToken.validate = async (jwt, client) => {
    let typ: unknown;
    try {
      typ = decodeProtectedHeader(jwt).typ;
    } catch {
      // Not a JWS at all: the engine's own check refuses it as it always did.
    }
    // RFC 8725 §3.11: media types compare case-insensitively, with or without application/.
    if (typeof typ === 'string' && typ.toLowerCase().replace(/^application\//, '') === 'at+jwt') {
      // Answered by the engine as any hint that does not validate (invalid_request).
      throw new Error('an access token is not an ID token');
    }
    return validate(jwt, client);
  };
}
