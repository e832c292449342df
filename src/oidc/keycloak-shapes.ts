import { createHmac, hkdfSync, timingSafeEqual, type KeyObject, createSecretKey } from 'node:crypto';
import type Provider from 'oidc-provider';
import type { Adapter, AdapterPayload, KoaContextWithOIDC } from 'oidc-provider';
import { accountClaims } from '../accounts/account-claims.ts';
import type { StoredUser } from '../store/user.repository.ts';
import { DelegatingAdapter } from './delegating-adapter.ts';
import { onParsedForm } from './parsed-form.ts';
import type { JwtHandles } from './structured-access-tokens.ts';

/**
 * Keycloak's shapes for a realm in the keycloak layout (src/oidc/realm-layouts.ts),
 * as its own client libraries and IFS Cloud read them:
 *
 * - access tokens (always JWTs in this layout) carry `typ: Bearer`, `azp`,
 *   `preferred_username`, `session_state`/`sid`, `realm_access.roles`,
 *   `resource_access.<client>.roles` and, as Keycloak's default client
 *   scopes put them there, the profile and e-mail claims the scope grants;
 *   keycloak-connect refuses a token without `typ: Bearer`;
 * - ID tokens carry `typ: ID`, `azp` and `session_state`;
 * - token responses carry `refresh_expires_in`, `not-before-policy` and
 *   `session_state`;
 * - refresh tokens are JWT-shaped: keycloak-js decodes the refresh token
 *   as a JWT and fails its `init()` when it is opaque. Latchkey's refresh
 *   token stays the opaque one at rest (by digest); the client is given it
 *   inside an HS256 JWT made with a key derived from the server's digest
 *   key (`RefreshTokenJwts`), which verifies with no published key, so it
 *   can never pass for an access or ID token anywhere. In this layout a
 *   refresh token is accepted in that form only.
 *
 * Roles: a user's role named `<client>:<role>` (keycloak-connect's own
 * notation for client roles) is a role of that client in `resource_access`;
 * every other role is a realm role in `realm_access`.
 */

export const KEYCLOAK_TOKEN_TYPE = 'Bearer';

/** Keycloak's realm and client roles from a list of role names. */
export function keycloakRoles(roles: readonly string[]): { realm_access: { roles: string[] }; resource_access: Record<string, { roles: string[] }> } {
  const realm: string[] = [];
  const resource: Record<string, { roles: string[] }> = {};
  for (const role of roles) {
    const colon = role.indexOf(':');
    if (colon <= 0 || colon === role.length - 1) {
      realm.push(role);
      continue;
    }
    const client = role.slice(0, colon);
    (resource[client] ??= { roles: [] }).roles.push(role.slice(colon + 1));
  }
  return { realm_access: { roles: realm }, resource_access: resource };
}

type TokenLike = { kind: string; accountId?: string; scope?: string; sid?: string; clientId?: string };

/**
 * What a Keycloak access token says beyond RFC 9068's claims, for the
 * engine's extraTokenClaims: written into the JWT and into the record that
 * introspection answers from. The engine's own claims (sub, iss, aud, exp,
 * scope, client_id) cannot be overridden from here.
 */
export async function keycloakAccessTokenClaims(
  ctx: KoaContextWithOIDC,
  token: TokenLike,
  findUser: (accountId: string) => Promise<StoredUser | undefined>,
): Promise<Record<string, unknown> | undefined> {
  const clientId = ctx.oidc.client?.clientId ?? token.clientId;
  if (token.kind === 'ClientCredentials') {
    const own = ctx.oidc.client?.metadata()['roles'];
    return {
      typ: KEYCLOAK_TOKEN_TYPE,
      azp: clientId,
      // Keycloak's service account user.
      preferred_username: `service-account-${clientId}`,
      ...keycloakRoles(Array.isArray(own) ? own.map(String) : []),
    };
  }
  if (token.kind !== 'AccessToken' || !token.accountId) return undefined;
  const user = await findUser(token.accountId);
  if (!user) return undefined;
  const { sub: _sub, roles: _roles, groups: _groups, updated_at: _updatedAt, ...profile } = accountClaims(user, token.scope);
  const sid = token.sid ?? sessionOf(ctx);
  return {
    ...releasedProfile(profile, token.scope ?? ''),
    typ: KEYCLOAK_TOKEN_TYPE,
    azp: clientId,
    preferred_username: user.username,
    ...(sid ? { sid, session_state: sid } : {}),
    ...keycloakRoles(user.roles),
  };
}

