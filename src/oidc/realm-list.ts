import type { LatchkeyConfig, RealmDeclaration } from '../config/index.ts';
import type { RealmSettings } from './provider-factory.ts';
import { resolveLifetimes } from './token-lifetimes.ts';

/**
 * The realms served: the `default` one at the issuer root (declared or not),
 * any other under /realms/<name>/. The composition root builds a provider
 * for each; `keys rotate` reads their lifetimes.
 */
export function realmList(config: LatchkeyConfig): RealmSettings[] {
  const declared: readonly Pick<RealmDeclaration, 'name' | 'ttl' | 'branding' | 'allow_password_grant_for_public_clients'>[] = config.setup.realms.some((r) => r.name === 'default')
    ? config.setup.realms
    : [{ name: 'default' }, ...config.setup.realms];
  return declared.map((realm) => {
    const mountPath = realm.name === 'default' ? '/' : `/realms/${realm.name}/`;
    return {
      name: realm.name,
      issuer: realm.name === 'default' ? config.issuer : `${config.issuer}${mountPath.slice(0, -1)}`,
      mountPath,
      lifetimes: resolveLifetimes(realm.ttl),
      branding: realm.branding,
      passwordGrantForPublicClients: realm.allow_password_grant_for_public_clients ?? false,
    };
  });
}
