import type { ClientService } from '../clients/client-service.ts';
import type { DeclarativeSetup } from '../config/index.ts';
import { lifetimeFor, type TokenLifetimes } from './token-lifetimes.ts';
import type { ResourceServerService } from '../resource-servers/resource-server-service.ts';

/**
 * The signed tokens that outlive the request they answer: ID tokens, and JWT
 * access tokens (RFC 9068), which a resource server verifies against the
 * JWKS, or introspects, until they expire. A client-credentials token has a
 * lifetime of its own. (JWT introspection responses, RFC 9701, are signed
 * too, but are read at once.)
 */
const SIGNED_KINDS = ['id_token', 'access_token', 'client_credentials'] as const;

/**
 * The longest lifetime, in seconds, a token signed by the realms' keys may
 * have: what a retired key must outlive (src/keys/key-state.ts). The keys are
 * shared by every realm, so it is the longest over all the served realms, of
 * - the realm's ID token, access token and client-credentials lifetimes,
 * - every client's overrides of them (its `ttl`),
 * - every JWT resource server's own access-token lifetime, which wins over
 *   both (src/oidc/provider-factory.ts `accessTokenTtl`).
 * Clients and resource servers are read from the database (the CLI adds them
 * while servers run) and from the setup file (servers apply it when they
 * start, maybe not yet to this database). A lifetime raised after this
 * reading is not covered.
 */
export async function longestSignedTokenLifetime(
  realms: readonly { name: string; lifetimes: TokenLifetimes }[],
  setup: DeclarativeSetup,
  stored: { clients: Pick<ClientService, 'list'>; resourceServers: Pick<ResourceServerService, 'list'> },
): Promise<number> {
  let longest = 0;
  for (const realm of realms) {
    const declared = setup.realms.find((r) => r.name === realm.name);
    const clientTtls = [
      ...(declared?.clients ?? []).map((client) => client.ttl),
      ...(await stored.clients.list(realm.name)).map((client) => client.metadata['ttl']),
    ];
    for (const kind of SIGNED_KINDS) {
      longest = Math.max(longest, realm.lifetimes[kind]);
      for (const ttl of clientTtls) longest = Math.max(longest, lifetimeFor(kind, realm.lifetimes, ttl));
    }
    const servers = [...(declared?.resource_servers ?? []), ...await stored.resourceServers.list(realm.name)];
    for (const { access_token: policy } of servers) {
      if (policy.format === 'jwt' && policy.lifetime !== undefined) longest = Math.max(longest, policy.lifetime);
    }
  }
  return longest;
}
