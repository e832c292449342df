import type { IncomingMessage } from 'node:http';
import type Provider from 'oidc-provider';
import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import {
  InvalidScope, isOutage, oauthErrorBody, requestErrors, RETRY_AFTER_SECONDS, statusOf, toProtocolError, UnauthorizedClient,
} from '../errors/index.ts';

/**
 * Every place where Latchkey corrects or extends oidc-provider, as named
 * steps, each with what it enforces. The engine stays as it is; these steps
 * run around it (Koa middleware, outermost first) or are handed to it as
 * configuration hooks (src/oidc/provider-factory.ts). In the spirit of the
 * engine's own lib/actions/* step lists: to see what Latchkey changes about
 * the protocol, read this file.
 *
 * Around every request (installEdge), in this order:
 *   presentIssuer                      URLs, cookies and HSTS as the issuer's (OIDC Discovery §4.3, RFC 9700 §4.13)
 *   chooseErrorShape                   JSON for APIs, a page for browsers (RFC 6749 §5.2)
 *   securityHeaders                    nosniff, no-referrer, CSP, HSTS (RFC 9700 §4.16, RFC 6797)
 *   refuseOversizedBody                413 before the engine reads it (RFC 9110 §15.5.14)
 *   answerEscapedErrors                what escapes the engine in Latchkey's error shape; an outage is 503
 *   answerUnroutedPaths                404, or 405 with Allow (RFC 9110 §15.5.5, §15.5.6)
 *   allowClientFormActions             CSP form-action for the client's redirect origins, success pages only
 *   retryAfterWhenUnavailable          every 503 says when to retry (RFC 9110 §10.2.3, RFC 7009 §2.2.1)
 *   unauthorizedClientForUnallowedGrant  unauthorized_client, not invalid_request (RFC 6749 §5.2)
 *   publishKeySet                      bounded JWKS caching, x5t#S256 (RFC 7517 §4.9)
 * And, for what the engine answers as server_error itself:
 *   logEngineServerErrors              logged with the request's logger, as an escaped error is
 * Then src/oidc/unit-of-work-middleware.ts (all or nothing per request) and
 * src/oidc/client-authentication.ts (hashed secrets, uniform failures, brakes).
 *
 * Configuration hooks:
 *   refuseUndeclaredClientCredentialsScopes  invalid_scope, not a silent drop (RFC 6749 §3.3, ASVS 10.4.11)
 *   capRefreshTokenAtGrant             a rotated refresh token never outlives its grant (RFC 9700 §4.14.2)
 *   introspectionPolicy                who may introspect which token (RFC 7662 §2.1, §4)
 *   resourceIndicators                 resource servers, default_resource, invalid_target (RFC 8707; src/oidc/resource-indicators.ts)
 *   authenticationClaims               auth_time, acr, sid in JWT access tokens (RFC 9068 §2.2)
 *
 * Provider middleware:
 *   advertiseGrantTypeWhenUsed         discovery lists an opt-in grant (password) only where a client has it (RFC 8414 §2)
 *
 * JWT access tokens that stay under control (src/oidc/structured-access-tokens.ts):
 *   recordJwtAccessTokens              stored like opaque ones, by jti digest, marked format jwt
 *   admitJwtsAtIntrospectionAndRevocation  a JWT reaches those two endpoints as a MACed in-process handle
 *   JwtAwareAdapter                    the handle finds the record once the JWT verifies (RFC 9068 §4, RFC 7662, RFC 7009)
 *   JwtVerifier                        a verified JWT's jti and exp remembered until exp; liveness still read every time (src/oidc/jwt-verifier.ts)
 *   refuseAccessTokensAsIdTokenHints   an at+jwt is never taken as an id_token_hint (RFC 9068 §2.1, OIDC Core §3.1.2.1)
 *
 * Dynamic client registration, where a realm enables it (src/oidc/client-registration.ts):
 *   latchkeyRealmPolicy                the realm's policy and the client rulebook before the engine validates (RFC 7591 §2, §3.2.2)
 *   storeRegistration                  one initial-access-token use spent per stored client, in the same transaction
 *   withoutStoredSecret                read and update answers never carry the stored digest (RFC 7592 §3)
 *
 * The password grant, opt-in per client (src/oidc/password-grant.ts):
 *   installPasswordGrant               RFC 6749 §4.3 with the sign-in page's argon2id and brakes
 *
 * Realm layouts (src/oidc/realm-layouts.ts), in the Keycloak and Okta layouts only:
 *   layoutAudience (resource-indicators.ts)  a token naming no API is a JWT for the layout's audience
 *   admitLayoutTokensAtUserinfo        and it is good at userinfo, as those vendors' are (structured-access-tokens.ts)
 * Keycloak's (src/oidc/keycloak-shapes.ts):
 *   keycloakAccessTokenClaims          typ, azp, preferred_username, sid/session_state, realm_access, resource_access
 *   shapeKeycloakIdTokens              typ ID, azp, session_state; sid for every client
 *   RefreshTokenJwts, KeycloakRefreshTokenAdapter  refresh tokens handed out, and taken back only, in an HS256 JWT form
 *   acceptRepeatedClientCredentials    the same client and secret sent as Basic and in the form (keycloak-connect)
 *   keycloakResponses                  refresh_expires_in, not-before-policy, session_state; CORS with credentials
 * Okta's (src/oidc/okta-shapes.ts):
 *   oktaAccessTokenClaims, oktaSubject ver, cid, uid, scp; sub the user's login
 *   shapeOktaIdTokens                  ver
 *   acceptBasicClientIdOnly            okta-auth-js's Basic base64(client_id) at revocation and introspection
 */