const PROFILE_CLAIMS = new Set(['name', 'given_name', 'family_name', 'middle_name', 'nickname', 'picture', 'locale', 'zoneinfo', 'website', 'gender', 'birthdate', 'profile']);
const EMAIL_CLAIMS = new Set(['email', 'email_verified']);

/** Only what the granted scope releases, as Keycloak's profile and email client scopes do. */
function releasedProfile(claims: Record<string, unknown>, scope: string): Record<string, unknown> {
  const granted = new Set(scope.split(' '));
  return Object.fromEntries(Object.entries(claims).filter(([name]) =>
    (granted.has('profile') && PROFILE_CLAIMS.has(name)) || (granted.has('email') && EMAIL_CLAIMS.has(name))));
}

type Exchanged = { sid?: string };

/** The session id the token comes from: the code or refresh token exchanged. */
function sessionOf(ctx: KoaContextWithOIDC): string | undefined {
  const entities = ctx.oidc.entities as Record<string, Exchanged | undefined>;
  return (entities['AuthorizationCode'] ?? entities['RefreshToken'])?.sid;
}

type IdTokenPrototype = { issue(options?: { use?: string }): Promise<string>; set(key: string, value: unknown): void; extra: Record<string, unknown>; client?: { clientId: string } };

/**
 * ID tokens with Keycloak's `typ`, `azp` and `session_state`, and every
 * token with the session id (`sid`) that keycloak-js keeps as its session:
 * the engine records it only for clients with front- or back-channel
 * logout.
 */
export function shapeKeycloakIdTokens(provider: Provider): void {
  (provider.Client as unknown as { prototype: { includeSid(): boolean } }).prototype.includeSid = () => true;
  const prototype = (provider.IdToken as unknown as { prototype: IdTokenPrototype }).prototype;
  const issue = prototype.issue;
  prototype.issue = async function keycloakIdToken(this: IdTokenPrototype, options) {
    if (options?.use === 'idtoken') {
      this.set('typ', 'ID');
      if (this.client) this.set('azp', this.client.clientId);
      if (typeof this.extra['sid'] === 'string') this.set('session_state', this.extra['sid']);
    }
    return issue.call(this, options);
  };
}

const REFRESH_TYP = 'Refresh';
const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

/** Refresh tokens given out as HS256 JWTs wrapping the opaque one; see the module comment. */
export class RefreshTokenJwts {
  readonly #key: KeyObject;
  readonly #issuer: string;

  constructor(digestKey: Buffer, issuer: string) {
    // Derived per issuer: a refresh token of one realm is never another's.
    this.#key = createSecretKey(Buffer.from(hkdfSync('sha256', digestKey, issuer, 'latchkey keycloak-layout refresh token', 32)));
    this.#issuer = issuer;
  }

  wrap(value: string, record: AdapterPayload): string {
    const payload = {
      exp: record.exp,
      iat: record.iat,
      jti: value,
      iss: this.#issuer,
      aud: this.#issuer,
      sub: record.accountId,
      typ: REFRESH_TYP,
      azp: record.clientId,
      ...(typeof record.sid === 'string' ? { sid: record.sid, session_state: record.sid } : {}),
      scope: record.scope,
    };
    const signingInput = `${HEADER}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
    return `${signingInput}.${this.#mac(signingInput)}`;
  }

  /** The opaque refresh token inside a JWT made here, or undefined for anything else. Expiry is the record's to judge. */
  unwrap(jwt: string): string | undefined {
    const parts = jwt.split('.');
    if (parts.length !== 3 || parts[0] !== HEADER) return undefined;
    const given = Buffer.from(parts[2]!);
    const expected = Buffer.from(this.#mac(`${parts[0]}.${parts[1]}`));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    try {
      const payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as { jti?: unknown; typ?: unknown; iss?: unknown };
      return payload.typ === REFRESH_TYP && payload.iss === this.#issuer && typeof payload.jti === 'string' ? payload.jti : undefined;
    } catch {
      return undefined;
    }
  }

  #mac(input: string): string {
    return createHmac('sha256', this.#key).update(input).digest('base64url');
  }
}

type ModelClass = { prototype: { getValueAndPayload(): Promise<{ value: string; payload?: AdapterPayload | undefined }> } };

/** Refresh tokens leave the engine as their JWT form. */
export function issueRefreshTokensAsJwts(provider: Provider, jwts: RefreshTokenJwts): void {
  const prototype = (provider.RefreshToken as unknown as ModelClass).prototype;
  const issue = prototype.getValueAndPayload;
  prototype.getValueAndPayload = async function keycloakRefreshToken() {
    const { value, payload } = await issue.call(this);
    return { value: payload ? jwts.wrap(value, payload) : value, payload };
  };
}

/**
 * The RefreshToken adapter in this layout: a presented refresh token is
 * found only in its JWT form (at the token endpoint as sent, at
 * introspection and revocation as the in-process handle those endpoints
 * make of any JWT, src/oidc/structured-access-tokens.ts).
 */
export class KeycloakRefreshTokenAdapter extends DelegatingAdapter {
  readonly #jwts: RefreshTokenJwts;
  readonly #handles: JwtHandles;

