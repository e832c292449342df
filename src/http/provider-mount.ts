import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type Provider from 'oidc-provider';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import { clientFormActionOrigins, COMMON_HEADERS, contentSecurityPolicy, HSTS } from './security-headers.ts';

const RETRY_AFTER_SECONDS = '5';

/**
 * Hands every request under the realm's mount path that no Latchkey route
 * claims to oidc-provider, untouched: the body stream is left unread because
 * oidc-provider parses it itself (with its own 56 KiB cap and error codes).
 */
export async function mountProvider(app: FastifyInstance, current: () => Provider, mountPath: string, { jwksMaxAgeSeconds = 300, x5tS256 = () => new Map<string, string>() }: JwksOptions = {}): Promise<void> {
  // A key rotation replaces the provider; each one gets the middleware and a callback once.
  const callbacks = new WeakMap<Provider, ReturnType<Provider['callback']>>();
  const callbackOf = (provider: Provider) => {
    let callback = callbacks.get(provider);
    if (!callback) {
      installProviderMiddleware(provider, { jwksMaxAgeSeconds, x5tS256 });
      callbacks.set(provider, callback = provider.callback());
    }
    return callback;
  };
  const callback = (req: FastifyRequest['raw'], res: FastifyReply['raw']) => callbackOf(current())(req, res);
  const prefix = mountPath.replace(/\/$/, '');

  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_req, _payload, done) => done(null));

    const handler = (request: FastifyRequest, reply: FastifyReply) => {
      reply.hijack();
      const raw = request.raw;
      if (prefix) raw.url = raw.url!.slice(prefix.length) || '/';
      callback(raw, reply.raw);
    };
    scope.all(`${prefix}/*`, handler);
    if (!prefix) scope.all('/', handler);
    else scope.all(prefix, handler);

    // RFC 8414 §3: the metadata of issuer https://host/p lives at /.well-known/oauth-authorization-server/p.
    scope.get(`/.well-known/oauth-authorization-server${prefix}`, (request, reply) => {
      reply.hijack();
      request.raw.url = '/.well-known/openid-configuration';
      callback(request.raw, reply.raw);
    });
  });
}

export interface JwksOptions {
  /** Cache-Control max-age of the JWKS; staged rotation waits longer than this before a new key signs. */
  jwksMaxAgeSeconds?: number;
  /** x5t#S256 by kid for keys with a certificate, which the engine does not publish itself. */
  x5tS256?: () => ReadonlyMap<string, string>;
}

function installProviderMiddleware(provider: Provider, { jwksMaxAgeSeconds, x5tS256 }: Required<JwksOptions>): void {
  provider.use(async (ctx: KoaContextWithOIDC, next: () => Promise<void>) => {
    ctx.set(COMMON_HEADERS);
    // Set before the route runs so that form_post can add its script hash to it.
    ctx.set('content-security-policy', contentSecurityPolicy());
    if (ctx.secure) ctx.set('strict-transport-security', HSTS);
    await next();
    if (ctx.oidc?.client) {
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
  });
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