/** What the HTTP layer knows about a request before the engine runs. */
export interface RequestFacts {
  /** `page`: a person's browser; `api`: a program; undefined: an unknown path (Accept decides). */
  kind: 'page' | 'api' | undefined;
  /** Methods the path answers, for 405 and Allow. */
  methods: readonly string[];
  log?: { error(object: object, message: string): void } | undefined;
}

export interface EdgeDeps {
  /** Where the realm is mounted, without the trailing slash ('' for the root). */
  prefix: string;
  facts: (req: IncomingMessage) => RequestFacts | undefined;
  renderError: NonNullable<Configuration['renderError']>;
  headers: {
    common: Readonly<Record<string, string>>;
    contentSecurityPolicy: (formActionOrigins?: Iterable<string>) => string;
    hsts: string;
    formActionOrigins: (client: { redirectUris?: readonly string[] | undefined; postLogoutRedirectUris?: readonly string[] | undefined }) => string[];
  };
  jwksMaxAgeSeconds: number;
  x5tS256: () => ReadonlyMap<string, string>;
}

/** oidc-provider reads at most this much of a body (lib/shared/selective_body.js). */
const ENGINE_BODY_LIMIT = 56 * 1024;

type Context = KoaContextWithOIDC;
type Next = () => Promise<void>;

/** Installs the steps around every request, once per provider; outermost of the engine's middleware. */
export function installEdge(provider: Provider, deps: EdgeDeps): void {
  presentIssuer(provider, deps.prefix);
  chooseErrorShape(provider, deps.facts);
  logEngineServerErrors(provider, deps.facts);
  const edge = async function latchkeyEdge(ctx: Context, next: Next) {
    const facts = deps.facts(ctx.req);
    securityHeaders(ctx, deps.headers);
    if ((ctx.request.length ?? 0) > ENGINE_BODY_LIMIT) return answer(ctx, requestErrors.bodyTooLarge(), deps.renderError);
    await answerEscapedErrors(ctx, next, facts, deps.renderError);
    await answerUnroutedPaths(ctx, facts, deps.renderError);
    if (ctx.status >= 400) ctx.set('cache-control', 'no-store');
    allowClientFormActions(ctx, deps.headers.formActionOrigins);
    retryAfterWhenUnavailable(ctx);
    if (ctx.oidc?.route === 'token') unauthorizedClientForUnallowedGrant(ctx);
    if (ctx.oidc?.route === 'jwks' && ctx.status === 200) publishKeySet(ctx, deps.jwksMaxAgeSeconds, deps.x5tS256());
  };
  // Koa's public middleware list; oidc-provider's own `use` keeps its router last.
  provider.middleware.unshift(edge as never);
}

