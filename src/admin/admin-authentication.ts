import type { FastifyRequest } from 'fastify';
import { ADMIN_REALM, ADMIN_SCOPES } from '../config/index.ts';
import type { ClientService } from '../clients/client-service.ts';
import { BearerTokenError, InsufficientScopeError, TooManyTokenAttemptsError } from '../errors/index.ts';
import type { ClientCredentialsToken } from '../oidc/structured-access-tokens.ts';
import type { ClientAuthLimiters } from '../rate-limits/client-auth-limiters.ts';

/**
 * Who may call the admin API: a bearer token (RFC 6750 §2.1, the
 * Authorization header only: a token in a query string ends up in logs)
 * that Latchkey issued through client credentials in the admin realm to a
 * client that holds the `admin` permission, carrying an admin scope.
 *
 *   admin:metrics /metrics only (what a Prometheus server's token needs)
 *   admin:read    the GET routes (it includes admin:metrics)
 *   admin:write   every route (it includes reading)
 *
 * The token is looked up in-process the way introspection looks it up
 * (src/oidc/structured-access-tokens.ts findClientCredentials: the payload
 * store, and the JWT verifier for a realm whose layout issues JWTs), so
 * revoking it, or deleting its client, takes effect at the next request.
 * What the token may do is what it was issued with, narrowed to what its
 * client holds now: taking the permission or a scope away from a client
 * takes it from its live tokens at once. A token issued for a resource
 * server (`aud` one of its identifiers) is that server's and is refused
 * here, so that an API given an admin's token cannot replay it against the
 * admin API.
 *
 * A presented token that is unknown counts as a failed client
 * authentication, on the client-authentication brakes (the same counts as
 * the token endpoint's, src/rate-limits/client-auth-limiters.ts), under a
 * client id no client can have: while its address is braked, nothing it
 * presents is looked up (429 + Retry-After). The failure is counted before
 * the lookup and forgiven when the token is good, so that a burst of
 * guesses is braked like a sequence. Requests without a token, and good
 * tokens without the scope, are not failures of a credential and are not
 * counted. Nothing secret is compared in memory: the database finds the
 * token by its digest.
 *
 *   no Authorization: Bearer ─▶ 401, WWW-Authenticate: Bearer realm="latchkey-admin"
 *   braked address ───────────▶ 429 + Retry-After
 *   unknown/expired/revoked ──▶ 401, error="invalid_token"
 *   without the scope ────────▶ 403, error="insufficient_scope", scope="…"
 */
export type AdminScope = 'admin:read' | 'admin:write' | 'admin:metrics';

export interface AdminPrincipal {
  /** The admin client the token was issued to. */
  clientId: string;
  /** The admin scopes it holds now. */
  scopes: ReadonlySet<AdminScope>;
}

export interface AdminAuthenticationDeps {
  /** The admin realm's client-credentials token behind a presented value, or undefined. */
  findToken: (value: string) => Promise<ClientCredentialsToken | undefined>;
  /** Audiences an admin token may carry: the realm layout's own (Keycloak's `account`, Okta's `api://…`), none otherwise. */
  layoutAudience: string | undefined;
  clients: ClientService;
  limiters: ClientAuthLimiters;
}

/** The scopes that allow a route of each scope: each scope includes the narrower ones. */
const INCLUDED_BY: Record<AdminScope, readonly AdminScope[]> = {
  'admin:metrics': ['admin:metrics', 'admin:read', 'admin:write'],
  'admin:read': ['admin:read', 'admin:write'],
  'admin:write': ['admin:write'],
};

/** The brakes' client id for admin bearer tokens: a NUL never occurs in a real client id (printable ASCII only). */
const BEARER_TOKEN_CLIENT = '\0admin bearer token';
/** Longer than any token Latchkey issues (an opaque one is 43 characters, a JWT well under this). */
const MAX_TOKEN_LENGTH = 16 * 1024;
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

export function createAdminAuthentication(deps: AdminAuthenticationDeps) {
  /**
   * The principal behind the request's token, allowed `scope`.
   * @throws BearerTokenError, TooManyTokenAttemptsError, InsufficientScopeError
   */
  return async function authenticateAdmin(request: FastifyRequest, scope: AdminScope): Promise<AdminPrincipal> {
    const header = request.headers.authorization;
    if (header === undefined || !/^Bearer(\s|$)/i.test(header)) throw new BearerTokenError(false);
    const value = BEARER.exec(header)?.[1];
    const attempt = { realm: ADMIN_REALM, clientId: BEARER_TOKEN_CLIENT, ip: request.ip };
    const wait = deps.limiters.retryAfter(attempt);
    if (wait > 0) throw new TooManyTokenAttemptsError(wait);
    deps.limiters.recordFailure(attempt);
    let principal: AdminPrincipal | undefined;
    try {
      principal = value === undefined || value.length > MAX_TOKEN_LENGTH ? undefined : await principalOf(value);
    } catch (error) {
      // Nothing was checked (the database is out of reach): no failure of the token's.
      deps.limiters.forgive(attempt);
      throw error;
    }
    if (!principal) throw new BearerTokenError(true);
    deps.limiters.forgive(attempt);
    if (!INCLUDED_BY[scope].some((held) => principal.scopes.has(held))) throw new InsufficientScopeError(scope);
    return principal;
  };

  async function principalOf(value: string): Promise<AdminPrincipal | undefined> {
    const token = await deps.findToken(value);
    if (!token || (token.audience !== undefined && token.audience !== deps.layoutAudience)) return undefined;
    const client = await deps.clients.find(ADMIN_REALM, token.clientId);
    if (!client) return undefined;
    // A valid token of a client that is no admin (or no longer one) is answered 403, not 401: the token itself is good.
    const permissions = client.metadata['permissions'];
    const isAdmin = Array.isArray(permissions) && permissions.includes('admin');
    const held = new Set(String(client.metadata['scope'] ?? '').split(' '));
    const scopes = new Set([...token.scopes].filter((s): s is AdminScope => isAdmin && ADMIN_SCOPES.includes(s) && held.has(s)));
    return { clientId: token.clientId, scopes };
  }
}

export type AuthenticateAdmin = ReturnType<typeof createAdminAuthentication>;
