import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { LatchkeyConfig, RealmDeclaration } from './config/index.ts';
import { buildApp, ASSETS_PATH, type MountedRealm } from './http/build-app.ts';
import { createProviderPages } from './http/provider-pages.ts';
import { loadKeySet, type KeySet } from './keys/signing-keys.ts';
import { startSweeper } from './oidc/expired-payload-sweeper.ts';
import { interactionClaims } from './oidc/interaction-claims.ts';
import { createProvider, type RealmSettings } from './oidc/provider-factory.ts';
import { createClientAuthLimiters } from './rate-limits/client-auth-limiters.ts';
import { createLoginLimiters } from './rate-limits/login-limiters.ts';
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
  // Keys first: a key problem stops the start before anything is opened or written.
  const keyOptions = {
    keysDir: config.keysDir,
    keyFiles: config.keys.files,
    secrets: config.keys,
    primaryAlias: config.keys.primaryAlias,
    idTokenAlg: config.keys.idTokenAlg,
  };
  let keys = await loadKeySet(keyOptions, logger);
  const services = await openServices(config, logger, { inMemory });
  try {
    const reports = await applySetup(config.setup, services);
    for (const report of reports) logger.info(report, 'declarative setup applied');

    const realmSettings = realmList(config);
    // The brakes live as long as the process: providers are rebuilt on every key rotation.
    const clientAuthLimiters = createClientAuthLimiters();
    const loginLimiters = createLoginLimiters();
    const buildProviders = async (keySet: KeySet) => Promise.all(realmSettings.map(async (settings) => {
      const knownScopes = (await services.clients.list(settings.name))
        .flatMap((c) => String(c.metadata['scope'] ?? '').split(' ').filter(Boolean));
      return createProvider({
        db: services.database.db,
        unitOfWork: services.database.unitOfWork,
        realm: settings,
        keys: keySet,
        cookieKeys: services.secrets.cookieKeys,
        accounts: services.accounts,
        secrets: services.secretVerifier,
        pages: createProviderPages(ASSETS_PATH, { mountPath: settings.mountPath, realmBranding: settings.branding }),
        trustProxy: config.trustProxy,
        knownScopes,
        clientAuthLimiters,
      });
    }));
    const realms: MountedRealm[] = (await buildProviders(keys)).map((provider, i) => ({
      settings: realmSettings[i]!,
      provider,
      interactions: interactionClaims(services.database.db, realmSettings[i]!.name),
    }));

    const app = await buildApp({
      logger,
      realms,
      accounts: services.accounts,
      ping: services.database.ping,
      unitOfWork: services.database.unitOfWork,
      loginLimiters,
      logRequests: config.logRequests,
      trustProxy: config.trustProxy,
      jwks: { jwksMaxAgeSeconds: config.keys.jwksMaxAgeSeconds, x5tS256: () => keys.x5tS256 },
    });
    const sweeper = startSweeper(services.database.db, logger, config.sweepIntervalSeconds);
    const keyWatch = watchKeys({
      intervalSeconds: config.keys.checkSeconds,
      current: () => keys,
      load: () => loadKeySet({ ...keyOptions, generate: false }),
      logger,
      async swap(next) {
        const providers = await buildProviders(next);
        keys = next;
        providers.forEach((provider, i) => { realms[i]!.provider = provider; });
      },
    });
    return {
      app,
      services,
      realms,
      async close() {
        await app.close();
        keyWatch.stop();
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
  const declared: readonly Pick<RealmDeclaration, 'name' | 'ttl' | 'branding'>[] = config.setup.realms.some((r) => r.name === 'default')
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
    };
  });
}

/**
 * Re-reads the keys folder and key schedule every few seconds; when what is
 * published or what signs has changed (a staged key's time came, a retired
 * key's tokens expired, a file was added), the realms get new providers
 * built with the new key set. State lives in the database and cookies keep
 * their keys, so requests in flight and sessions are unaffected. A folder
 * that no longer loads keeps the current keys and logs why.
 */
function watchKeys({ intervalSeconds, current, load, swap, logger }: {
  intervalSeconds: number;
  current: () => KeySet;
  load: () => Promise<KeySet>;
  swap: (next: KeySet) => Promise<void>;
  logger: Logger;
}): { stop(): void } {
  let busy = false;
  let lastProblem: string | undefined;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void (async () => {
      try {
        const next = await load();
        lastProblem = undefined;
        if (next.fingerprint === current().fingerprint) return;
        await swap(next);
        logger.info({ signing: next.published.filter((k) => k.signs).map((k) => k.kid), published: next.published.length }, 'signing keys changed');
      } catch (error) {
        const problem = (error as Error).message;
        if (problem !== lastProblem) logger.error({ err: { message: problem } }, 'the keys folder no longer loads; keeping the current keys');
        lastProblem = problem;
      } finally {
        busy = false;
      }
    })();
  }, intervalSeconds * 1000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
