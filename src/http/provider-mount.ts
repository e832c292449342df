import type { IncomingMessage } from 'node:http';
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type Provider from 'oidc-provider';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import type { ProviderPages } from '../oidc/provider-factory.ts';
import { engineEndpoint, ENGINE_MOUNT, type EndpointKind, type HostRoutes } from './endpoints.ts';
import { fastifyErrorAnswer, oauthErrorBody, replyWithError, requestErrors, statusOf, wantsPage } from './error-replies.ts';
import { describePathForLog, maskedPath } from './request-log.ts';
import { clientFormActionOrigins, COMMON_HEADERS, contentSecurityPolicy, HSTS } from './security-headers.ts';
import { databaseUnavailable } from '../oidc/payload-adapter.ts';
import { isDatabaseUnavailable } from '../store/database-errors.ts';

const RETRY_AFTER_SECONDS = '5';
/** oidc-provider reads at most this much of a body (lib/shared/selective_body.js). */
const ENGINE_BODY_LIMIT = 56 * 1024;

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

/** Fastify's per-request logger, for what the engine's middleware logs. */
const requestLogs = new WeakMap<IncomingMessage, FastifyBaseLogger>();

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
      installEdge(provider, prefix, options);
      callbacks.set(provider, callback = provider.callback());
    }
    return callback;
  };
  const callback = (req: FastifyRequest['raw'], res: FastifyReply['raw']) => callbackOf(current())(req, res);
  const kindAt = (path: string): EndpointKind | undefined =>
    engineEndpoint(current(), path.slice(prefix.length) || '/')?.kind ?? options.hostRoutes.match(path)?.kind;

  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_req, _payload, done) => done(null));
    // What Fastify refuses before the engine runs: a Content-Type that does not parse (415).
    scope.setErrorHandler((error: FastifyError, request, reply) => {
      const answer = fastifyErrorAnswer(error);
      if (statusOf(answer) >= 500) request.log.error({ err: error }, 'request failed');
      return replyWithError(reply, answer, { page: wantsPage(kindAt(request.url.split('?')[0]!), request.headers.accept), assetsPath: options.assetsPath });
    });

    const handler = (request: FastifyRequest, reply: FastifyReply) => {
      reply.hijack();
      const raw = request.raw;
      // An absolute-form target (`GET http://host/path`) is reduced to its path: the engine never sees another origin.
      const url = raw.url!.startsWith('/') ? raw.url! : pathOf(raw.url!);
      const path = url.split('?')[0]!;
      const relative = path.slice(prefix.length) || '/';
      const engine = engineEndpoint(current(), relative);
      describePathForLog(raw, engine ? `${prefix}${engine.pattern}` : options.hostRoutes.match(path)?.pattern ?? maskedPath(path));
      const rest = url.slice(prefix.length);
      raw.url = rest.startsWith('/') ? rest : `/${rest}`;
      requestLogs.set(raw, request.log);
      // Koa's callback answers its own errors (ctx.onerror); nothing reaches this promise.
      void callback(raw, reply.raw);
    };
    scope.all(`${prefix}/*`, { config: ENGINE_MOUNT }, handler);
    scope.all(prefix || '/', { config: ENGINE_MOUNT }, handler);

    // RFC 8414 §3: the metadata of issuer https://host/p lives at /.well-known/oauth-authorization-server/p.
    scope.get(`/.well-known/oauth-authorization-server${prefix}`, (request, reply) => {
      reply.hijack();
      describePathForLog(request.raw, request.url.split('?')[0]!);
      request.raw.url = '/.well-known/openid-configuration';
      requestLogs.set(request.raw, request.log);
      void callback(request.raw, reply.raw);
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

/**
 * The edge between Fastify and the engine, outermost of the engine's
 * middleware (so also around the unit of work and client authentication):
 *
 *   present the issuer's origin → pick the error shape by endpoint → headers
 *   → refuse oversized bodies (413) → the engine → answer what escaped it,
 *   what no route took (404/405) → corrections (JWKS, RFC 6749 codes).
 */
function installEdge(provider: Provider, prefix: string, options: MountOptions): void {
  const { jwksMaxAgeSeconds = 300, x5tS256 = () => new Map<string, string>(), hostRoutes, renderError } = options;
  const issuer = new URL(provider.issuer);
  const edge = async function latchkeyEdge(ctx: KoaContextWithOIDC, next: () => Promise<void>) {
    const engine = engineEndpoint(provider, ctx.path);
    const host = hostRoutes.match(`${prefix}${ctx.path}`);
    presentIssuer(ctx, issuer, prefix);
    chooseErrorShape(ctx, engine?.kind ?? host?.kind);
    ctx.set(COMMON_HEADERS);
    // Set before the route runs so that form_post can add its script hash to it.
    ctx.set('content-security-policy', contentSecurityPolicy());
    if (ctx.secure) ctx.set('strict-transport-security', HSTS);
    if ((ctx.request.length ?? 0) > ENGINE_BODY_LIMIT) return answer(ctx, requestErrors.bodyTooLarge(), renderError);

    try {
      await next();
    } catch (error) {
      // Koa's default would answer plain text (e.g. a session save that fails after the route's error handler ran).
      if (ctx.headerSent || !ctx.writable) throw error;
      if (statusOf(error) >= 500 && !isDatabaseUnavailable(error)) requestLogs.get(ctx.req)?.error({ err: error }, 'engine request failed');
      for (const header of ['location', 'set-cookie']) ctx.remove(header);
      await answer(ctx, isDatabaseUnavailable(error) ? databaseUnavailable(error) : error, renderError);
    }
    // No engine route matched: Koa's untouched default, and ctx.oidc never defined (lib/helpers/initialize_app.js ensureOIDC).
    if (ctx.status === 404 && ctx.body == null && !Object.hasOwn(ctx, 'oidc')) {
      const allowed = [...new Set([...engine?.methods ?? [], ...host?.methods ?? []])];
      // A method the path takes, yet no route took it: Fastify refused the path itself (a parameter over maxParamLength).
      const wrongMethod = allowed.length > 0 && !allowed.includes(ctx.method);
      if (wrongMethod) ctx.set('allow', allowed.join(', '));
      await answer(ctx, wrongMethod ? requestErrors.methodNotAllowed() : requestErrors.notFound(), renderError);
    }
    if (ctx.status >= 400) ctx.set('cache-control', 'no-store');

    // Only a page that can send the browser on to the client needs its origins;
    // an error must not tell (by its CSP) which client was named.
    if (ctx.oidc?.client && ctx.status < 400) {
      const csp = ctx.response.get('content-security-policy');
      if (csp) {
        const extra = clientFormActionOrigins(ctx.oidc.client).join(' ');
        if (extra) ctx.set('content-security-policy', csp.replace("form-action 'self'", `form-action 'self' ${extra}`));
      }
    }
    // RFC 7009 §2.2.1 / RFC 9110 §10.2.3: a 503 tells the client when to retry.
    if (ctx.status === 503) ctx.set('retry-after', RETRY_AFTER_SECONDS);
    if (ctx.oidc?.route === 'token') reportUnallowedGrantAsUnauthorizedClient(ctx);
    if (ctx.oidc?.route === 'jwks' && ctx.status === 200) publishKeySet(ctx, jwksMaxAgeSeconds, x5tS256());
  };
  // Koa's public middleware list; oidc-provider's own `use` keeps its router last.
  provider.middleware.unshift(edge as never);
}

/**
 * Every URL the engine builds (discovery, redirects, form actions, cookie
 * paths) comes from `ctx.href` through OIDCContext#urlFor
 * (lib/helpers/oidc_context.js), and Koa derives it from Host or
 * X-Forwarded-Host. Here it is the realm issuer's, whatever the headers
 * say; `mountPath` (koa-mount's convention, which urlFor honours) gives a
 * realm at /realms/<name>/ its own paths. `secure` (Secure cookies, HSTS)
 * is true for an https issuer, and otherwise as the request says: over TLS,
 * or through a trusted TLS proxy (X-Forwarded-Proto with LATCHKEY_TRUST_PROXY).
 */
function presentIssuer(ctx: KoaContextWithOIDC, issuer: URL, prefix: string): void {
  const secure = issuer.protocol === 'https:' || ctx.request.secure;
  const href = () => `${issuer.origin}${prefix}${ctx.originalUrl}`;
  Object.defineProperties(ctx.request, {
    host: { value: issuer.host },
    hostname: { value: issuer.hostname },
    protocol: { value: secure ? 'https' : 'http' },
    secure: { value: secure },
    href: { get: href },
    URL: { get: () => new URL(href()) },
  });
  (ctx as { mountPath?: string }).mountPath = prefix;
}

/**
 * The engine, and Latchkey's middleware around it, ask
 * `ctx.accepts('json', 'html')` whether to answer an error as JSON or
 * through renderError (lib/shared/error_handler.js). At Latchkey the
 * endpoint decides: JSON for APIs, a page for browser endpoints; Accept
 * only for paths that are neither.
 */
function chooseErrorShape(ctx: KoaContextWithOIDC, kind: EndpointKind | undefined): void {
  if (!kind) return;
  const accepts = ctx.accepts.bind(ctx) as (...types: string[]) => string | false;
  const decided = (...types: string[]) =>
    (types.length === 2 && types[0] === 'json' && types[1] === 'html' ? (kind === 'page' ? 'html' : 'json') : accepts(...types));
  ctx.accepts = decided as typeof ctx.accepts;
}

async function answer(ctx: KoaContextWithOIDC, error: unknown, renderError: ProviderPages['renderError']): Promise<void> {
  ctx.status = statusOf(error);
  ctx.set('cache-control', 'no-store');
  const out = oauthErrorBody(error);
  if (ctx.accepts('json', 'html') === 'html') await renderError(ctx, out, error as Error);
  else ctx.body = out;
}

/**
 * The JWKS is cacheable for a bounded time: staged rotation publishes a new
 * key longer than this before it signs (README "Keys"). oidc-provider leaves
 * out `x5t#S256`; it is added for keys that came with a certificate.
 */
function publishKeySet(ctx: KoaContextWithOIDC, maxAgeSeconds: number, thumbprints: ReadonlyMap<string, string>): void {
  ctx.set('cache-control', maxAgeSeconds > 0 ? `public, max-age=${maxAgeSeconds}` : 'no-cache');
  const body = ctx.body as { keys?: { kid?: string; x5c?: unknown }[] } | undefined;
  if (!thumbprints.size || !Array.isArray(body?.keys)) return;
  ctx.body = {
    keys: body.keys.map((key) => {
      const thumbprint = key.kid && key.x5c ? thumbprints.get(key.kid) : undefined;
      return thumbprint ? { ...key, 'x5t#S256': thumbprint } : key;
    }),
  };
}

/**
 * oidc-provider answers a grant type the client is not registered for with
 * `invalid_request`; RFC 6749 §5.2 names that case `unauthorized_client`
 * ("the authenticated client is not authorized to use this authorization
 * grant type"), which is what clients and conformance tests look for. Only
 * the error code changes; the engine's description stays.
 */
const UNALLOWED_GRANT = 'requested grant type is not allowed for this client';

function reportUnallowedGrantAsUnauthorizedClient(ctx: KoaContextWithOIDC): void {
  const body = ctx.body as { error?: unknown; error_description?: unknown } | undefined;
  if (ctx.status === 400 && body?.error === 'invalid_request' && body.error_description === UNALLOWED_GRANT) {
    ctx.body = { ...body, error: new errors.UnauthorizedClient().error };
  }
}
