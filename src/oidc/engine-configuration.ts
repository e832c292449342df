import type Provider from 'oidc-provider';
import readInternals from 'oidc-provider/lib/helpers/weak_cache.js';

/**
 * The one place Latchkey reads oidc-provider's internal state: the scope
 * set its configuration holds (and, for the admin API, its features and routes). The engine copies the `scopes` option when
 * it builds its configuration (lib/helpers/configuration.js,
 * cloneConfiguration), and checks every client's `scope` metadata against
 * that copy. A realm's scopes are live (src/oidc/provider-factory.ts
 * realmScopes): a client or resource server added while the server runs
 * brings its own, which must reach the copy, or the engine refuses the new
 * client as invalid_client_metadata until the next restart. Covered by
 * test/tokens/password-grant.test.ts ("listed once a client has it").
 */
export function engineScopes(provider: Provider): Set<string> {
  const scopes = readInternals(provider)?.configuration?.scopes;
  if (!(scopes instanceof Set)) throw new Error('oidc-provider no longer keeps its scopes where Latchkey reads them (src/oidc/engine-configuration.ts)');
  return scopes as Set<string>;
}

/**
 * The engine features a provider runs with (`features.*.enabled`), as its
 * configuration holds them after defaults were applied: what the admin API
 * reports as a realm's features (src/realms/realm-configuration.ts).
 */
export function engineFeatures(provider: Provider): string[] {
  const features = readInternals(provider)?.configuration?.features as Record<string, { enabled?: unknown } | undefined> | undefined;
  if (!features || typeof features !== 'object') throw new Error('oidc-provider no longer keeps its features where Latchkey reads them (src/oidc/engine-configuration.ts)');
  return Object.entries(features).filter(([, feature]) => feature?.enabled === true).map(([name]) => name).sort();
}

/** The feature that serves each engine route; routes not listed are always served. */
const ROUTE_FEATURES: Record<string, readonly string[]> = {
  introspection: ['introspection'],
  revocation: ['revocation'],
  userinfo: ['userinfo'],
  end_session: ['rpInitiatedLogout'],
  registration: ['registration'],
  pushed_authorization_request: ['pushedAuthorizationRequests'],
  device_authorization: ['deviceFlow'],
  code_verification: ['deviceFlow'],
  backchannel_authentication: ['ciba'],
  credential: ['openid4vci'],
  challenge: ['attestClientAuth', 'openid4vci'],
};

/**
 * The endpoints a provider serves, by the engine's route name, as paths
 * relative to its mount (the layout's `routes` over the engine's defaults),
 * for the admin API's realm configuration.
 */
export function engineEndpoints(provider: Provider): Record<string, string> {
  const routes = readInternals(provider)?.configuration?.routes as Record<string, string> | undefined;
  if (!routes || typeof routes !== 'object') throw new Error('oidc-provider no longer keeps its routes where Latchkey reads them (src/oidc/engine-configuration.ts)');
  const on = new Set(engineFeatures(provider));
  return Object.fromEntries(Object.entries(routes).filter(([name]) => {
    const features = ROUTE_FEATURES[name];
    return !features || features.some((feature) => on.has(feature));
  }));
}
