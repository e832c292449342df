import type { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Provider, { type KoaContextWithOIDC } from 'oidc-provider';
import type { SignInOutcome } from '../accounts/password-sign-in.ts';
import { NO_AUDIT, type AuditDraft, type AuditSink } from './audit-event.ts';
import { originOf } from './request-origin.ts';

type Context = KoaContextWithOIDC;
type Draft = Omit<AuditDraft, 'realm' | 'requestId' | 'address'>;

/** The engine's error details (error_detail, which it does not send) for a spent refresh token or code presented again (lib/actions/grants/refresh_token.js, lib/helpers/grant_source.js). */
const REUSE = new Map([
  ['refresh token already used', 'refresh_token.reuse_detected'],
  ['authorization code already consumed', 'authorization_code.reuse_detected'],
]);
const ISSUED_KINDS = ['access_token', 'refresh_token', 'id_token'] as const;
const DESTROYED = { 'access_token.destroyed': 'access_token', 'client_credentials.destroyed': 'client_credentials', 'refresh_token.destroyed': 'refresh_token' } as const;
/** Endpoints where a client authenticates; their error events carry its failures. */
const CLIENT_ERROR_EVENTS = ['grant.error', 'introspection.error', 'revocation.error', 'pushed_authorization_request.error'];

/**
 * The audit events of one realm's provider, from the engine's own events
 * (docs: "Events"): attached to each provider as it is built, since a key
 * rotation builds new ones (src/latchkey.ts).
 *
 * A success is recorded when the request's unit of work commits
 * (src/oidc/unit-of-work-middleware.ts): one the unit rolled back or failed
 * to commit (a 5xx, a 503) is no success and is not recorded. A failure is
 * held with its request and recorded when the answer has left, whatever
 * became of the request's writes, with the status the client got (a 429
 * makes a client-authentication failure a brake).
 *
 *   grant.success             token.issued, or token.refreshed for the refresh_token grant
 *   grant.error …             refresh_token / authorization_code .reuse_detected;
 *                             invalid_client: client_authentication.failed (brake.engaged when answered 429)
 *   *.destroyed at revocation token.revoked
 *   grant.revoked             consent.withdrawn (a revoked token, a replayed code or refresh token)
 *   password grant sign-in    sign_in.succeeded / sign_in.failed / brake.engaged (auditPasswordGrantSignIn)
 */
export function auditEngine(provider: Provider, { realm, audit, afterCommit }: {
  realm: string;
  audit: AuditSink;
  /** Runs an effect once the current request's unit of work has committed (Db.afterCommit). */
  afterCommit: (effect: () => void) => void;
}): void {
  // LATCHKEY_AUDIT=off: the engine's events are not listened to at all, so that off costs nothing.
  if (audit === NO_AUDIT) return;
  const held = new WeakMap<Context, Draft[]>();
  // The engine's typings cover the documented events with their own argument types; these listeners take what they read.
  const on = <A extends unknown[]>(event: string, listener: (...args: A) => void) => (provider as unknown as EventEmitter).on(event, listener as (...args: unknown[]) => void);

  const hold = (ctx: Context | undefined, draft: Draft) => {
    if (!ctx) return;
    if (draft.outcome === 'success') {
      // The hot path (a token issued): no listener, no map; recorded by the commit that makes it true.
      const origin = originOf(ctx.req as IncomingMessage);
      const address = origin?.address ?? ctx.ip;
      afterCommit(() => audit.record({ ...draft, realm, requestId: origin?.requestId, address }));
      return;
    }
    let drafts = held.get(ctx);
    if (!drafts) {
      held.set(ctx, drafts = []);
      const res = ctx.res as ServerResponse;
      res.once('close', () => settle(ctx, drafts!));
    }
    drafts.push(draft);
  };

  const settle = (ctx: Context, drafts: Draft[]) => {
    const status = ctx.res.statusCode;
    const origin = originOf(ctx.req as IncomingMessage);
    for (const draft of drafts) {
      // The client-authentication brakes answer an engine's invalid_client with 429 (src/oidc/client-authentication.ts).
      const braked = draft.type === 'client_authentication.failed' && status === 429;
      audit.record({
        ...draft,
        ...(braked ? { type: 'brake.engaged', details: { ...draft.details, brake: 'client_authentication' } } : {}),
        realm,
        requestId: origin?.requestId,
        address: origin?.address ?? ctx.ip,
      });
    }
  };

  provider.on('grant.success', (ctx: Context) => {
    const grantType = String(ctx.oidc.params?.['grant_type'] ?? '');
    const body = (ctx.body ?? {}) as Record<string, unknown>;
    const clientId = ctx.oidc.client?.clientId;
    const entities = ctx.oidc.entities as { Account?: { accountId?: string }; AccessToken?: { accountId?: string } };
    const user = entities.Account?.accountId ?? entities.AccessToken?.accountId;
    hold(ctx, {
      type: grantType === 'refresh_token' ? 'token.refreshed' : 'token.issued',
      outcome: 'success',
      actor: clientId,
      clientId,
      user,
      details: {
        grant_type: grantType,
        ...(typeof body['scope'] === 'string' ? { scope: body['scope'] } : {}),
        issued: ISSUED_KINDS.filter((kind) => body[kind] !== undefined),
      },
    });
  });

  for (const event of CLIENT_ERROR_EVENTS) {
    on(event, (ctx: Context, error: { error?: string; error_detail?: string; statusCode?: number }) => {
      const reuse = REUSE.get(error.error_detail ?? '');
      const clientId = ctx.oidc.client?.clientId;
      if (reuse) {
        hold(ctx, { type: reuse, outcome: 'failure', actor: clientId, clientId, details: { error: error.error, grant_revoked: true } });
      } else if (error.error === 'invalid_client') {
        // 429: the client-authentication brakes (TooManyAttemptsError is an invalid_client); the sign-in brakes' is an invalid_grant, recorded with its sign-in.
        const presented = presentedClientId(ctx);
        hold(ctx, {
          type: error.statusCode === 429 ? 'brake.engaged' : 'client_authentication.failed',
          outcome: 'failure',
          actor: presented,
          clientId: presented,
          details: { endpoint: ctx.oidc.route, error: error.error, ...(error.statusCode === 429 ? { brake: 'client_authentication' } : {}) },
        });
      }
    });
  }

  for (const [event, kind] of Object.entries(DESTROYED)) {
    on(event, (token: { clientId?: string; accountId?: string }) => {
      const ctx = Provider.ctx as Context | undefined;
      // The engine also destroys a replayed refresh token; only the revocation endpoint's are revocations.
      if (ctx?.oidc?.route !== 'revocation') return;
      const clientId = ctx.oidc.client?.clientId;
      hold(ctx, { type: 'token.revoked', outcome: 'success', actor: clientId, clientId: token.clientId, user: token.accountId, details: { kind } });
    });
  }

  provider.on('grant.revoked', (ctx: Context) => {
    const clientId = ctx.oidc.client?.clientId;
    const entities = ctx.oidc.entities as Record<string, { accountId?: string } | undefined>;
    const user = entities['RefreshToken']?.accountId ?? entities['AuthorizationCode']?.accountId ?? entities['AccessToken']?.accountId;
    hold(ctx, { type: 'consent.withdrawn', outcome: 'success', actor: clientId, clientId, user, details: { endpoint: ctx.oidc.route } });
  });

  auditors.set(provider, (draft) => hold(Provider.ctx as Context | undefined, draft));
}

const auditors = new WeakMap<Provider, (draft: Draft) => void>();

/** The password grant's sign-in (src/oidc/password-grant.ts), recorded with its request as the page's is. */
export function auditPasswordGrantSignIn(provider: Provider, login: string, outcome: SignInOutcome): void {
  const ctx = Provider.ctx as Context | undefined;
  const clientId = ctx?.oidc?.client?.clientId;
  auditors.get(provider)?.({ ...signInDraft(login, outcome, 'password_grant'), clientId });
}

/** A sign-in's event, whichever way in: the account when it is known, else the login as typed. */
export function signInDraft(login: string, outcome: SignInOutcome, via: 'page' | 'password_grant'): Draft {
  if (outcome.kind === 'signed-in') {
    return { type: 'sign_in.succeeded', outcome: 'success', actor: outcome.user.id, user: outcome.user.id, details: { via, username: outcome.user.username } };
  }
  if (outcome.kind === 'braked') {
    return { type: 'brake.engaged', outcome: 'failure', user: login, details: { via, brake: 'sign_in', retry_after: outcome.retryAfter } };
  }
  return { type: 'sign_in.failed', outcome: 'failure', user: login, details: { via } };
}

/** The client id a request presented (form or Basic), whether or not such a client exists; never the secret. */
function presentedClientId(ctx: Context): string | undefined {
  const fromForm = (ctx.oidc?.params as { client_id?: unknown } | undefined)?.client_id;
  if (typeof fromForm === 'string' && fromForm) return fromForm.slice(0, 256);
  const [scheme, value] = (ctx.headers.authorization ?? '').split(' ');
  if (scheme?.toLowerCase() !== 'basic' || !value) return undefined;
  const basic = Buffer.from(value, 'base64').toString('utf8');
  const colon = basic.indexOf(':');
  if (colon <= 0) return undefined;
  try {
    return decodeURIComponent(basic.slice(0, colon).replace(/\+/g, '%20')).slice(0, 256);
  } catch {
    return undefined;
  }
}