/**
 * Every URL the engine builds (discovery, redirects, form actions, cookie
 * paths) comes from `ctx.href` through OIDCContext#urlFor
 * (lib/helpers/oidc_context.js), and Koa derives it from Host or
 * X-Forwarded-Host. Here it is the realm issuer's, whatever the headers
 * say; `mountPath` (koa-mount's convention, which urlFor honours) gives a
 * realm at /realms/<name>/ its own paths. `secure` (Secure cookies, HSTS)
 * is true for an https issuer, and otherwise as the request says: over TLS,
 * or through a trusted TLS proxy (X-Forwarded-Proto with LATCHKEY_TRUST_PROXY).
 *
 * Defined once on the provider's request and context prototypes (the
 * provider is a Koa application): per request they would cost a property
 * definition on every request object.
 */
function presentIssuer(provider: Provider, prefix: string): void {
  const issuer = new URL(provider.issuer);
  const httpsIssuer = issuer.protocol === 'https:';
  const requestProto = provider.request as object;
  const requestProtocol = getterOf(requestProto, 'protocol');
  Object.defineProperties(requestProto, {
    host: { get: () => issuer.host, configurable: true },
    hostname: { get: () => issuer.hostname, configurable: true },
    protocol: {
      get(this: object) { return httpsIssuer || requestProtocol.call(this) === 'https' ? 'https' : 'http'; },
      configurable: true,
    },
    secure: { get(this: { protocol: string }) { return this.protocol === 'https'; }, configurable: true },
    href: { get(this: { originalUrl: string }) { return `${issuer.origin}${prefix}${this.originalUrl}`; }, configurable: true },
    URL: { get(this: { href: string }) { return new URL(this.href); }, configurable: true },
  });
  (provider.context as { mountPath?: string }).mountPath = prefix;
}

function getterOf(object: object, name: string): (this: unknown) => unknown {
  for (let proto: object | null = object; proto; proto = Object.getPrototypeOf(proto) as object | null) {
    const getter = Object.getOwnPropertyDescriptor(proto, name)?.get;
    if (getter) return getter;
  }
  throw new Error(`Koa's request has no ${name} getter`);
}

/**
 * The engine, and the steps around it, ask `ctx.accepts('json', 'html')`
 * whether to answer an error as JSON or through renderError
 * (lib/shared/error_handler.js). At Latchkey the endpoint decides: JSON for
 * APIs, a page for browser endpoints; Accept only for paths that are neither.
 */
function chooseErrorShape(provider: Provider, facts: EdgeDeps['facts']): void {
  const contextProto = provider.context as { accepts: (...types: string[]) => string | false };
  const accepts = contextProto.accepts;
  contextProto.accepts = function decided(this: Context, ...types: string[]) {
    const kind = types.length === 2 && types[0] === 'json' && types[1] === 'html' ? facts(this.req)?.kind : undefined;
    if (kind) return kind === 'page' ? 'html' : 'json';
    return accepts.apply(this, types);
  };
}

function securityHeaders(ctx: Context, headers: EdgeDeps['headers']): void {
  ctx.set(headers.common);
  // Set before the route runs so that form_post can add its script hash to it.
  ctx.set('content-security-policy', headers.contentSecurityPolicy());
  if (ctx.secure) ctx.set('strict-transport-security', headers.hsts);
}

/**
 * The engine answers a failure it does not recognise as server_error by
 * itself (lib/shared/error_handler.js) and only emits `server_error`: such
 * a bug would otherwise leave no trace. An outage is no bug; it is
 * answered as 503 where it is known as one.
 */
function logEngineServerErrors(provider: Provider, facts: EdgeDeps['facts']): void {
  provider.on('server_error', (ctx: Context, error: unknown) => {
    if (isOutage(error)) return;
    facts(ctx.req)?.log?.error({ err: error, route: ctx.oidc?.route }, 'engine answered server_error');
  });
}

