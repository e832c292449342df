import { createHash } from 'node:crypto';
import { normaliseLogin, type LoginLimiters } from '../rate-limits/login-limiters.ts';
import type { AccountService } from './account-service.ts';
import type { StoredUser } from '../store/user.repository.ts';

export interface PasswordAttempt {
  realm: string;
  /** Username or e-mail address, as typed. */
  login: string;
  password: string;
  /** The address the attempt came from, for the brakes. */
  ip: string;
}

export type SignInOutcome =
  | { kind: 'signed-in'; user: StoredUser }
  /** Unknown login, wrong password or disabled account: one outcome, so that no caller can tell them apart. */
  | { kind: 'refused' }
  /** Too many failures for this account or address; nothing was checked. */
  | { kind: 'braked'; retryAfter: number };

/**
 * A person's password checked: the one way in for the sign-in page and the
 * password grant (RFC 6749 §4.3), so that both pay the same argon2id and
 * stop at the same brakes (src/rate-limits/login-limiters.ts). The brakes
 * count per account whatever spelling of it was typed, and an unknown login
 * under the same rules, so neither the answer nor the braking tells which
 * accounts exist.
 */
export class PasswordSignIn {
  readonly #accounts: AccountService;
  readonly #limiters: LoginLimiters;
  /** Checks in flight, by a digest of everything they depend on: identical concurrent attempts share one. */
  readonly #flights = new Map<string, Promise<SignInOutcome>>();
  readonly #refused: ((realm: string) => void) | undefined;

  /** `refused` hears of each attempt answered `refused` (the metrics' sign-in failures). */
  constructor(accounts: AccountService, limiters: LoginLimiters, { refused }: { refused?: ((realm: string) => void) | undefined } = {}) {
    this.#accounts = accounts;
    this.#limiters = limiters;
    this.#refused = refused;
  }

  /**
   * Throws only when nothing could be checked (database or hasher
   * unavailable); then no failure is counted. A script that signs one
   * account in many times at once (the password grant) pays one argon2id and
   * one count for the identical attempts in flight, so that the brakes,
   * which count an attempt before it is checked, stop concurrent guesses and
   * not a burst of the right password.
   */
  check(attempt: PasswordAttempt): Promise<SignInOutcome> {
    const key = createHash('sha256').update([attempt.realm, normaliseLogin(attempt.login), attempt.password, attempt.ip].join('\0')).digest('base64url');
    let flight = this.#flights.get(key);
    if (!flight) {
      flight = this.#check(attempt).finally(() => this.#flights.delete(key));
      this.#flights.set(key, flight);
    }
    const refused = this.#refused;
    // Each caller refused is one failure seen, also when identical attempts shared one check.
    if (refused) return flight.then((outcome) => { if (outcome.kind === 'refused') refused(attempt.realm); return outcome; });
    return flight;
  }

  async #check({ realm, login, password, ip }: PasswordAttempt): Promise<SignInOutcome> {
    const attempt = { realm, accountId: await this.#accounts.resolveLogin(realm, login), login, ip };
    const retryAfter = this.#limiters.retryAfter(attempt);
    if (retryAfter > 0) return { kind: 'braked', retryAfter };
    // Counted before the check and forgiven if it succeeds, so that
    // concurrent guesses are braked after the limit like a sequence is.
    this.#limiters.recordFailure(attempt);
    let user: StoredUser | undefined;
    try {
      user = await this.#accounts.authenticate(realm, login, password);
    } catch (error) {
      this.#limiters.forgive(attempt);
      throw error;
    }
    if (!user) return { kind: 'refused' };
    this.#limiters.forgive(attempt);
    return { kind: 'signed-in', user };
  }
}
