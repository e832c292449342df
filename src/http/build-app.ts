import { readFileSync } from 'node:fs';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type Provider from 'oidc-provider';
import type { Logger } from 'pino';
import type { PasswordSignIn } from '../accounts/password-sign-in.ts';
import type { AuditSink } from '../audit/audit-event.ts';
import type { InteractionClaims } from '../oidc/interaction-claims.ts';
import type { RealmSettings } from '../oidc/provider-factory.ts';
import type { UnitOfWork } from '../store/unit-of-work.ts';
import { HostRoutes } from './endpoints.ts';
import { requestErrors, statusOf } from '../errors/index.ts';
import { clientErrorReply, fastifyErrorAnswer, frameworkErrorReply, prefersHtml, replyWithError } from './error-replies.ts';
import { healthRoutes } from './health-routes.ts';
import { interactionRoutes } from './interaction-routes.ts';
import { keycloakSessionPages } from './keycloak-session-pages.ts';
import { createProviderPages } from './provider-pages.ts';
import { mountProvider, type JwksOptions } from './provider-mount.ts';
import { requestLogHook } from './request-log.ts';
import { COMMON_HEADERS, HSTS } from './security-headers.ts';

export interface MountedRealm {
  settings: RealmSettings;
  /** Replaced when the signing keys change (src/latchkey.ts); read it at request time. */
  provider: Provider;
  interactions: InteractionClaims;
}

export interface AppDeps {
  logger: Logger;
  realms: readonly MountedRealm[];
  ping: () => Promise<void>;
  /** A unit of work per request (src/store/unit-of-work.ts). */
  unitOfWork: () => UnitOfWork;
  /** Password check and brakes on failed sign-ins, shared by every realm, made once by the composition root. */
  signIn: PasswordSignIn;
  trustProxy: boolean;
  jwks?: JwksOptions;
  /** One log line per request at info (LATCHKEY_LOG_REQUESTS); otherwise at debug (src/http/request-log.ts). */
  logRequests?: boolean;
  /** Counts each answered request (src/metrics/request-metrics.ts); absent with LATCHKEY_METRICS=off. */
  countRequest?: ((request: FastifyRequest, reply: FastifyReply) => Promise<void>) | undefined;
  /** Where sign-ins and consents given are recorded (src/audit/). */
  audit?: AuditSink | undefined;
}

export const ASSETS_PATH = '/assets/';

/** Fastify's hop count, as a function because its types take no number: only the proxy right in front is trusted. */
const trustOneHop = (_address: string, hop: number) => hop === 0;
const STYLESHEET = readFileSync(new URL('./assets/latchkey.css', import.meta.url));

/**
 * Builds the public Fastify app; never listens (src/main.ts does).
 * Registration order is fixed: headers, assets and health, then per realm the
 * interaction routes, Keycloak's session iframes (keycloak layout only) and
 * finally oidc-provider for everything else.
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  // pino's Logger and Fastify's base logger differ only in generics; the instance is the same object.
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Exactly one proxy hop: the address it appended to X-Forwarded-For, not the
    // leftmost entry, which the client writes (and would choose its own brake budget with).
    trustProxy: deps.trustProxy ? trustOneHop : false,
    // Fastify's own request lines log the reply object and two lines per request; request-log.ts logs one, without secrets.
    logController: new LogController({ disableRequestLogging: true }),
    // What the HTTP parser or the router refuse is answered in Latchkey's error shape (src/http/error-replies.ts).
    clientErrorHandler: clientErrorReply(deps.logger),
    frameworkErrors: frameworkErrorReply(ASSETS_PATH),
    // Node would answer a missing Host with an empty 400 before Fastify; the onRequest hook answers it instead.
    http: { requireHostHeader: false },
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

  // Before any route, so that every route is known: 405 answers name the methods a path takes.
  const hostRoutes = new HostRoutes();
  app.addHook('onRoute', (route) => hostRoutes.add(route));
  // RFC 9112 §3.2: an HTTP/1.1 request without Host is a 400.
  app.addHook('onRequest', async (request, reply) => {
    if (request.raw.httpVersion === '1.1' && !request.headers.host) return replyWithError(reply, requestErrors.missingHost(), { page: false, assetsPath: ASSETS_PATH });
  });
  // As the engine's edge decides (src/http/provider-mount.ts): an https issuer means TLS, whatever the last hop says.
  const httpsIssuer = deps.realms.some((realm) => realm.settings.issuer.startsWith('https:'));
  app.addHook('onSend', async (request, reply) => {
    reply.headers(COMMON_HEADERS);
    if (httpsIssuer || request.protocol === 'https') reply.header('strict-transport-security', HSTS);
  });
  app.addHook('onResponse', requestLogHook(deps.logRequests ?? false));
  if (deps.countRequest) app.addHook('onResponse', deps.countRequest);
  // Routes outside the realm mounts (health, assets) and paths no mount takes.
  app.setErrorHandler(async (error, request, reply) => {
    const answer = fastifyErrorAnswer(error as Error);
    if (statusOf(answer) >= 500) request.log.error({ err: error }, 'request failed');
    return replyWithError(reply, answer, { page: prefersHtml(request.headers.accept), assetsPath: ASSETS_PATH });
  });
  app.setNotFoundHandler(async (request, reply) =>
    replyWithError(reply, requestErrors.notFound(), { page: prefersHtml(request.headers.accept), assetsPath: ASSETS_PATH }));

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
      realmBranding: settings.branding,
      signIn: deps.signIn,
      audit: deps.audit,
      unitOfWork: deps.unitOfWork,
      claimConsent: (uid: string) => realm.interactions.claimConsent(uid),
    });
    if (settings.layout.kind === 'keycloak') {
      await app.register(keycloakSessionPages, { provider: current, mountPath: settings.mountPath, httpsIssuer: settings.issuer.startsWith('https:') });
    }
    await mountProvider(app, current, settings.mountPath, {
      ...deps.jwks,
      hostRoutes,
      assetsPath: ASSETS_PATH,
      renderError: createProviderPages(ASSETS_PATH, { mountPath: settings.mountPath, realmBranding: settings.branding }).renderError,
    });
  }
  return app;
}