/**
 * Koa's default would answer what escapes the engine as plain text (e.g. a
 * session save that fails after the route's error handler ran). An outage
 * is 503; a bug is logged and answered as server_error.
 */
async function answerEscapedErrors(ctx: Context, next: Next, facts: RequestFacts | undefined, renderError: EdgeDeps['renderError']): Promise<void> {
  try {
    await next();
  } catch (error) {
    if (ctx.headerSent || !ctx.writable) throw error;
    if (statusOf(error) >= 500 && !isOutage(error)) facts?.log?.error({ err: error }, 'engine request failed');
    for (const header of ['location', 'set-cookie']) ctx.remove(header);
    await answer(ctx, toProtocolError(error) ?? error, renderError);
  }
}

/** No engine route matched: Koa's untouched default, and ctx.oidc never defined (lib/helpers/initialize_app.js ensureOIDC). */
async function answerUnroutedPaths(ctx: Context, facts: RequestFacts | undefined, renderError: EdgeDeps['renderError']): Promise<void> {
  if (ctx.status !== 404 || ctx.body != null || Object.hasOwn(ctx, 'oidc')) return;
  const allowed = facts?.methods ?? [];
  // A method the path takes, yet no route took it: Fastify refused the path itself (a parameter over maxParamLength).
  const wrongMethod = allowed.length > 0 && !allowed.includes(ctx.method);
  if (wrongMethod) ctx.set('allow', allowed.join(', '));
  await answer(ctx, wrongMethod ? requestErrors.methodNotAllowed() : requestErrors.notFound(), renderError);
}

/**
 * Only a page that can send the browser on to the client needs its
 * origins; an error must not tell (by its CSP) which client was named.
 */
function allowClientFormActions(ctx: Context, formActionOrigins: EdgeDeps['headers']['formActionOrigins']): void {
  if (!ctx.oidc?.client || ctx.status >= 400) return;
  const csp = ctx.response.get('content-security-policy');
  if (!csp) return;
  const extra = formActionOrigins(ctx.oidc.client).join(' ');
  if (extra) ctx.set('content-security-policy', csp.replace("form-action 'self'", `form-action 'self' ${extra}`));
}

function retryAfterWhenUnavailable(ctx: Context): void {
  if (ctx.status === 503) ctx.set('retry-after', RETRY_AFTER_SECONDS);
}

/**
 * oidc-provider answers a grant type the client is not registered for with
 * `invalid_request`; RFC 6749 §5.2 names that case `unauthorized_client`
 * ("the authenticated client is not authorized to use this authorization
 * grant type"), which is what clients and conformance tests look for. Only
 * the error code changes; the engine's description (lib/actions/token.js)
 * stays, and identifies the case.
 */
const UNALLOWED_GRANT = 'requested grant type is not allowed for this client';

function unauthorizedClientForUnallowedGrant(ctx: Context): void {
  const body = ctx.body as { error?: unknown; error_description?: unknown } | undefined;
  if (ctx.status === 400 && body?.error === 'invalid_request' && body.error_description === UNALLOWED_GRANT) {
    ctx.body = { ...body, error: new UnauthorizedClient().error };
  }
}

/**
 * The JWKS is cacheable for a bounded time: staged rotation publishes a new
 * key longer than this before it signs (README "Keys"). oidc-provider leaves
 * out `x5t#S256`; it is added for keys that came with a certificate.
 */
function publishKeySet(ctx: Context, maxAgeSeconds: number, thumbprints: ReadonlyMap<string, string>): void {
  ctx.set('cache-control', maxAgeSeconds > 0 ? `public, max-age=${maxAgeSeconds}` : 'no-cache');
  const body = ctx.body as { keys?: { kid?: string; x5c?: unknown }[] } | undefined;
  if (!thumbprints.size || !Array.isArray(body?.keys)) return;
  ctx.body = {
    keys: body.keys.map((key) => {
      const thumbprint = key.kid && key.x5c ? thumbprints.get(key.kid) : undefined;
      return thumbprint ? { ...key, 'x5t#S256': thumbprint } : key;
    }),
  };
}

