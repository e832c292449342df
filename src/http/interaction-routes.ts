import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type Provider from 'oidc-provider';
import {
  databaseUnavailable, ForbiddenOriginError, InvalidRequest, isOutage, SessionNotFound, statusOf, toProtocolError,
} from '../errors/index.ts';
import type { PasswordSignIn } from '../accounts/password-sign-in.ts';
import { NO_AUDIT, type AuditDraft, type AuditSink } from '../audit/audit-event.ts';
import { signInDraft } from '../audit/engine-audit.ts';
import type { UnitOfWork } from '../store/unit-of-work.ts';
import { brandingFor, brandingStylesheet, pageBrandingFor, type RealmBranding } from './branding.ts';
import { fastifyErrorAnswer, replyWithError } from './error-replies.ts';
import { clientFormActionOrigins, contentSecurityPolicy } from './security-headers.ts';
import { consentPage } from './views/consent-page.ts';
import { loginPage } from './views/login-page.ts';

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
  /** The realm's default branding, which clients override. */
  realmBranding?: RealmBranding | undefined;
  /** A unit of work per submission: its writes commit together or not at all (src/store/unit-of-work.ts). */
  unitOfWork: () => UnitOfWork;
  /** Of concurrent consent submissions for one interaction, exactly one gets true (src/oidc/interaction-claims.ts). */
  claimConsent: (uid: string) => Promise<boolean>;
  /** Password check with the brakes on failed sign-ins, made once per process by the composition root (src/latchkey.ts). */
  signIn: PasswordSignIn;
  /** Sign-ins and consents given are audit events (src/audit/). */
  audit?: AuditSink | undefined;
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
  const { provider: current, realm, mountPath, assetsPath } = options;
  await app.register(formbody, { bodyLimit: 16 * 1024 });
  const base = `${mountPath}interaction/:uid`;
  const audit = options.audit ?? NO_AUDIT;
  const record = (request: FastifyRequest, details: Details, draft: Omit<AuditDraft, 'realm'>) =>
    audit.record({ ...draft, realm, clientId: String(details.params.client_id), requestId: request.id, address: request.ip });

  async function clientOf(details: Details) {
    return current().Client.find(String(details.params.client_id));
  }

  function branding(client: Awaited<ReturnType<typeof clientOf>>) {
    return pageBrandingFor({ mountPath, realmBranding: options.realmBranding }, client);
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

  /**
   * Runs a submission as one unit of work, settled before the answer is
   * sent: its writes commit together or, when it throws or the commit
   * fails (then 503), not at all. Units never nest.
   */
  async function inUnitOfWork<T>(work: () => Promise<T>): Promise<T> {
    const unit = options.unitOfWork();
    let result: T;
    try {
      result = await unit.run(work);
    } catch (error) {
      await unit.rollback();
      throw error;
    }
    try {
      await unit.commit();
    } catch (error) {
      throw databaseUnavailable(error);
    }
    return result;
  }

  /** interactionResult rather than interactionFinished, so Fastify keeps the reply and its error handling. */
  function saveResult(request: FastifyRequest, reply: FastifyReply, result: Parameters<Provider['interactionResult']>[2], merge: boolean) {
    return current().interactionResult(request.raw, reply.raw, result, { mergeWithLastSubmission: merge });
  }

  function continueTo(reply: FastifyReply, returnTo: string) {
    return reply.code(303).header('location', returnTo).header('cache-control', 'no-store').send();
  }

  async function finish(request: FastifyRequest, reply: FastifyReply, result: Parameters<Provider['interactionResult']>[2], merge: boolean) {
    return continueTo(reply, await inUnitOfWork(() => saveResult(request, reply, result, merge)));
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
    if (site !== undefined && site !== 'same-origin' && site !== 'none') throw new ForbiddenOriginError();
    if (origin === undefined || origin === options.issuerOrigin) return;
    if (origin === 'null' && site === 'same-origin') return;
    throw new ForbiddenOriginError();
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
    throw new InvalidRequest(`unsupported interaction prompt ${details.prompt.name}`);
  });

  app.post<{ Params: { uid: string }; Body: { login: string; password: string } }>(`${base}/login`, { schema: { body: LoginBody } }, async (request, reply) => {
    assertSameOrigin(request);
    const details = await current().interactionDetails(request.raw, reply.raw);
    if (details.prompt.name !== 'login' || details.uid !== request.params.uid) throw new SessionNotFound('interaction mismatch');
    const { login, password } = request.body;
    const outcome = await options.signIn.check({ realm, login, password, ip: request.ip });
    if (outcome.kind !== 'signed-in') record(request, details, signInDraft(login, outcome, 'page'));
    if (outcome.kind === 'braked') {
      const wait = outcome.retryAfter;
      reply.header('retry-after', String(wait));
      return renderLogin(reply, details, request.params.uid, {
        login, status: 429, error: `Too many sign-in attempts. Try again in ${Math.ceil(wait / 60)} minute${wait > 60 ? 's' : ''}.`,
      });
    }
    if (outcome.kind === 'refused') {
      // One message whether the user is unknown or the password wrong.
      return renderLogin(reply, details, request.params.uid, { login, error: 'Incorrect username or password.', status: 401 });
    }
    const { user } = outcome;
    const returnTo = await inUnitOfWork(() => saveResult(request, reply, { login: { accountId: user.id, amr: ['pwd'], remember: true } }, false));
    // Recorded once the sign-in is saved: a 503 signed no one in.
    record(request, details, signInDraft(login, outcome, 'page'));
    return continueTo(reply, returnTo);
  });

  app.post<{ Params: { uid: string } }>(`${base}/confirm`, async (request, reply) => {
    assertSameOrigin(request);
    const details = await current().interactionDetails(request.raw, reply.raw);
    if (details.prompt.name !== 'consent' || details.uid !== request.params.uid || !details.session) {
      throw new SessionNotFound('interaction mismatch');
    }
    // A double-submitted form or a retrying browser: the first submission
    // stores the Grant; the others wait for it (the claim holds the row until
    // its unit commits) and then continue to the same place without storing
    // another. If the first one fails, the next one takes its place.
    let given = false;
    const returnTo = await inUnitOfWork(async () => {
      if (!await options.claimConsent(details.uid)) return details.returnTo;
      given = true;
      const grant = details.grantId
        ? await current().Grant.find(details.grantId)
        : new (current().Grant)({ accountId: details.session!.accountId, clientId: String(details.params.client_id) });
      if (!grant) throw new SessionNotFound('grant not found');
      const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
      const grantId = await grant.save();
      return saveResult(request, reply, { consent: details.grantId ? {} : { grantId } }, true);
    });
    if (given) {
      const accountId = details.session.accountId;
      record(request, details, { type: 'consent.given', outcome: 'success', actor: accountId, user: accountId, details: { scope: String(details.params.scope ?? '') } });
    }
    return continueTo(reply, returnTo);
  });

  app.post<{ Params: { uid: string } }>(`${base}/abort`, async (request, reply) => {
    assertSameOrigin(request);
    const details = await current().interactionDetails(request.raw, reply.raw);
    if (details.uid !== request.params.uid) throw new SessionNotFound('interaction mismatch');
    return finish(request, reply, {
      error: 'access_denied',
      error_description: 'End-User aborted interaction',
    }, false);
  });

  // Errors here are shown to a person: a page, never JSON or a stack trace (src/errors/error-mapping.ts decides what each is).
  app.setErrorHandler(async (error: Error, request, reply) => {
    const answer = toProtocolError(error) ?? fastifyErrorAnswer(error);
    if (statusOf(answer) >= 500 && !isOutage(error)) request.log.error({ err: error }, 'interaction failed');
    if (reply.sent || reply.raw.headersSent) return;
    return replyWithError(reply, answer, { page: true, assetsPath });
  });
}
