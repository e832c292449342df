import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type Provider from 'oidc-provider';
import { errors } from 'oidc-provider';
import { brandingFor, brandingStylesheet, brandingStylesheetPath, type RealmBranding } from './branding.ts';
import type { AccountService } from '../accounts/account-service.ts';
import { HasherBusyError } from '../accounts/password-hasher.ts';
import { ServiceUnavailableError } from '../oidc/payload-adapter.ts';
import { isDatabaseUnavailable } from '../store/database-errors.ts';
import { FailureLimiter, LOGIN_RULES } from '../rate-limits/failure-limiter.ts';
import { clientFormActionOrigins, contentSecurityPolicy } from './security-headers.ts';
import { consentPage } from './views/consent-page.ts';
import { loginPage } from './views/login-page.ts';
import { messagePage } from './views/message-page.ts';

/**
 * Login and consent, the interactions oidc-provider leaves to its host.
 *
 *   GET  …/interaction/:uid          → login page | consent page (by prompt)
 *   POST …/interaction/:uid/login    → check password → 303 back to /auth
 *   POST …/interaction/:uid/confirm  → save the grant → 303 back to /auth
 *   POST …/interaction/:uid/abort    → access_denied to the client
 *
 * CSRF: the interaction is found through oidc-provider's `_interaction`
 * cookie (SameSite=Lax, so a cross-site POST arrives without it), and a POST
 * whose Origin is not ours is refused before anything happens. The redirect
 * after a credential POST is always 303 (RFC 9700 §4.12).
 */
export interface InteractionRoutesOptions {
  /** The realm's provider of the moment: a key rotation swaps it (src/latchkey.ts). */
  provider: () => Provider;
  realm: string;
  mountPath: string;
  assetsPath: string;
  issuerOrigin: string;
  accounts: AccountService;
  /** The realm's default branding, which clients override. */
  realmBranding?: RealmBranding | undefined;
  /** Brakes on failed sign-ins; default LOGIN_RULES. */
  loginLimiters?: LoginLimiters;
}

export interface LoginLimiters {
  accountAndIp: FailureLimiter;
  account: FailureLimiter;
  ip: FailureLimiter;
}

export function createLoginLimiters(): LoginLimiters {
  return {
    accountAndIp: new FailureLimiter(LOGIN_RULES.accountAndIp),
    account: new FailureLimiter(LOGIN_RULES.account),
    ip: new FailureLimiter(LOGIN_RULES.ip),
  };
}

const LoginBody = {
  type: 'object',
  properties: {
    login: { type: 'string', maxLength: 256 },
    password: { type: 'string', maxLength: 1024 },
  },
  required: ['login', 'password'],
} as const;

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

