import { errors, type Configuration } from 'oidc-provider';
import type { ResourceServerDeclaration } from '../config/resource-server-rules.ts';
import { outageAsProtocolError } from '../errors/index.ts';
import { AUTHORISATION_SCOPES } from './authorisation-claims.ts';
import type { TokenLifetimes } from './token-lifetimes.ts';

/** What the resource-indicator steps need to know of a realm's resource servers. */
export interface ResourceServerDirectory {
  find(realm: string, identifier: string): Promise<ResourceServerDeclaration | undefined>;
}

type ResourceIndicators = NonNullable<NonNullable<Configuration['features']>['resourceIndicators']>;
type ClientLike = { metadata(): Record<string, unknown> };

/**
 * RFC 8707 for a realm: a `resource` names one of the realm's resource
 * servers (anything else is invalid_target), whose policy decides the access
 * token: audience (its identifier), the scopes it may carry (its own),
 * format, lifetime and signing algorithm. A client that never sends
 * `resource` (most Keycloak and Okta clients) gets tokens for its
 * `default_resource` when it has one; without one, nothing changes from a
 * realm without resource servers: an opaque token without audience.
 *
 * Lookups are cached for a few seconds, like clients (src/oidc/client-adapter.ts):
 * they happen on every token request.
 */
export function resourceIndicators(
  realm: { name: string; lifetimes: TokenLifetimes },
  directory: ResourceServerDirectory,
  { signingAlgs, ttlMs = 5_000, onLoad, layoutAudience }: {
    /** What the realm's active keys sign: a JWT policy needing another algorithm cannot be served. */
    signingAlgs: readonly string[];
    ttlMs?: number;
    onLoad?: (server: ResourceServerDeclaration) => void;
    /**
     * Keycloak's and Okta's layouts (src/oidc/realm-layouts.ts): the audience
     * of a token that names no resource server, a JWT that may carry any of
     * the realm's scopes. A resource server declared with that identifier
     * takes its place. The identifier is a URI (RFC 8707 §2), the audience
     * need not be (Keycloak's `account`).
     */
    layoutAudience?: { identifier: string; audience: string; scopes: () => Iterable<string>; algorithm: string } | undefined;
  },
): ResourceIndicators {
  const cache = new Map<string, { at: number; server: ResourceServerDeclaration | undefined }>();
  const find = async (identifier: string) => {
    const hit = cache.get(identifier);
    if (hit && Date.now() - hit.at < ttlMs) return hit.server;
    // Read inside the engine, as its adapters read: an outage is its 503, not its 500.
    const server = await directory.find(realm.name, identifier).catch((error: unknown) => { throw outageAsProtocolError(error); });
    if (server) onLoad?.(server);
    if (cache.size > 1000) cache.clear();
    cache.set(identifier, { at: Date.now(), server });
    return server;
  };
  const defaultOf = (client: ClientLike) => {
    const value = client.metadata()['default_resource'];
    return typeof value === 'string' ? value : layoutAudience?.identifier;
  };

  return {
    enabled: true,
    // At the authorization endpoint (no `oneOf`): the client's default when it names no resource.
    // At the token endpoint (`oneOf`, several granted): the default when it is one of them, else
    // all of them, which the engine refuses with invalid_target as RFC 8707 §2.2 asks.
    defaultResource: async (_ctx, client, oneOf) => {
      const fallback = defaultOf(client as unknown as ClientLike);
      if (oneOf) return fallback && oneOf.includes(fallback) ? fallback : oneOf;
      return fallback ?? undefined;
    },
    // A code or refresh token granted for one API gives a token for that API without `resource`
    // at the token endpoint (what Keycloak and Okta clients expect), even with `openid`.
    useGrantedResource: async () => true,
    getResourceServerInfo: async (_ctx, identifier) => {
      const server = await find(identifier);
      if (!server && layoutAudience && identifier === layoutAudience.identifier) {
        return {
          scope: [...layoutAudience.scopes()].join(' '),
          audience: layoutAudience.audience,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: layoutAudience.algorithm as 'RS256' } },
        };
      }
      if (!server) throw new errors.InvalidTarget('resource indicator is not a resource server of this realm');
      const { format, lifetime, algorithm } = server.access_token;
      // Checked at start for the servers known then; one added later may name an algorithm no key signs.
      if (format === 'jwt' && !signingAlgs.includes(algorithm)) {
        throw new errors.InvalidTarget(`no active key signs ${algorithm}, which this resource server's access tokens need`);
      }
      return {
        // Every API also takes roles and groups, so that its tokens can carry them (src/oidc/authorisation-claims.ts).
        scope: [...new Set([...server.scopes, ...AUTHORISATION_SCOPES])].join(' '),
        audience: server.identifier,
        // Without its own lifetime: the realm's (or the client's) access-token or client-credentials lifetime.
        ...(lifetime === undefined ? {} : { accessTokenTTL: lifetime }),
        accessTokenFormat: format,
        ...(format === 'jwt' ? { jwt: { sign: { alg: algorithm } } } : {}),
      };
    },
  };
}
