/**
 * Counts failed credential checks per key in fixed windows and says when a
 * key must wait. Used for client secrets (key: client + IP) and for sign-in
 * (keys: account + IP, account, IP).
 *
 * Per-process memory, by design: a limit is a brake, not a correctness
 * decision, so with N instances the budget is at most N times the limit.
 * Only failures count, and a success does not reset a window early: an
 * attacker cannot clear the counter by interleaving a known-good credential.
 */
export interface FailureRule {
  /** How many failures a key may have within one window. */
  limit: number;
  windowSeconds: number;
}

export class FailureLimiter {
  readonly #rule: FailureRule;
  readonly #now: () => number;
  readonly #maxKeys: number;
  readonly #windows = new Map<string, { start: number; failures: number }>();

  constructor(rule: FailureRule, { now = Date.now, maxKeys = 50_000 }: { now?: () => number; maxKeys?: number } = {}) {
    this.#rule = rule;
    this.#now = now;
    this.#maxKeys = maxKeys;
  }

  /** Seconds the key must wait, or 0 when it may try. */
  retryAfter(key: string): number {
    const window = this.#windows.get(key);
    if (!window) return 0;
    const elapsed = this.#now() - window.start;
    const length = this.#rule.windowSeconds * 1000;
    if (elapsed >= length) {
      this.#windows.delete(key);
      return 0;
    }
    return window.failures >= this.#rule.limit ? Math.ceil((length - elapsed) / 1000) : 0;
  }

  recordFailure(key: string): void {
    const now = this.#now();
    const window = this.#windows.get(key);
    if (window && now - window.start < this.#rule.windowSeconds * 1000) {
      window.failures += 1;
      return;
    }
    this.#windows.delete(key);
    if (this.#windows.size >= this.#maxKeys) this.#windows.delete(this.#windows.keys().next().value!);
    this.#windows.set(key, { start: now, failures: 1 });
  }
}

/** The default brakes. Client secrets: 10 per (client, IP) per minute. */
export const CLIENT_SECRET_RULE: FailureRule = { limit: 10, windowSeconds: 60 };
/**
 * Sign-in: 10 per (account, IP) per 15 minutes, 100 per account per hour
 * (ASVS 2.2.1), 50 per IP per 15 minutes against password spraying.
 */
export const LOGIN_RULES = {
  accountAndIp: { limit: 10, windowSeconds: 15 * 60 },
  account: { limit: 100, windowSeconds: 3600 },
  ip: { limit: 50, windowSeconds: 15 * 60 },
} as const satisfies Record<string, FailureRule>;
