import type { IncomingMessage } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type Provider from 'oidc-provider';
import { rememberOrigin } from '../audit/request-origin.ts';
import { statusOf } from '../errors/index.ts';
import { installEdge, type RequestFacts } from '../oidc/engine-steps.ts';
import type { ProviderPages } from '../oidc/provider-factory.ts';
import { engineEndpoint, ENGINE_MOUNT, type HostRoutes } from './endpoints.ts';
import { fastifyErrorAnswer, replyWithError, wantsPage } from './error-replies.ts';
import { describePathForLog, maskedPath } from './request-log.ts';
import { clientFormActionOrigins, COMMON_HEADERS, contentSecurityPolicy, HSTS } from './security-headers.ts';

export interface MountOptions extends JwksOptions {
  /** Latchkey's own routes, for 405 answers that name their methods. */
  hostRoutes: HostRoutes;
  /** The realm's error page (src/http/provider-pages.ts). */
  renderError: ProviderPages['renderError'];
  assetsPath: string;
}

export interface JwksOptions {
  /** Cache-Control max-age of the JWKS; staged rotation waits longer than this before a new key signs. */
  jwksMaxAgeSeconds?: number;
  /** x5t#S256 by kid for keys with a certificate, which the engine does not publish itself. */
  x5tS256?: () => ReadonlyMap<string, string>;
}

/** What the mount learnt of a request (its endpoint, its logger), for the steps around the engine. */
const requestFacts = new WeakMap<IncomingMessage, RequestFacts>();

/**
 * Hands every request under the realm's mount path that no Latchkey route
 * claims to oidc-provider, untouched: the body stream is left unread because
 * oidc-provider parses it itself (with its own 56 KiB cap and error codes).
 */
export async function mountProvider(app: FastifyInstance, current: () => Provider, mountPath: string, options: MountOptions): Promise<void> {
  const prefix = mountPath.replace(/\/$/, '');
  // A key rotation replaces the provider; each one gets the middleware and a callback once.
  const callbacks = new WeakMap<Provider, ReturnType<Provider['callback']>>();
  const callbackOf = (provider: Provider) => {
    let callback = callbacks.get(provider);
    if (!callback) {
      installEdge(provider, {
        prefix,
        facts: (req) => requestFacts.get(req),
        renderError: options.renderError,
        headers: { common: COMMON_HEADERS, contentSecurityPolicy, hsts: HSTS, formActionOrigins: clientFormActionOrigins },
        jwksMaxAgeSeconds: options.jwksMaxAgeSeconds ?? 300,
        x5tS256: options.x5tS256 ?? (() => new Map<string, string>()),
      });
      callbacks.set(provider, callback = provider.callback());
    }
    return callback;
  };
  // Koa's callback answers its own errors (ctx.onerror); nothing reaches its promise.
  const callback = (req: FastifyRequest['raw'], res: FastifyReply['raw']) => void callbackOf(current())(req, res);
  /** The endpoint at `path` (under the mount), found once per request. */
  const endpointAt = (path: string) => {
    const engine = engineEndpoint(current(), path.slice(prefix.length) || '/');
    const host = options.hostRoutes.match(path);
    return {
      kind: engine?.kind ?? host?.kind,
      methods: [...new Set([...engine?.methods ?? [], ...host?.methods ?? []])],
      pattern: engine ? `${prefix}${engine.pattern}` : host?.pattern ?? maskedPath(path),
      known: engine !== undefined || host !== undefined,
    };
  };

  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_req, _payload, done) => done(null));
    // What Fastify refuses before the engine runs: a Content-Type that does not parse (415).
    scope.setErrorHandler((error: FastifyError, request, reply) => {
      const answer = fastifyErrorAnswer(error);
      if (statusOf(answer) >= 500) request.log.error({ err: error }, 'request failed');
      return replyWithError(reply, answer, { page: wantsPage(endpointAt(request.url.split('?')[0]!).kind, request.headers.accept), assetsPath: options.assetsPath });
    });

    const handler = (request: FastifyRequest, reply: FastifyReply) => {
      reply.hijack();
      const raw = request.raw;
      // An absolute-form target (`GET http://host/path`) is reduced to its path: the engine never sees another origin.
      const url = raw.url!.startsWith('/') ? raw.url! : pathOf(raw.url!);
      const endpoint = endpointAt(url.split('?')[0]!);
      describePathForLog(raw, endpoint.pattern, endpoint.known);
      const rest = url.slice(prefix.length);
      raw.url = rest.startsWith('/') ? rest : `/${rest}`;
      requestFacts.set(raw, { kind: endpoint.kind, methods: endpoint.methods, log: request.log });
      rememberOrigin(raw, { requestId: request.id, address: request.ip });
      callback(raw, reply.raw);
    };
    scope.all(`${prefix}/*`, { config: ENGINE_MOUNT }, handler);
    scope.all(prefix || '/', { config: ENGINE_MOUNT }, handler);

    // RFC 8414 §3: the metadata of issuer https://host/p lives at /.well-known/oauth-authorization-server/p.
    scope.get(`/.well-known/oauth-authorization-server${prefix}`, (request, reply) => {
      reply.hijack();
      describePathForLog(request.raw, request.url.split('?')[0]!);
      request.raw.url = '/.well-known/openid-configuration';
      requestFacts.set(request.raw, { kind: 'api', methods: ['GET', 'HEAD'], log: request.log });
      callback(request.raw, reply.raw);
    });
  });
}

function pathOf(url: string): string {
  try {
    const { pathname, search } = new URL(url);
    return `${pathname}${search}`;
  } catch {
    return '/';
  }
}
