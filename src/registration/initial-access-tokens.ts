import { createHash, randomBytes } from 'node:crypto';
import { InitialAccessTokenError, InitialAccessTokenNotFoundError, RegistrationDisabledError } from '../errors/index.ts';
import type { Db } from '../store/database.ts';
import {
  deleteExpiredInitialAccessTokens, deleteInitialAccessToken, findUsableInitialAccessToken, insertInitialAccessToken,
  listInitialAccessTokens, spendInitialAccessTokenUse, type StoredInitialAccessToken,
} from '../store/initial-access-token.repository.ts';

/**
 * Initial access tokens (RFC 7591 §3): what a registrant presents as its
 * bearer token at a realm's registration endpoint. The one set of rules
 * for them, used by the admin API (src/admin/registration-token-routes.ts),
 * the CLI (`latchkey registration-tokens`) and the engine
 * (src/oidc/client-registration.ts):
 *
 * - issued only for a realm whose setup enables registration;
 * - each expires (1 minute to 90 days; 1 day by default) and is good for a
 *   number of registrations (1 to 1000; single-use by default);
 * - the value (256 random bits) is shown once, when issued; only its
 *   SHA-256 digest is stored, which is enough for a value of that entropy;
 * - a registration spends a use in its own transaction (a claim), so
 *   concurrent registrations never exceed the count, and one that fails
 *   gives its use back;
 * - revoking deletes it; expired tokens are dropped as new ones are issued.
 */
export const DEFAULT_EXPIRES_IN = 24 * 3600;
export const MAX_EXPIRES_IN = 90 * 24 * 3600;
const MIN_EXPIRES_IN = 60;
export const MAX_USES = 1000;
const MAX_DESCRIPTION = 200;

export interface IssueRequest {
  /** Seconds from now; DEFAULT_EXPIRES_IN when absent. */
  expires_in?: number | undefined;
  /** Registrations it allows; 1 when absent. */
  uses?: number | undefined;
  /** Who or what it is for, shown when listed. */
  description?: string | undefined;
}

export type InitialAccessTokenView = Omit<StoredInitialAccessToken, 'realm'>;

export function digestOfInitialAccessToken(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}

export class InitialAccessTokens {
  readonly #db: Db;
  readonly #registrationRealms: ReadonlySet<string>;
  readonly #now: () => Date;

  /** `registrationRealms`: the realms whose setup enables registration (src/config/registration-policy.ts). */
  constructor(db: Db, { registrationRealms, now = () => new Date() }: { registrationRealms: Iterable<string>; now?: () => Date }) {
    this.#db = db;
    this.#registrationRealms = new Set(registrationRealms);
    this.#now = now;
  }

  /**
   * A new token: its value (returned here only) and what is stored of it.
   * @throws RegistrationDisabledError, InitialAccessTokenError
   */
  async issue(realm: string, request: IssueRequest): Promise<{ value: string; token: InitialAccessTokenView }> {
    if (!this.#registrationRealms.has(realm)) throw new RegistrationDisabledError(realm);
    const { expires_in: expiresIn = DEFAULT_EXPIRES_IN, uses = 1, description } = request;
    const problems: { field: string; message: string }[] = [];
    if (!Number.isInteger(expiresIn) || expiresIn < MIN_EXPIRES_IN || expiresIn > MAX_EXPIRES_IN) {
      problems.push({ field: 'expires_in', message: `must be a whole number of seconds from ${MIN_EXPIRES_IN} to ${MAX_EXPIRES_IN} (90 days)` });
    }
    if (!Number.isInteger(uses) || uses < 1 || uses > MAX_USES) problems.push({ field: 'uses', message: `must be a whole number from 1 to ${MAX_USES}` });
    // eslint-disable-next-line no-control-regex
    if (description !== undefined && (description.length === 0 || description.length > MAX_DESCRIPTION || /[\x00-\x1f\x7f]/.test(description))) {
      problems.push({ field: 'description', message: `1 to ${MAX_DESCRIPTION} characters, no control characters` });
    }
    if (problems.length) throw new InitialAccessTokenError(problems);

    const now = this.#now();
    await deleteExpiredInitialAccessTokens(this.#db, realm, now);
    const value = randomBytes(32).toString('base64url');
    const { realm: _realm, ...token } = await insertInitialAccessToken(this.#db, {
      realm,
      id: randomBytes(9).toString('base64url'),
      value_digest: digestOfInitialAccessToken(value),
      uses_allowed: uses,
      uses_left: uses,
      description: description ?? null,
      expires_at: new Date(now.getTime() + expiresIn * 1000),
    });
    return { value, token };
  }

  /** One page of a realm's tokens (metadata only), in id order after `after`. */
  async page(realm: string, range: { after?: string | undefined; limit: number }): Promise<InitialAccessTokenView[]> {
    return (await listInitialAccessTokens(this.#db, realm, range)).map(({ realm: _realm, ...token }) => token);
  }

  /** @throws InitialAccessTokenNotFoundError */
  async revoke(realm: string, id: string): Promise<void> {
    if (!(await deleteInitialAccessToken(this.#db, realm, id))) throw new InitialAccessTokenNotFoundError(realm, id);
  }

  /** The token presented at registration, if it can still register a client. */
  async findUsable(realm: string, value: string): Promise<InitialAccessTokenView | undefined> {
    const found = await findUsableInitialAccessToken(this.#db, realm, digestOfInitialAccessToken(value), this.#now());
    if (!found) return undefined;
    const { realm: _realm, ...token } = found;
    return token;
  }

  /** Spends one of its uses, in the request's transaction; false when none is left (or it expired, or was revoked). */
  async spendUse(realm: string, value: string): Promise<boolean> {
    return spendInitialAccessTokenUse(this.#db, realm, digestOfInitialAccessToken(value), this.#now());
  }
}
