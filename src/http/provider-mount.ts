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
export async function mountProvider(app: FastifyInstance, provider: Provider, mountPath: string): Promise<void> {
  installProviderMiddleware(provider);
  const callback = provider.callback();
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

function installProviderMiddleware(provider: Provider): void {
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
  });
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
