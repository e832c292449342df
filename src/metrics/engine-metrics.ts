import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { LatchkeyMetrics, TokenFormat } from './latchkey-metrics.ts';

/**
 * Counts what a realm's provider hands out: tokens at the token endpoint
 * (by grant type, kind and format) and introspection answers (active or
 * inactive). Read from the final answer rather than from the engine's
 * model events (`access_token.saved`, …), because only the answer knows
 * everything: ID tokens have no event, and a token whose unit of work then
 * fails to commit (a 503: src/oidc/unit-of-work-middleware.ts) was never
 * issued. Installed on every provider the composition root builds, key
 * rotations included, outside the unit of work, so that when the rest of
 * the chain returns the commit is done.
 */
export function countEngineAnswers(provider: Provider, realm: string, metrics: LatchkeyMetrics): void {
  const countAnswer = async function countAnswer(ctx: KoaContextWithOIDC, next: () => Promise<void>) {
    await next();
    if (ctx.status !== 200) return;
    const route = ctx.oidc?.route;
    if (route === 'token') countTokens(ctx, realm, metrics);
    else if (route === 'introspection') countIntrospection(ctx, realm, metrics);
  };
  provider.middleware.unshift(countAnswer as never);
}

function countTokens(ctx: KoaContextWithOIDC, realm: string, metrics: LatchkeyMetrics): void {
  const body = ctx.body as Record<string, unknown> | undefined;
  const grantType = ctx.oidc.params?.['grant_type'];
  if (!body || typeof body !== 'object' || typeof grantType !== 'string') return;
  const clientId = metrics.clientLabels ? ctx.oidc.client?.clientId : undefined;
  const issued = (kind: Parameters<LatchkeyMetrics['tokenIssued']>[0]['kind'], value: unknown) => {
    if (typeof value === 'string') metrics.tokenIssued({ realm, grantType, kind, format: formatOf(value), clientId });
  };
  issued(grantType === 'client_credentials' ? 'client_credentials' : 'access_token', body['access_token']);
  issued('refresh_token', body['refresh_token']);
  issued('id_token', body['id_token']);
}

/** A JWS in compact form has three dot-separated parts; an opaque token (43 base64url characters) has none. */
function formatOf(token: string): TokenFormat {
  return token.split('.').length === 3 ? 'jwt' : 'opaque';
}

function countIntrospection(ctx: KoaContextWithOIDC, realm: string, metrics: LatchkeyMetrics): void {
  const active = activeOf(ctx.body);
  if (active === undefined) return;
  metrics.introspected({ realm, active, clientId: metrics.clientLabels ? ctx.oidc.client?.clientId : undefined });
}

/** `active` of a JSON answer, or of an RFC 9701 signed one (a JWT whose `token_introspection` claim holds it). */
function activeOf(body: unknown): boolean | undefined {
  if (body && typeof body === 'object') return (body as { active?: unknown }).active === true;
  if (typeof body !== 'string') return undefined;
  try {
    const payload = JSON.parse(Buffer.from(body.split('.')[1] ?? '', 'base64url').toString('utf8')) as { token_introspection?: { active?: unknown } };
    return payload.token_introspection?.active === true;
  } catch {
    return undefined;
  }
}