  constructor(inner: Adapter, jwts: RefreshTokenJwts, handles: JwtHandles) {
    super(inner);
    this.#jwts = jwts;
    this.#handles = handles;
  }

  override async find(id: string): Promise<AdapterPayload | undefined> {
    const jwt = this.#handles.isHandleShaped(id) ? this.#handles.unwrap(id) : id;
    const value = jwt === undefined ? undefined : this.#jwts.unwrap(jwt);
    if (value === undefined) return undefined;
    return (await this.inner.find(value)) ?? undefined;
  }
}

const CLIENT_AUTH_ROUTES = ['token', 'introspection', 'revocation', 'pushed_authorization_request'];

/**
 * keycloak-connect's introspection (and other Keycloak adapters) send the
 * client's credentials twice: `Authorization: Basic` and `client_secret` in
 * the form. Keycloak takes that; the engine refuses two mechanisms
 * (invalid_request). Where both name the same client and the same secret,
 * the form's copy is dropped before the engine reads the parameters; any
 * difference is still the engine's invalid_request.
 */
export function acceptRepeatedClientCredentials(provider: Provider): void {
  onParsedForm(provider, CLIENT_AUTH_ROUTES, (form, { headers }) => dropRepeatedSecret(form, headers['authorization']));
}

function dropRepeatedSecret(form: Record<string, unknown>, authorization: string | undefined): void {
  const secret = form['client_secret'];
  if (typeof secret !== 'string' || !authorization?.toLowerCase().startsWith('basic ')) return;
  const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return;
  let id: string;
  let basicSecret: string;
  try {
    // RFC 6749 Appendix B: each part form-urlencoded.
    [id, basicSecret] = [decoded.slice(0, colon), decoded.slice(colon + 1)].map((part) => decodeURIComponent(part.replace(/\+/g, ' '))) as [string, string];
  } catch {
    return;
  }
  const formId = form['client_id'];
  if (basicSecret === secret && (formId === undefined || formId === id)) delete form['client_secret'];
}

/**
 * Token responses with Keycloak's extra fields, and CORS with credentials
 * for the clients' own origins: keycloak-js sends its token requests with
 * credentials, and a browser drops a credentialed response without
 * `Access-Control-Allow-Credentials: true`. It is set only where the engine
 * kept `Access-Control-Allow-Origin` after its client-based check (the
 * client's redirect origins), never for an origin the check refused or
 * before a client is known.
 */
export function keycloakResponses() {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> => {
    await next();
    const route = ctx.oidc?.route;
    if (route !== 'token' && route !== 'userinfo') return;
    const origin = ctx.get('Origin');
    if (origin && origin !== 'null' && ctx.oidc.client && ctx.response.get('Access-Control-Allow-Origin') === origin) {
      ctx.set('Access-Control-Allow-Credentials', 'true');
    }
    if (route !== 'token' || ctx.status !== 200 || !ctx.body || typeof ctx.body !== 'object') return;
    const body = ctx.body as Record<string, unknown>;
    const now = Math.floor(Date.now() / 1000);
    const refresh = typeof body['refresh_token'] === 'string' ? payloadOf(body['refresh_token']) : undefined;
    const access = typeof body['access_token'] === 'string' ? payloadOf(body['access_token']) : undefined;
    const sid = access?.['sid'] ?? refresh?.['sid'];
    // Keycloak answers refresh_expires_in 0 where no refresh token is issued (client credentials).
    body['refresh_expires_in'] = typeof refresh?.['exp'] === 'number' ? Math.max(0, refresh['exp'] - now) : 0;
    body['not-before-policy'] = 0;
    if (typeof sid === 'string') body['session_state'] = sid;
  };
}

function payloadOf(jwt: string): Record<string, unknown> | undefined {
  const parts = jwt.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
    return payload && typeof payload === 'object' ? payload as Record<string, unknown> : undefined;
  } catch {
    return undefined;
  }
}
