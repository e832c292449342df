import { registrationPolicyOf, type LatchkeyConfig, type RealmDeclaration } from '../config/index.ts';
import type { RealmSettings } from './provider-factory.ts';
import { issuerAt, realmLayout } from './realm-layouts.ts';
import { resolveLifetimes } from './token-lifetimes.ts';

/**
 * The realms served: the `default` one (declared or not) and the declared
 * ones, each at its layout's path (src/oidc/realm-layouts.ts: the standard
 * layout's `default` at the issuer root, any other under /realms/<name>/).
 * The composition root builds a provider for each; `keys rotate` reads
 * their lifetimes.
 *
 * A realm's aliases are more layouts of it: each its own issuer (and so its
 * own keys' audience, its own JWTs and Keycloak refresh tokens, which are
 * bound to their issuer) over the realm's one set of clients, users,
 * grants and sessions. An opaque token or a session is the realm's, and so
 * good at each of its issuers; a JWT only at the issuer that signed it.
 */
export function realmList(config: LatchkeyConfig): RealmSettings[] {
  const declared: readonly Pick<RealmDeclaration, 'name' | 'layout' | 'aliases' | 'ttl' | 'branding' | 'allow_password_grant_for_public_clients' | 'registration'>[] = config.setup.realms.some((r) => r.name === 'default')
    ? config.setup.realms
    : [{ name: 'default' }, ...config.setup.realms];
  return declared.flatMap((realm) => [realm.layout, ...realm.aliases ?? []].map((declaredLayout) => {
    const layout = realmLayout(realm.name, declaredLayout, config);
    return {
      name: realm.name,
      issuer: issuerAt(config.issuer, layout.mountPath),
      mountPath: layout.mountPath,
      layout,
      lifetimes: resolveLifetimes(realm.ttl),
      branding: realm.branding,
      passwordGrantForPublicClients: realm.allow_password_grant_for_public_clients ?? false,
      registration: registrationPolicyOf(realm.registration),
    };
  }));
}