/** Answers with an error as the engine's error handler does (lib/shared/error_handler.js): a page or OAuth JSON. */
export async function answer(ctx: Context, error: unknown, renderError: EdgeDeps['renderError']): Promise<void> {
  ctx.status = statusOf(error);
  ctx.set('cache-control', 'no-store');
  const out = oauthErrorBody(error);
  if (ctx.accepts('json', 'html') === 'html') await renderError(ctx, out, error as Error);
  else ctx.body = out;
}

/**
 * For client_credentials the engine silently drops requested scopes that no
 * client of the realm declares (and checks only the others against the
 * client's `scope`). A refusal is asked for instead, so this hook
 * (extraTokenClaims, which runs before the token is stored) compares the
 * scopes as the client sent them with its registered `scope`.
 */
export const refuseUndeclaredClientCredentialsScopes: NonNullable<Configuration['extraTokenClaims']> = async (ctx, token) => {
  if (token.kind === 'ClientCredentials') {
    const sent = (ctx.oidc.body as { scope?: unknown } | undefined)?.scope;
    const requested = typeof sent === 'string' ? sent : token.scope ?? '';
    const allowed = new Set((ctx.oidc.client?.scope ?? '').split(' '));
    const refused = requested.split(' ').find((s) => s && !allowed.has(s));
    if (refused) throw new InvalidScope('requested scope is not allowed', refused);
  }
  return undefined;
};

/**
 * A refresh token's lifetime slides with each rotation (idle timeout) but
 * never past its grant's, which is the absolute cap (Keycloak's "SSO
 * Session Max"): a rotated token must not outlive the one it replaces.
 */
export function capRefreshTokenAtGrant(idle: (client?: { ttl?: unknown }) => number) {
  return (ctx: Context | undefined, _token: unknown, client?: { ttl?: unknown }): number => {
    const lifetime = idle(client);
    const grantExp = (ctx?.oidc?.entities?.Grant as { exp?: number } | undefined)?.exp;
    if (typeof grantExp !== 'number') return lifetime;
    return Math.max(1, Math.min(lifetime, grantExp - Math.floor(Date.now() / 1000)));
  };
}

/**
 * A deliberate policy instead of the engine's permissive default: a client
 * may introspect its own tokens; a client holding the `introspection`
 * permission (a resource server) any token of the realm.
 */
export async function introspectionPolicy(_ctx: unknown, client: { clientId: string; metadata(): Record<string, unknown> }, token: { clientId?: string | undefined }): Promise<boolean> {
  if (token.clientId === client.clientId) return true;
  const granted = client.metadata()['permissions'];
  return Array.isArray(granted) && granted.includes('introspection');
}

/**
 * Discovery's grant_types_supported (RFC 8414 §2) lists what the engine can
 * do; an opt-in grant such as `password` (src/oidc/password-grant.ts) is
 * registered on every realm's provider, so that a client given it at run
 * time can use it at once, but is listed only in a realm where some client
 * has it. Asked at most every few seconds; when the database cannot say,
 * the grant is left out (discovery never fails for it).
 */
export function advertiseGrantTypeWhenUsed(provider: Provider, grantType: string, used: () => Promise<boolean>, ttlMs = 5_000): void {
  let known: { used: boolean; at: number } | undefined;
  const isUsed = async () => {
    if (known && Date.now() - known.at < ttlMs) return known.used;
    try {
      known = { used: await used(), at: Date.now() };
      return known.used;
    } catch {
      return false;
    }
  };
  provider.use(async function advertiseWhenUsed(ctx: Context, next: Next) {
    await next();
    if (ctx.oidc?.route !== 'discovery' || ctx.status !== 200) return;
    const body = ctx.body as { grant_types_supported?: unknown } | undefined;
    if (!Array.isArray(body?.grant_types_supported) || await isUsed()) return;
    ctx.body = { ...body, grant_types_supported: body.grant_types_supported.filter((type) => type !== grantType) };
  });
}
