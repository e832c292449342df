import type { Brake, LatchkeyMetrics } from './latchkey-metrics.ts';

/**
 * A brake (src/rate-limits/) whose engagements are counted: every caller
 * refuses the attempt unchecked when `retryAfter` is above 0 (429), so
 * that answer is the engagement.
 */
export function countedBrakes<A, L extends { retryAfter(attempt: A): number }>(limiters: L, brake: Brake, metrics: LatchkeyMetrics): L {
  return {
    ...limiters,
    retryAfter(attempt: A): number {
      const wait = limiters.retryAfter(attempt);
      if (wait > 0) metrics.brakeEngaged(brake);
      return wait;
    },
  };
}
