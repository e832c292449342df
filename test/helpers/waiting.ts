import { setTimeout as delay } from 'node:timers/promises';

/**
 * Waits for something to happen: calls `check` every `intervalMs` until it
 * returns a truthy value, `giveUp()` is true (the thing can no longer happen,
 * e.g. the process exited) or `timeoutMs` has passed, and returns the last
 * value. It never fails by itself: the caller asserts on what it got, so a
 * timeout is reported as the condition that did not hold. The timeout is a
 * hang guard, not a claim about speed.
 */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  { timeoutMs = 30_000, intervalMs = 25, giveUp = () => false }: { timeoutMs?: number; intervalMs?: number; giveUp?: () => boolean } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value || giveUp() || Date.now() >= deadline) return value;
    await delay(intervalMs);
  }
}

/**
 * Waits for time to pass: until the clock reads `epochMs`. For the few tests
 * whose point is a lifetime running out on a clock no test can move (the
 * database's now(), oidc-provider's Date.now() in another module); each
 * caller says which.
 */
export async function until(epochMs: number): Promise<void> {
  // A loop: a timer may fire a millisecond before the wall clock agrees.
  for (let left = epochMs - Date.now(); left > 0; left = epochMs - Date.now()) await delay(left);
}

/**
 * Waits until a lifetime of `seconds` that began no later than `startedBy`
 * (a Date.now() read after the thing was issued) is over by every clock that
 * judges it: oidc-provider's `exp <= epochTime()` (whole seconds, from
 * Date.now()) and the database's `expires_at > now()` (set from Date.now() at
 * the write). Both have passed once Date.now() reaches startedBy + lifetime.
 */
export function lifetimeOver(startedBy: number, seconds: number): Promise<void> {
  return until(startedBy + seconds * 1000);
}

/** Waits until the clock has moved into the next whole second (oidc-provider's timestamps are in seconds). */
export function nextSecond(): Promise<void> {
  return until((Math.floor(Date.now() / 1000) + 1) * 1000);
}
