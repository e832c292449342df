import { createHash } from 'node:crypto';
import Provider, { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { PREVIOUS_SECRET, PREVIOUS_SECRET_EXPIRES_AT } from '../clients/client-metadata.ts';
import type { SecretVerifier } from '../clients/client-secrets.ts';
import type { ClientAuthAttempt, ClientAuthLimiters } from '../rate-limits/client-auth-limiters.ts';
import { HasherBusyError, RETRY_AFTER_SECONDS, ServiceUnavailableError, toProtocolError, TooManyAttemptsError } from '../errors/index.ts';

/**
 * Client authentication with a secret (client_secret_basic / _post) that
 * tells nothing about which clients exist or how their secrets are stored:
 * the same status, body and, within noise, time for an unknown client, a
 * wrong generated secret and a wrong chosen one (DESIGN.md decision 4,
 * SECURITY-CATALOG 44, 49). Every failure costs one argon2id verification,
 * and every failure is braked by (client id as sent, address) and address,
 * whether the client exists or not (src/rate-limits/client-auth-limiters.ts).
 *
 *   secret presented ─▶ engine finds the client and it takes a secret?
 *     yes ─▶ compareClientSecret
 *             generated and correct, or chosen and verified < 15 min ago ─▶ accepted, brakes not asked
 *             braked ─▶ 429
 *             count a failure ─▶ argon2id: the stored hash, or the dummy for a wrong generated secret
 *                               ─▶ correct: failure forgiven, accepted │ wrong: 401
 *     no (unknown id, or a client that takes no secret) ─▶ the engine answers 401 invalid_client
 *         ─▶ middleware: braked ─▶ 429 │ count a failure ─▶ argon2id on the dummy hash ─▶ 401
 *
 * A failure is counted before its verification runs, so a burst of
 * concurrent guesses is braked like a sequence; concurrent requests with the
 * same (client, address, secret) share one verification and one count.
 */
export interface ClientAuthenticationDeps {
  realm: string;
  secrets: SecretVerifier;
  /** Created once per process and shared across key rotations (src/latchkey.ts). */
  limiters: ClientAuthLimiters;
  /** The provider's renderError, for the rare browser-like request that asks for HTML. */
  renderError: NonNullable<Configuration['renderError']>;
}

type Context = KoaContextWithOIDC;
type Refusal = Error & { statusCode: number; error_description?: string | undefined };

export function installClientAuthentication(provider: Provider, { realm, secrets, limiters, renderError }: ClientAuthenticationDeps): void {
  // Requests in which a presented secret was checked by compareClientSecret.
  const checked = new WeakSet<object>();
  const flights = new Map<string, Promise<boolean>>();
  secrets.prepare().catch(() => { /* made on the first failure instead */ });

  /** Brake, count, verify: throws TooManyAttemptsError or ServiceUnavailableError. */
  async function settle(attempt: ClientAuthAttempt, presented: string, verification: () => Promise<boolean>): Promise<boolean> {
    const key = createHash('sha256').update(`${attempt.realm}\0${attempt.clientId}\0${attempt.ip}\0${presented}`).digest('base64url');
    let flight = flights.get(key);
    if (!flight) {
      const wait = limiters.retryAfter(attempt);
      if (wait > 0) throw new TooManyAttemptsError(wait);
      limiters.recordFailure(attempt);
      flight = verification().then(
        (ok) => { if (ok) limiters.forgive(attempt); return ok; },
        // Nothing was verified, so nothing failed: a 503 means "retry" (DESIGN.md decision 10).
        (error: unknown) => { limiters.forgive(attempt); throw error; },
      ).finally(() => flights.delete(key));
      flights.set(key, flight);
    }
    try {
      return await flight;
    } catch (error) {
      if (error instanceof HasherBusyError) throw toProtocolError(error);
      throw error;
    }
  }

  provider.Client.prototype.compareClientSecret = async function compareHashedClientSecret(this: StoredSecrets, presented: string) {
    const ctx = Provider.ctx as Context | undefined;
    if (ctx) checked.add(ctx);
    const stored = acceptedSecrets(this);
    const quick = stored.map((hash) => secrets.quickCheck(this.clientId, hash, presented));
    // A correct generated secret (256 bits: no brake is what stops guessing
    // it) and a chosen one this process verified in the last 15 minutes are
    // accepted whatever the brakes say: a neighbour failing from a shared
    // address cannot lock a working service out. Neither answer reveals
    // anything to someone who does not hold the secret already.
    if (quick.includes('correct')) return true;
    const unsure = stored.filter((_, i) => quick[i] === 'unsure');
    const attempt = { realm, clientId: this.clientId, ip: ctx?.ip ?? '' };
    try {
      const ok = await settle(attempt, presented, unsure.length === 0
        ? () => secrets.payForFailure(presented).then(() => false)
        : async () => {
          for (const hash of unsure) if (await secrets.verify(this.clientId, hash, presented)) return true;
          return false;
        });
      if (!ok && ctx) forgetClient(ctx);
      return ok;
    } catch (error) {
      if (ctx) forgetClient(ctx);
      if (error instanceof TooManyAttemptsError) ctx?.set('retry-after', String(error.retryAfter));
      throw error;
    }
  } as never;

  // The engine refuses an unknown client (or a secret sent to a client that
  // takes none) before compareClientSecret, at once: pay and brake here.
  provider.use(async function equaliseUncheckedClientSecrets(ctx: Context, next: () => Promise<void>) {
    await next();
    if (ctx.status !== 401 || checked.has(ctx)) return;
    const body = ctx.body as { error?: unknown } | string | undefined;
    if (typeof body === 'object' && body?.error !== 'invalid_client') return;
    const presented = presentedSecret(ctx);
    if (!presented) return;
    let refusal: Refusal | undefined;
    try {
      await settle({ realm, clientId: presented.clientId, ip: ctx.ip }, presented.secret, () => secrets.payForFailure(presented.secret).then(() => false));
    } catch (error) {
      if (error instanceof TooManyAttemptsError) ctx.set('retry-after', String(error.retryAfter));
      else if (error instanceof ServiceUnavailableError) ctx.set('retry-after', RETRY_AFTER_SECONDS);
      else throw error;
      refusal = error;
    }
    // A client that takes no secret was attached by the engine and branded
    // its error page: answer as for an unknown client.
    const attached = ctx.oidc?.client !== undefined;
    if (attached) forgetClient(ctx);
    if (refusal) await answer(ctx, refusal, renderError);
    else if (attached && typeof ctx.body === 'string') await answer(ctx, new errors.InvalidClientAuth(), renderError);
  });
}

type StoredSecrets = { clientId: string; clientSecret?: string; [PREVIOUS_SECRET]?: unknown; [PREVIOUS_SECRET_EXPIRES_AT]?: unknown };

/**
 * The stored forms a presented secret may match: the client's secret, and
 * while a rotation's overlap lasts the one before it (src/clients/client-metadata.ts).
 */
function acceptedSecrets(client: StoredSecrets): string[] {
  const previous = client[PREVIOUS_SECRET];
  const until = client[PREVIOUS_SECRET_EXPIRES_AT];
  const overlapping = typeof previous === 'string' && typeof until === 'number' && until * 1000 > Date.now();
  return [client.clientSecret ?? '', ...(overlapping ? [previous] : [])];
}

/**
 * Replaces the engine's 401 with another of its errors, rendered as its
 * error handler renders every error (lib/shared/error_handler.js,
 * lib/helpers/err_out.js), so the answer is byte for byte the one a known
 * client gets for the same error. The Basic challenge belongs to 401 only.
 */
async function answer(ctx: Context, error: Refusal, renderError: ClientAuthenticationDeps['renderError']): Promise<void> {
  if (error.statusCode !== 401) ctx.remove('www-authenticate');
  ctx.status = error.statusCode;
  const out = { error: error.message, error_description: error.error_description! };
  if (ctx.accepts('json', 'html') === 'html') await renderError(ctx, out, error);
  else ctx.body = out;
}

/**
 * A client that failed to authenticate is no client of this request: the
 * engine has already attached it, and what renders the error (branded
 * error page, CSP form-action with its redirect origins) would show it.
 */
function forgetClient(ctx: Context): void {
  delete (ctx.oidc.entities as { Client?: unknown }).Client;
}

/** The client id and secret the request presented (the engine has already checked their form). */
function presentedSecret(ctx: Context): { clientId: string; secret: string } | undefined {
  const params = ctx.oidc?.params as { client_id?: unknown; client_secret?: unknown } | undefined;
  if (typeof params?.client_secret === 'string' && params.client_secret) {
    return typeof params.client_id === 'string' ? { clientId: params.client_id, secret: params.client_secret } : undefined;
  }
  const [scheme, value] = (ctx.headers.authorization ?? '').split(' ');
  if (scheme?.toLowerCase() !== 'basic' || !value) return undefined;
  const basic = Buffer.from(value, 'base64').toString('utf8');
  const colon = basic.indexOf(':');
  if (colon < 0) return undefined;
  try {
    // RFC 6749 Appendix B, decoded as the engine does (lib/shared/client_auth.js).
    const decode = (part: string) => decodeURIComponent(part.replace(/\+/g, '%20'));
    const secret = decode(basic.slice(colon + 1));
    return secret ? { clientId: decode(basic.slice(0, colon)), secret } : undefined;
  } catch {
    return undefined;
  }
}