export async function interactionRoutes(app: FastifyInstance, options: InteractionRoutesOptions): Promise<void> {
  const { provider: current, realm, mountPath, assetsPath, accounts } = options;
  const limiters = options.loginLimiters ?? createLoginLimiters();
  await app.register(formbody, { bodyLimit: 16 * 1024 });
  const base = `${mountPath}interaction/:uid`;

  async function clientOf(details: Details) {
    return current().Client.find(String(details.params.client_id));
  }

  function branding(client: Awaited<ReturnType<typeof clientOf>>) {
    return {
      branding: brandingFor(options.realmBranding, client?.metadata() as Record<string, unknown> | undefined),
      brandingStylesheet: brandingStylesheetPath(mountPath, client?.clientId),
    };
  }

  // The branding as a stylesheet (no inline style under the CSP); unknown clients get the realm's.
  app.get<{ Querystring: { client_id?: string } }>(`${mountPath}branding.css`, async (request, reply) => {
    const clientId = typeof request.query.client_id === 'string' && request.query.client_id.length <= 256 ? request.query.client_id : undefined;
    const client = clientId ? await current().Client.find(clientId).catch(() => undefined) : undefined;
    const css = brandingStylesheet(brandingFor(options.realmBranding, client?.metadata() as Record<string, unknown> | undefined));
    return reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=60').send(css);
  });

  async function sendPage(reply: FastifyReply, details: Details, body: string, status = 200) {
    const client = await clientOf(details);
    return reply
      .code(status)
      .header('content-security-policy', contentSecurityPolicy(clientFormActionOrigins(client)))
      .header('cache-control', 'no-store')
      .type('text/html; charset=utf-8')
      .send(body);
  }

  async function renderLogin(reply: FastifyReply, details: Details, uid: string, extra: { login?: string; error?: string; status?: number } = {}) {
    const client = await clientOf(details);
    const action = `${mountPath}interaction/${uid}`;
    return sendPage(reply, details, loginPage({
      action: `${action}/login`, abortAction: `${action}/abort`, assetsPath, ...branding(client), ...extra,
    }), extra.status);
  }

  /** interactionResult rather than interactionFinished, so Fastify keeps the reply and its error handling. */
  async function finish(request: FastifyRequest, reply: FastifyReply, result: Parameters<Provider['interactionResult']>[2], merge: boolean) {
    const returnTo = await current().interactionResult(request.raw, reply.raw, result, { mergeWithLastSubmission: merge });
    return reply.code(303).header('location', returnTo).header('cache-control', 'no-store').send();
  }

  /**
   * CSRF, on top of the SameSite=Lax interaction cookie: a form POST must
   * come from our own pages. Under `Referrer-Policy: no-referrer` browsers
   * send `Origin: null` even for same-origin form posts, so `null` is
   * accepted only when Fetch Metadata says the request is same-origin.
   */
  function assertSameOrigin(request: FastifyRequest) {
    const origin = request.headers.origin;
    const site = request.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') throw new ForbiddenOrigin();
    if (origin === undefined || origin === options.issuerOrigin) return;
    if (origin === 'null' && site === 'same-origin') return;
    throw new ForbiddenOrigin();
  }

  app.get<{ Params: { uid: string } }>(base, async (request, reply) => {
    const details = await current().interactionDetails(request.raw, reply.raw);
    const { uid } = request.params;
    if (details.prompt.name === 'login') return renderLogin(reply, details, uid);
    if (details.prompt.name === 'consent') {
      const client = await clientOf(details);
      const action = `${mountPath}interaction/${uid}`;
      const scopes = String(details.params.scope ?? '').split(' ').filter(Boolean);
      return sendPage(reply, details, consentPage({
        action: `${action}/confirm`,
        abortAction: `${action}/abort`,
        assetsPath,
        ...branding(client),
        clientLabel: brandingFor(undefined, client?.metadata() as Record<string, unknown> | undefined).appName ?? client?.clientId ?? 'This application',
        scopes,
      }));
    }
    throw new errors.InvalidRequest(`unsupported interaction prompt ${details.prompt.name}`);
  });

  app.post<{ Params: { uid: string }; Body: { login: string; password: string } }>(`${base}/login`, { schema: { body: LoginBody } }, async (request, reply) => {
    assertSameOrigin(request);
    const details = await current().interactionDetails(request.raw, reply.raw);
    if (details.prompt.name !== 'login' || details.uid !== request.params.uid) throw new errors.SessionNotFound('interaction mismatch');
    const { login, password } = request.body;
    const keys = {
      accountAndIp: `${login.trim().toLowerCase()}\0${request.ip}`,
      account: login.trim().toLowerCase(),
      ip: request.ip,
    };
    const wait = Math.max(...(Object.keys(keys) as (keyof LoginLimiters)[]).map((k) => limiters[k].retryAfter(keys[k])));
    if (wait > 0) {
      reply.header('retry-after', String(wait));
      return renderLogin(reply, details, request.params.uid, {
        login, status: 429, error: `Too many sign-in attempts. Try again in ${Math.ceil(wait / 60)} minute${wait > 60 ? 's' : ''}.`,
      });
    }
    let user;
    try {
      user = await accounts.authenticate(realm, login, password);
    } catch (error) {
      if (error instanceof HasherBusyError) throw new ServiceUnavailableError('too many sign-ins at once');
      throw error;
    }
    if (!user) {
      for (const k of Object.keys(keys) as (keyof LoginLimiters)[]) limiters[k].recordFailure(keys[k]);
      // One message whether the user is unknown or the password wrong.
      return renderLogin(reply, details, request.params.uid, { login, error: 'Incorrect username or password.', status: 401 });
    }
    return finish(request, reply, {
      login: { accountId: user.id, amr: ['pwd'], remember: true },
    }, false);
  });

  app.post<{ Params: { uid: string } }>(`${base}/confirm`, async (request, reply) => {
    assertSameOrigin(request);
    const details = await current().interactionDetails(request.raw, reply.raw);
    if (details.prompt.name !== 'consent' || details.uid !== request.params.uid || !details.session) {
      throw new errors.SessionNotFound('interaction mismatch');
    }
    const grant = details.grantId
      ? await current().Grant.find(details.grantId)
      : new (current().Grant)({ accountId: details.session.accountId, clientId: String(details.params.client_id) });
    if (!grant) throw new errors.SessionNotFound('grant not found');
    const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    return finish(request, reply, {
      consent: details.grantId ? {} : { grantId },
    }, true);
  });

  app.post<{ Params: { uid: string } }>(`${base}/abort`, async (request, reply) => {
    assertSameOrigin(request);
    const details = await current().interactionDetails(request.raw, reply.raw);
    if (details.uid !== request.params.uid) throw new errors.SessionNotFound('interaction mismatch');
    return finish(request, reply, {
      error: 'access_denied',
      error_description: 'End-User aborted interaction',
    }, false);
  });

  // Errors here are shown to a person: a page, never JSON or a stack trace.
  app.setErrorHandler(async (error: Error & { statusCode?: number; error?: string; expose?: boolean }, request, reply) => {
    const status = error instanceof ForbiddenOrigin ? 403
      : error instanceof errors.SessionNotFound ? 400
      : isDatabaseUnavailable(error) ? 503
      : error.statusCode && error.statusCode < 600 ? error.statusCode : 500;
    if (status >= 500 && status !== 503) request.log.error({ err: error }, 'interaction failed');
    const title = status === 403 ? 'Request refused'
      : status === 503 ? 'Temporarily unavailable'
      : status >= 500 ? 'Something went wrong' : 'Sign-in problem';
    const message = status === 403 ? 'This form was submitted from another site, so it was refused.'
      : error instanceof errors.SessionNotFound ? 'This sign-in link has expired or was already used. Go back to the application and start again.'
      : status === 503 ? 'The sign-in service is temporarily unavailable. Please try again in a moment.'
      : status >= 500 ? 'Something went wrong on our side. Please try again.'
      : 'The request was not valid.';
    if (reply.sent || reply.raw.headersSent) return;
    if (status === 503) reply.header('retry-after', '5');
    return reply
      .code(status)
      .header('content-security-policy', contentSecurityPolicy())
      .header('cache-control', 'no-store')
      .type('text/html; charset=utf-8')
      .send(messagePage({ title, message, assetsPath }));
  });
}

class ForbiddenOrigin extends Error {
  override name = 'ForbiddenOrigin';
}
