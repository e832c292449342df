import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { LatchkeyConfig, RealmDeclaration } from './config/index.ts';
import { buildApp, ASSETS_PATH, type MountedRealm } from './http/build-app.ts';
import { createProviderPages } from './http/provider-pages.ts';
import { loadSigningKeys } from './keys/signing-keys.ts';
import { startSweeper } from './oidc/expired-payload-sweeper.ts';
import { createProvider, type RealmSettings } from './oidc/provider-factory.ts';
import { resolveLifetimes } from './oidc/token-lifetimes.ts';
import { applySetup } from './realms/realm-setup.ts';
import { openServices, type Services } from './services.ts';

export interface Latchkey {
  app: FastifyInstance;
  services: Services;
  realms: readonly MountedRealm[];
  close(): Promise<void>;
}

/**
 * Assembles a complete Latchkey (database, keys, setup, providers, app)
 * without listening; src/main.ts listens and handles the process, tests
 * call this directly.
 */
export async function assembleLatchkey(config: LatchkeyConfig, logger: Logger, { inMemory = false } = {}): Promise<Latchkey> {
  const services = await openServices(config, logger, { inMemory });
  try {
    const reports = await applySetup(config.setup, services);
    for (const report of reports) logger.info(report, 'declarative setup applied');

    const signingKeys = await loadSigningKeys(config.keysDir, logger);
    const pages = createProviderPages(ASSETS_PATH);
    const realms: MountedRealm[] = [];
    for (const settings of realmList(config)) {
      const knownScopes = (await services.clients.list(settings.name))
        .flatMap((c) => String(c.metadata['scope'] ?? '').split(' ').filter(Boolean));
      realms.push({ settings, provider: createProvider({
        db: services.database.db,
        realm: settings,
        signingKeys,
        cookieKeys: services.secrets.cookieKeys,
        accounts: services.accounts,
        secrets: services.secretVerifier,
        pages,
        trustProxy: config.trustProxy,
        knownScopes,
      }) });
    }
    const app = await buildApp({
      logger,
      realms,
      accounts: services.accounts,
      ping: services.database.ping,
      trustProxy: config.trustProxy,
    });
    const sweeper = startSweeper(services.database.db, logger, config.sweepIntervalSeconds);
    return {
      app,
      services,
      realms,
      async close() {
        await app.close();
        await sweeper.stop();
        await services.database.close();
      },
    };
  } catch (error) {
    await services.database.close();
    throw error;
  }
}

/** The `default` realm is served at the issuer root; any other realm under /realms/<name>/. */
function realmList(config: LatchkeyConfig): RealmSettings[] {
  const declared: readonly Pick<RealmDeclaration, 'name' | 'ttl'>[] = config.setup.realms.some((r) => r.name === 'default')
    ? config.setup.realms
    : [{ name: 'default' }, ...config.setup.realms];
  return declared.map((realm) => {
    const mountPath = realm.name === 'default' ? '/' : `/realms/${realm.name}/`;
    return {
      name: realm.name,
      issuer: realm.name === 'default' ? config.issuer : `${config.issuer}${mountPath.slice(0, -1)}`,
      mountPath,
      lifetimes: resolveLifetimes(realm.ttl),
    };
  });
}
