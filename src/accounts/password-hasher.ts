import argon2 from 'argon2';
import { HasherBusyError } from '../errors/index.ts';

/**
 * argon2id at OWASP / ASVS parameters (m = 19 MiB, t = 2, p = 1): ~35 ms per
 * hash here, where the library defaults cost ~300 ms. argon2 runs on libuv's
 * thread pool, off the event loop; a small gate bounds how many run at once so
 * that a burst of logins (or of wrong client secrets) queues instead of
 * starving token and introspection requests of threads and memory.
 */
export const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** Longer inputs are refused before hashing: argon2 cost grows with input size. */
export const MAX_SECRET_LENGTH = 1024;

export interface PasswordHasher {
  hash(secret: string): Promise<string>;
  verify(hash: string, secret: string): Promise<boolean>;
}

export function isArgon2idHash(value: string): boolean {
  return value.startsWith('$argon2id$');
}

export function createPasswordHasher({ concurrency = 2, maxQueue = 256 } = {}): PasswordHasher {
  let running = 0;
  const waiting: Array<() => void> = [];

  async function gated<T>(work: () => Promise<T>): Promise<T> {
    if (running < concurrency) {
      running += 1;
    } else {
      if (waiting.length >= maxQueue) throw new HasherBusyError('too many password verifications queued');
      // The finishing call hands its slot over directly, so `running` never overshoots.
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
    try {
      return await work();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running -= 1;
    }
  }

  return {
    hash: (secret) => gated(() => argon2.hash(secret.normalize('NFC'), ARGON2_OPTIONS)),
    verify: (hash, secret) => {
      if (secret.length > MAX_SECRET_LENGTH || !isArgon2idHash(hash)) return Promise.resolve(false);
      return gated(async () => {
        try {
          return await argon2.verify(hash, secret.normalize('NFC'));
        } catch {
          return false; // a malformed stored hash verifies nothing
        }
      });
    },
  };
}
