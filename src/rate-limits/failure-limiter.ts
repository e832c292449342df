/**
 * Counts failed credential checks per key in fixed windows and says when a
 * key must wait. The keys and rules of each brake are in
 * client-auth-limiters.ts (client secrets) and login-limiters.ts (sign-in).
 *
 * Per-process memory, by design: a limit is a brake, not a correctness
 * decision, so with N instances the budget is at most N times the limit.
 * Only failures count, and a success does not reset a window early: an
 * attacker cannot clear the counter by interleaving a known-good credential.
 *
 * A check that may fail is counted before it runs and forgiven if it
 * succeeds, so that a burst of concurrent guesses is braked after `limit`
 * like a sequence is, instead of all passing the check before any is counted.
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

  /**
   * `maxKeys` bounds the memory: past it the oldest window is dropped, which
   * at worst lets that key start afresh.
   */
  constructor(rule: FailureRule, { now = Date.now, maxKeys = 50_000 }: { now?: (() => number) | undefined; maxKeys?: number | undefined } = {}) {
    this.#rule = rule;
    this.#now = now;
    this.#maxKeys = maxKeys;
  }

  /**
   * Seconds the key must wait, or 0 when it may try. `limit` lowers the
   * rule's limit for this question (a stricter brake on the same counts).
   */
  retryAfter(key: string, limit = this.#rule.limit): number {
    const window = this.#current(key);
    if (!window) return 0;
    const remaining = window.start + this.#rule.windowSeconds * 1000 - this.#now();
    return window.failures >= limit ? Math.max(1, Math.ceil(remaining / 1000)) : 0;
  }

  recordFailure(key: string): void {
    const window = this.#current(key);
    if (window) {
      window.failures += 1;
      return;
    }
    if (this.#windows.size >= this.#maxKeys) this.#windows.delete(this.#windows.keys().next().value!);
    this.#windows.set(key, { start: this.#now(), failures: 1 });
  }

  /** Takes back one failure counted ahead of a check that then succeeded. */
  forgive(key: string): void {
    const window = this.#current(key);
    if (window && window.failures > 0) window.failures -= 1;
  }

  #current(key: string): { start: number; failures: number } | undefined {
    const window = this.#windows.get(key);
    if (window && this.#now() - window.start >= this.#rule.windowSeconds * 1000) {
      this.#windows.delete(key);
      return undefined;
    }
    return window;
  }
}
