import { readFileSync } from 'node:fs';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type Provider from 'oidc-provider';
import type { Logger } from 'pino';
import type { AccountService } from '../accounts/account-service.ts';
import type { RealmSettings } from '../oidc/provider-factory.ts';
import { healthRoutes } from './health-routes.ts';
import { interactionRoutes } from './interaction-routes.ts';
import { mountProvider, type JwksOptions } from './provider-mount.ts';
import { COMMON_HEADERS, HSTS } from './security-headers.ts';

export interface MountedRealm {
  settings: RealmSettings;
  /** Replaced when the signing keys change (src/latchkey.ts); read it at request time. */
  provider: Provider;
}

export interface AppDeps {
  logger: Logger;
  realms: readonly MountedRealm[];
  accounts: AccountService;
  ping: () => Promise<void>;
  trustProxy: boolean;
  jwks?: JwksOptions;
}

export const ASSETS_PATH = '/assets/';
const STYLESHEET = readFileSync(new URL('./assets/latchkey.css', import.meta.url));

/**
 * Builds the public Fastify app; never listens (src/main.ts does).
 * Registration order is fixed: headers, assets and health, then per realm the
 * interaction routes and finally oidc-provider for everything else.
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  // pino's Logger and Fastify's base logger differ only in generics; the instance is the same object.
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    trustProxy: deps.trustProxy,
    // Per-request logs at info cost throughput on hot paths; onResponse logs failures instead.
    logController: new LogController({ disableRequestLogging: true }),
    // Fastify's defaults (0) let a slow client hold a socket forever.
    requestTimeout: 30_000,
    connectionTimeout: 60_000,
    keepAliveTimeout: 72_000,
    bodyLimit: 1024 * 1024,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
  });

  app.addHook('onSend', async (request, reply) => {
    reply.headers(COMMON_HEADERS);
    if (request.protocol === 'https') reply.header('strict-transport-security', HSTS);
  });
  app.addHook('onResponse', async (request, reply) => {
    const level = reply.statusCode >= 500 ? 'error' : 'debug';
    request.log[level]({ method: request.method, path: request.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });

  app.get(`${ASSETS_PATH}latchkey.css`, async (_request, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(STYLESHEET));
  await app.register(healthRoutes, { ping: deps.ping });

  for (const realm of deps.realms) {
    const { settings } = realm;
    const current = () => realm.provider;
    await app.register(interactionRoutes, {
      provider: current,
      realm: settings.name,
      mountPath: settings.mountPath,
      assetsPath: ASSETS_PATH,
      issuerOrigin: new URL(settings.issuer).origin,
      accounts: deps.accounts,
      realmBranding: settings.branding,
    });
    await mountProvider(app, current, settings.mountPath, deps.jwks);
  }
  return app;
}
