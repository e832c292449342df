import { addressKey } from './address-key.ts';
import { FailureLimiter, type FailureRule } from './failure-limiter.ts';

/**
 * Brakes on failed sign-ins (SECURITY-CATALOG 74, 75; ASVS 2.2.1, 6.1.1).
 * They count per account, whatever spelling of it was typed (username or
 * e-mail, any case, surrounding spaces): the caller resolves the login to
 * the account first. A login that names no account counts by its
 * normalised text, under the same rules, so the brakes do not tell which
 * accounts exist.
 *
 * - (account, address): 10 failures per 15 minutes, then that address waits.
 * - account: 100 failures per hour (ASVS 2.2.1). Past it the account is
 *   under attack, and the brake narrows instead of locking everybody out:
 *   an address that has failed for the account within its 15-minute window
 *   waits, an address that has not still gets its try. So the real user,
 *   from a network the attacker is not on, can always sign in; the
 *   attacker's failures are 100 per hour plus one per address per 15
 *   minutes.
 * - address: 50 failures per 15 minutes, whatever the accounts: against one
 *   password sprayed over many accounts (catalog 75).
 */
export const LOGIN_RULES = {
  accountAndAddress: { limit: 10, windowSeconds: 15 * 60 },
  account: { limit: 100, windowSeconds: 3600 },
  address: { limit: 50, windowSeconds: 15 * 60 },
} as const satisfies Record<string, FailureRule>;

/** Failures an address may have for an account under attack before it waits. */
const UNDER_ATTACK_LIMIT = 1;

export interface LoginAttempt {
  realm: string;
  /** The account the login resolves to, or undefined when it names none. */
  accountId: string | undefined;
  /** The login as typed. */
  login: string;
  ip: string;
}

export interface LoginLimiters {
  /** Seconds before this attempt may be checked, 0 when it may. */
  retryAfter(attempt: LoginAttempt): number;
  recordFailure(attempt: LoginAttempt): void;
  /** Takes back a failure counted ahead of a check that succeeded. */
  forgive(attempt: LoginAttempt): void;
}

/** How an unknown login is counted; the same folding the account lookup does. */
export function normaliseLogin(login: string): string {
  return login.trim().toLowerCase();
}

/**
 * Created once per process by the composition root (src/latchkey.ts) and
 * shared by every realm, so a key rotation keeps the counts.
 */
export function createLoginLimiters(rules: { [K in keyof typeof LOGIN_RULES]: FailureRule } = LOGIN_RULES, { now }: { now?: () => number } = {}): LoginLimiters {
  const accountAndAddress = new FailureLimiter(rules.accountAndAddress, { now });
  const account = new FailureLimiter(rules.account, { now });
  const address = new FailureLimiter(rules.address, { now });
  const keys = ({ realm, accountId, login, ip }: LoginAttempt) => {
    // Prefixes keep an account id and a typed text from ever sharing a key.
    const who = `${realm}\0${accountId !== undefined ? `id:${accountId}` : `login:${normaliseLogin(login)}`}`;
    const from = addressKey(ip);
    return { pair: `${who}\0${from}`, who, from };
  };
  return {
    retryAfter(attempt) {
      const { pair, who, from } = keys(attempt);
      const underAttack = account.retryAfter(who) > 0;
      return Math.max(
        accountAndAddress.retryAfter(pair, underAttack ? UNDER_ATTACK_LIMIT : undefined),
        address.retryAfter(from),
      );
    },
    recordFailure(attempt) {
      const { pair, who, from } = keys(attempt);
      accountAndAddress.recordFailure(pair);
      account.recordFailure(who);
      address.recordFailure(from);
    },
    forgive(attempt) {
      const { pair, who, from } = keys(attempt);
      accountAndAddress.forgive(pair);
      account.forgive(who);
      address.forgive(from);
    },
  };
}
